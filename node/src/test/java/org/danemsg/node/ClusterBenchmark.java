package org.danemsg.node;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A report, not a test (runs only with {@code -Ddanemsg.bench=true}): one identity's throughput when
 * run alone and as a cluster of 1, 2 and 3 members (node processes on this machine), and the CPU each
 * member spends per message it printed ({@code /proc/PID/stat} utime + stime over the measured run).
 * Messages are sealed before the run (3 senders), then published as fast as the broker takes them.
 * <pre>
 *   nice -n 19 mvn -B -q -o verify -pl testservers,protocol,client,node -Dtest=ClusterBenchmark \
 *     -Ddanemsg.bench=true -Dsurefire.failIfNoSpecifiedTests=false -DskipITs
 * </pre>
 * {@code -Ddanemsg.bench.messages=N} (default 4000) and {@code -Ddanemsg.bench.warmup=N} (default 1000);
 * in cluster runs the measured messages are sealed {@code -Ddanemsg.bench.window-pause=S} seconds (default 92)
 * after the warm-up began, once they are recent ({@link ClaimBucket}); 0 measures late messages, each decided
 * from every member's database.
 */
@EnabledIfSystemProperty(named = "danemsg.bench", matches = "true")
class ClusterBenchmark {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final int MESSAGES = Integer.getInteger("danemsg.bench.messages", 4000);
  private static final int WARMUP = Integer.getInteger("danemsg.bench.warmup", 1000);
  /** How long after the warm-up began the measured messages are sealed (cluster runs). */
  private static final Duration WINDOW_PAUSE = Duration.ofSeconds(Long.getLong("danemsg.bench.window-pause", 92));
  private static final int SENDERS = 3;

  @Test
  void throughputAndCpuPerMessageWithOneTwoAndThreeMembers() throws Exception {
    List<TestDevice> senders = new ArrayList<>();
    for (int s = 0; s < SENDERS; s++) {
      senders.add(TestDevice.published(knot, broker, "bench-sender" + s, KeyType.EC_P256));
    }
    List<String> report = new ArrayList<>();
    report.add(String.format(Locale.ROOT, "ClusterBenchmark: %d cores, %d messages measured after %d warm-up, EC P-256,"
        + " %d senders", Runtime.getRuntime().availableProcessors(), MESSAGES, WARMUP, SENDERS));
    for (int members = 0; members <= 3; members++) {
      report.add(run(members, senders));
    }
    report.forEach(System.out::println);
  }

