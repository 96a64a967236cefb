package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One identity as a cluster of three node processes on 127.0.0.1, sharing the identity's messages
 * through an MQTT shared subscription: several senders send a few thousand messages, one member is
 * SIGKILLed mid-stream and started again, and captured payloads are replayed to the group. Every
 * message is printed exactly once across the members, none is lost, every replay is rejected, more
 * than one member did work, and the killed member's share (Mosquitto keeps it in its session while it
 * is away, it does not move it to the others) is printed by that member once it is back.
 */
class ClusterCrashTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final int SENDERS = 3;
  private static final int PER_SENDER = 700;
  private static final int TOTAL = SENDERS * PER_SENDER;
  /** A sender pauses this long after each message: the stream lasts long enough to kill a member in it. */
  private static final long PAUSE_MILLIS = 8;
  private static final int REPLAYS = 30;

  @Test
  void threeMembersPrintEveryMessageOnceAcrossAKilledMemberAndReplays() throws Exception {
    TestDevice collector = TestDevice.published(knot, broker, "collector", KeyType.EC_P256)
        .with("cluster.claim-timeout", "3s").with("cluster.down-unreachable-after", "3s");
    List<Integer> ports = freePorts(4);
    int apiPort = ports.get(3); // member 1's local API: its own health and metrics
    List<TestDevice> members = new ArrayList<>();
    List<NodeProcess> nodes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      TestDevice member = collector.clusterMember(ports.get(i), ports.subList(0, 3));
      if (i == 0) {
        member.with("api.listen", "127.0.0.1:" + apiPort);
      }
      members.add(member);
      nodes.add(NodeProcess.of(member, NodeProcess.LAUNCHER_OPTIONS, "-" + (i + 1)));
    }
    List<TestDevice> senders = new ArrayList<>();
    for (int s = 0; s < SENDERS; s++) {
      senders.add(TestDevice.published(knot, broker, "reading" + s, KeyType.EC_P256));
    }
    try {
      long started = System.nanoTime();
      nodes.forEach(NodeProcess::launch);
      for (NodeProcess node : nodes) {
        node.awaitSubscribed(Duration.ofSeconds(90));
      }
      System.out.printf("ClusterCrashTest: 3 members up and subscribed in %d ms%n",
          (System.nanoTime() - started) / 1_000_000);

      AtomicInteger sent = new AtomicInteger();
      Map<String, Integer> sequenceOf = new java.util.concurrent.ConcurrentHashMap<>();
      List<byte[]> captured = java.util.Collections.synchronizedList(new ArrayList<>());
      ExecutorService pool = Executors.newFixedThreadPool(SENDERS);
      List<Future<?>> sending = new ArrayList<>();
      for (int s = 0; s < SENDERS; s++) {
        TestDevice from = senders.get(s);
        int sender = s;
        sending.add(pool.submit(() -> {
          try (MessageSender out = from.sender()) {
            for (int i = 0; i < PER_SENDER; i++) {
              String text = "reading " + sender + " #" + i;
              byte[] payload = out.seal(collector.name, text, Profile.NATIVE);
              out.publish(collector.name, payload);
              sequenceOf.put(text, sent.incrementAndGet());
              if (i % (PER_SENDER * SENDERS / REPLAYS) == 0) {
                captured.add(payload);
              }
              Thread.sleep(PAUSE_MILLIS);
            }
          }
          return null;
        }));
      }
      NodeProcess victim = nodes.get(1);
      Poll.until(Duration.ofSeconds(60), () -> sent.get() >= TOTAL / 3, () -> "sent " + sent.get());
      victim.kill();
      int killedAt = sent.get();
      Poll.until(Duration.ofSeconds(60), () -> sent.get() >= 2 * TOTAL / 3, () -> "sent " + sent.get());
      victim.launch();
      int restartedAt = sent.get();
      for (Future<?> f : sending) {
        f.get(120, TimeUnit.SECONDS);
      }
      pool.shutdown();
      victim.awaitSubscribed(Duration.ofSeconds(90));
      try (MessageSender replayer = senders.get(0).sender()) {
        for (byte[] payload : captured.subList(0, Math.min(REPLAYS, captured.size()))) {
          replayer.publish(collector.name, payload);
        }
      }
      int replayed = Math.min(REPLAYS, captured.size());

      Poll.until(Duration.ofSeconds(120), () -> inboxRows(members) >= TOTAL && replays(members) >= replayed,
          () -> "inbox rows " + inboxRows(members) + " of " + TOTAL + ", replays quarantined " + replays(members)
              + " of " + replayed);
      Thread.sleep(1000); // anything printed twice would show up now

      assertEquals(TOTAL, sequenceOf.size(), "messages sent");
      ClusterPrints prints = ClusterPrints.exactlyOnce(members, nodes, sequenceOf.keySet());
      Map<String, Integer> printedBy = prints.printedBy();
      List<Integer> perMember = prints.perMember();
      assertTrue(perMember.stream().filter(n -> n > 0).count() > 1, "only one member printed: " + perMember);

      // Mosquitto kept the killed member's share of what was sent while it was away, for it.
      long sentWhileAwayPrintedByVictim = printedBy.entrySet().stream()
          .filter(e -> e.getValue() == 1)
          .map(e -> sequenceOf.get(e.getKey()))
          .filter(seq -> seq > killedAt && seq <= restartedAt)
          .count();
      assertTrue(sentWhileAwayPrintedByVictim > 0, "the killed member printed nothing that was sent while it was away");

      Map<String, Long> rejected = new HashMap<>();
      for (TestDevice member : members) {
        member.quarantine().forEach(row -> rejected.merge((String) row.get("reason"), 1L, Long::sum));
      }
      assertEquals(Set.of("REPLAY"), rejected.keySet(), "rejections other than replays: " + rejected);

      System.out.printf("ClusterCrashTest: %d messages from %d senders, member 2 SIGKILLed after %d sent and started"
          + " again after %d; inbox rows per member %s (sum %d, distinct %d, lost 0, duplicates 0); stdout lines %d;"
          + " %d replays sent, quarantined %s; the killed member printed %d messages sent while it was away; %d ms%n",
          TOTAL, SENDERS, killedAt, restartedAt, perMember, perMember.stream().mapToInt(Integer::intValue).sum(),
          printedBy.size(), prints.stdoutLines(), replayed, rejected, sentWhileAwayPrintedByVictim,
          (System.nanoTime() - started) / 1_000_000);

      // Health and metrics are a member's own: member 1 is ready (subscribed, hence Up), sees 3 members Up,
      // counts the claims it asked and delivered what its own inbox holds.
      ApiClient api = new ApiClient(apiPort, members.get(0).dataPath);
      ApiClient.Answer ready = api.get("/health/ready");
      assertEquals(200, ready.status(), ready.toString());
      String metrics = api.get("/metrics").body();
      assertEquals(3.0, metric(metrics, "danemsg_cluster_members_up"), metrics);
      assertEquals((double) perMember.get(0), metric(metrics, "danemsg_messages_delivered_total"));
      assertTrue(metric(metrics, "danemsg_cluster_claims_total{answer=\"granted\"}") >= perMember.get(0), metrics);
      assertTrue(metric(metrics, "danemsg_cluster_claim_duration_seconds_count") > 0, metrics);

      // A member that leaves (SIGTERM) drains first; the others log it leaving and removed. It exits
      // promptly with status 0: a service manager kills it 20 s after SIGTERM (compose, the systemd unit).
      long stopStarted = System.nanoTime();
      nodes.get(2).stop();
      long exitMillis = (System.nanoTime() - stopStarted) / 1_000_000;
      System.out.printf("ClusterCrashTest: member 3 exited %d ms after SIGTERM, status %d%n", exitMillis,
          nodes.get(2).exitStatus());
      assertEquals(0, nodes.get(2).exitStatus(), nodes.get(2).tail());
      assertTrue(exitMillis < 15_000, "member 3 exited " + exitMillis + " ms after SIGTERM: " + nodes.get(2).tail());
      Poll.until(Duration.ofSeconds(30), () -> nodes.get(0).log().contains("removed (was Exiting)")
              && nodes.get(1).log().contains("removed (was Exiting)"),
          () -> "members 1 and 2 did not log member 3's removal: " + nodes.get(0).tail());
      assertTrue(nodes.get(2).log().contains("drained:"), nodes.get(2).tail());
      assertTrue(nodes.get(2).log().contains("(this member) exited the cluster"), nodes.get(2).tail());
    } finally {
      for (NodeProcess node : nodes) {
        node.close();
      }
    }
  }

  /** The value of the sample {@code name} (with its labels) in a Prometheus text scrape. */
  private static double metric(String scrape, String name) {
    return scrape.lines().filter(l -> l.startsWith(name + " ")).map(l -> Double.parseDouble(l.substring(name.length() + 1)))
        .findFirst().orElseThrow(() -> new AssertionError("no " + name + " in the metrics"));
  }

  private static int inboxRows(List<TestDevice> members) {
    return members.stream().mapToInt(ClusterCrashTest::rows).sum();
  }

  private static long replays(List<TestDevice> members) {
    return members.stream().mapToInt(m -> count(m, "SELECT count(*) FROM quarantine WHERE reason = 'REPLAY'")).sum();
  }

  /**
   * The number of rows of a member's inbox: a COUNT, not the rows, so that polling it does not load the
   * machine the members run on.
   */
  static int rows(TestDevice member) {
    return count(member, "SELECT count(*) FROM inbox");
  }

  private static int count(TestDevice member, String query) {
    try (java.sql.Connection db = java.sql.DriverManager.getConnection("jdbc:sqlite:"
            + member.dataPath.resolve(MessageStore.FILE));
        java.sql.ResultSet rows = db.createStatement().executeQuery(query)) {
      return rows.getInt(1);
    } catch (java.sql.SQLException e) {
      return 0; // not created yet
    }
  }

  static List<Integer> freePorts(int n) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        sockets.add(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
      }
      return sockets.stream().map(ServerSocket::getLocalPort).toList();
    } finally {
      for (ServerSocket socket : sockets) {
        socket.close();
      }
    }
  }
}