  /** One run: {@code members} = 0 is a node alone (no cluster), else a cluster of that many. */
  private String run(int members, List<TestDevice> senders) throws Exception {
    TestDevice identity = TestDevice.published(knot, broker, "bench-collector", KeyType.EC_P256)
        .with("cluster.claim-timeout", "5s");
    int count = Math.max(1, members);
    List<Integer> ports = ClusterCrashTest.freePorts(2 * count); // remoting, then the local API
    List<TestDevice> devices = new ArrayList<>();
    List<NodeProcess> nodes = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      TestDevice member = (members > 0 ? identity.clusterMember(ports.get(i), ports.subList(0, count))
          : identity.member()).with("api.listen", "127.0.0.1:" + ports.get(count + i));
      devices.add(member);
      nodes.add(NodeProcess.of(member, NodeProcess.LAUNCHER_OPTIONS, "-" + members + "of" + count + "-" + (i + 1)));
    }
    try {
      nodes.forEach(NodeProcess::launch);
      for (NodeProcess node : nodes) {
        node.awaitSubscribed(Duration.ofSeconds(120));
      }
      List<List<byte[]>> warm = seal(senders, identity, WARMUP);
      long windowStarted = System.nanoTime();
      publish(senders, identity, warm);
      awaitPrinted(devices, WARMUP);
      if (members > 0) {
        // The cluster's window starts with the warm-up's claims; for 90 s after, every message is late (decided
        // from every member's database). The measured messages are sealed after that: the steady state.
        Thread.sleep(Math.max(0, WINDOW_PAUSE.toMillis() - (System.nanoTime() - windowStarted) / 1_000_000));
      }
      List<List<byte[]>> measured = seal(senders, identity, MESSAGES);
      long[] cpuBefore = nodes.stream().mapToLong(NodeProcess::cpuMillis).toArray();
      int[] printedBefore = devices.stream().mapToInt(ClusterCrashTest::rows).toArray();
      long started = System.nanoTime();
      publish(senders, identity, measured);
      awaitPrinted(devices, WARMUP + MESSAGES);
      double seconds = (System.nanoTime() - started) / 1e9;
      StringBuilder perMember = new StringBuilder();
      long cpuTotal = 0;
      for (int i = 0; i < count; i++) {
        long cpu = nodes.get(i).cpuMillis() - cpuBefore[i];
        int printed = ClusterCrashTest.rows(devices.get(i)) - printedBefore[i];
        cpuTotal += cpu;
        perMember.append(String.format(Locale.ROOT, "%s member %d: %d printed, %.2f ms CPU/msg", i == 0 ? "" : ";",
            i + 1, printed, printed == 0 ? 0.0 : (double) cpu / printed));
      }
      String latency = "";
      if (members > 0) {
        // Claim latency over the whole run (warm-up included), member 1's histogram.
        String scrape = new ApiClient(ports.get(count), devices.get(0).dataPath).get("/metrics").body();
        latency = String.format(Locale.ROOT, "; member 1's claims: p50 <= %s ms, p99 <= %s ms",
            quantile(scrape, 0.50), quantile(scrape, 0.99));
      }
      return String.format(Locale.ROOT, "  %-9s %6.0f msg/s (%.1f s), all members %.2f ms CPU/msg |%s%s",
          members == 0 ? "alone" : members + " member" + (members > 1 ? "s" : ""), MESSAGES / seconds, seconds,
          (double) cpuTotal / MESSAGES, perMember, latency);
    } finally {
      nodes.forEach(NodeProcess::close);
    }
  }

  /** The upper bound (ms) of the first bucket of the claim histogram holding the quantile {@code q}. */
  private static String quantile(String scrape, double q) {
    String prefix = "danemsg_cluster_claim_duration_seconds_bucket{le=\"";
    List<double[]> buckets = new ArrayList<>();
    for (String line : scrape.lines().filter(l -> l.startsWith(prefix)).toList()) {
      String le = line.substring(prefix.length(), line.indexOf('"', prefix.length()));
      double bound = le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le);
      buckets.add(new double[] {bound, Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))});
    }
    double total = buckets.isEmpty() ? 0 : buckets.get(buckets.size() - 1)[1];
    for (double[] bucket : buckets) {
      if (bucket[1] >= q * total) {
        return Double.isInfinite(bucket[0]) ? "inf" : String.format(Locale.ROOT, "%.1f", bucket[0] * 1000);
      }
    }
    return "?";
  }

  private static List<List<byte[]>> seal(List<TestDevice> senders, TestDevice to, int total) throws Exception {
    List<List<byte[]>> sealed = new ArrayList<>();
    for (int s = 0; s < senders.size(); s++) {
      List<byte[]> payloads = new ArrayList<>();
      try (MessageSender out = senders.get(s).sender()) {
        for (int i = s; i < total; i += senders.size()) {
          payloads.add(out.seal(to.name, "reading " + s + " #" + i + " " + System.nanoTime(), Profile.NATIVE));
        }
      }
      sealed.add(payloads);
    }
    return sealed;
  }

  private static void publish(List<TestDevice> senders, TestDevice to, List<List<byte[]>> sealed) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(senders.size());
    try {
      List<Future<?>> sending = new ArrayList<>();
      for (int s = 0; s < senders.size(); s++) {
        TestDevice from = senders.get(s);
        List<byte[]> payloads = sealed.get(s);
        sending.add(pool.submit(() -> {
          try (MessageSender out = from.sender()) {
            for (byte[] payload : payloads) {
              out.publish(to.name, payload);
            }
          }
          return null;
        }));
      }
      for (Future<?> f : sending) {
        f.get(10, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdown();
    }
  }

  private static void awaitPrinted(List<TestDevice> devices, int total) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
    int printed = 0;
    while (System.nanoTime() < deadline) {
      printed = devices.stream().mapToInt(ClusterCrashTest::rows).sum();
      if (printed >= total) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("printed " + printed + " of " + total);
  }


}
