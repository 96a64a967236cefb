package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A network partition of a three-member cluster, with real node processes. Member 3 listens on one
 * port and advertises another ({@code pekko.remote.artery.bind.port} under {@code CLUSTER_LISTEN}),
 * where a {@link TcpRelay} forwards to it: every connection of members 1 and 2 to member 3 goes
 * through the relay. Cutting the relay (its connections reset, new ones refused) partitions member 3
 * from the others both ways at the heartbeat level: 1 and 2 hear nothing from 3 and 3 gets no answers.
 * The split brain resolver (keep-majority) downs member 3 on the majority side and member 3 downs
 * itself and stops with exit status 1, while members 1 and 2 go on printing. What the broker dealt to
 * member 3's session waits there; member 3, started again on its own data folder after the relay is
 * restored, rejoins and prints it. Every message is printed exactly once across the members, and
 * replays of captured messages published during the partition are all rejected.
 */
class ClusterPartitionTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final int SENDERS = 2;
  /** A sender pauses this long after each message. */
  private static final long PAUSE_MILLIS = 25;
  private static final int CAPTURED = 10;
  private static final int BUCKETS = 16;

  /**
   * Sends messages, 20 at a time, until the members have printed one in every bucket (buckets by the
   * printed ids); returns their texts.
   */
  private static List<String> warmUp(TestDevice sender, TestDevice collector, List<TestDevice> members)
      throws Exception {
    List<String> texts = new ArrayList<>();
    int n = 0;
    try (MessageSender out = sender.sender()) {
      while (true) {
        for (int i = 0; i < 20; i++, n++) {
          texts.add("warm-up #" + n);
          out.publish(collector.name, out.seal(collector.name, "warm-up #" + n, Profile.NATIVE));
        }
        int sentSoFar = n;
        Poll.until(Duration.ofSeconds(60), () -> inboxRows(members) == sentSoFar, () -> "warm-up printed "
            + inboxRows(members) + " of " + sentSoFar);
        java.util.Set<String> used = new java.util.HashSet<>();
        for (TestDevice member : members) {
          member.inbox().forEach(row -> used.add(ReplayClaims.bucketOf(row.get("sender") + " " + row.get("id"),
              BUCKETS)));
        }
        if (used.size() == BUCKETS) {
          return texts;
        }
      }
    }
  }

  @Test
  void aPartitionedMemberIsDownedStopsAndOnItsReturnPrintsWhatWasQueuedForItNothingTwice() throws Exception {
    long started = System.nanoTime();
    TestDevice collector = TestDevice.published(knot, broker, "hub", KeyType.EC_P256)
        .with("cluster.claim-timeout", "3s").with("cluster.down-unreachable-after", "3s")
        .with("cluster.buckets", String.valueOf(BUCKETS));
    List<Integer> ports = ClusterCrashTest.freePorts(3);
    TcpRelay relay = TcpRelay.to(ports.get(2)); // member 3's inbound connections pass here
    List<Integer> advertised = List.of(ports.get(0), ports.get(1), relay.port());
    List<TestDevice> members = new ArrayList<>();
    List<NodeProcess> nodes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      TestDevice member = collector.clusterMember(advertised.get(i), advertised);
      members.add(member);
      NodeProcess node = NodeProcess.of(member, NodeProcess.LAUNCHER_OPTIONS, "-" + (i + 1));
      // Member 3 binds its own port and advertises the relay's.
      nodes.add(i < 2 ? node : node.withJvmOptions("-Dpekko.remote.artery.bind.port=" + ports.get(2)));
    }
    String member3 = "127.0.0.1:" + relay.port();
    List<TestDevice> senders = new ArrayList<>();
    for (int s = 0; s < SENDERS; s++) {
      senders.add(TestDevice.published(knot, broker, "meter" + s, KeyType.EC_P256));
    }
    ExecutorService pool = Executors.newFixedThreadPool(SENDERS);
    AtomicBoolean sending = new AtomicBoolean(true);
    try {
      nodes.forEach(NodeProcess::launch);
      for (NodeProcess node : nodes) {
        node.awaitSubscribed(Duration.ofSeconds(90));
      }
      System.out.printf("ClusterPartitionTest: 3 members up and subscribed in %d ms%n",
          (System.nanoTime() - started) / 1_000_000);
      // The cluster's window starts empty (each bucket at its first claim): until 90 s later (the clock skews
      // allowed) every claim is decided from all members' databases and waits for an absent member. A
      // warm-up message in each of the 16 buckets starts their windows; the partition comes after.
      long windowStarted = System.nanoTime();
      List<String> warmUp = warmUp(senders.get(0), collector, members);
      Thread.sleep(Math.max(0, Duration.ofSeconds(92).toMillis() - (System.nanoTime() - windowStarted) / 1_000_000));

      AtomicInteger sent = new AtomicInteger();
      Map<String, Integer> sequenceOf = new ConcurrentHashMap<>();
      warmUp.forEach(text -> sequenceOf.put(text, 0));
      List<byte[]> captured = java.util.Collections.synchronizedList(new ArrayList<>());
      List<Future<?>> senderRuns = new ArrayList<>();
      for (int s = 0; s < SENDERS; s++) {
        TestDevice from = senders.get(s);
        int sender = s;
        senderRuns.add(pool.submit(() -> {
          try (MessageSender out = from.sender()) {
            for (int i = 0; sending.get(); i++) {
              String text = "meter " + sender + " #" + i;
              byte[] payload = out.seal(collector.name, text, Profile.NATIVE);
              out.publish(collector.name, payload);
              sequenceOf.put(text, sent.incrementAndGet());
              if (captured.size() < CAPTURED && i % 5 == 0) {
                captured.add(payload);
              }
              Thread.sleep(PAUSE_MILLIS);
            }
          }
          return null;
        }));
      }
      // Before the partition every member prints its share.
      Poll.until(Duration.ofSeconds(30),
          () -> sent.get() >= 60 && members.stream().allMatch(m -> ClusterCrashTest.rows(m) > 0),
          () -> "sent " + sent.get() + ", printed per member " + members.stream().map(ClusterCrashTest::rows).toList());

      long cutNanos = System.nanoTime();
      relay.cut();
      int cutAt = sent.get();
      // Replays of messages printed before the partition, during it: each payload twice in a row, so that
      // the broker deals the copies to different members.
      List<byte[]> replays = List.copyOf(captured.subList(0, Math.min(CAPTURED, captured.size())));
      try (MessageSender replayer = senders.get(0).sender()) {
        for (byte[] payload : replays) {
          replayer.publish(collector.name, payload);
          replayer.publish(collector.name, payload);
        }
      }
      NodeProcess partitioned = nodes.get(2);
      Poll.until(Duration.ofSeconds(40), () -> !partitioned.isAlive(),
          () -> "member 3 did not stop after it was partitioned: " + partitioned.tail());
      long stoppedNanos = System.nanoTime();
      int stoppedAt = sent.get();
      assertEquals(1, partitioned.exitStatus(), "member 3's exit status: " + partitioned.tail());
      assertTrue(partitioned.log().contains("danemsg node: stopped: this member was downed by the cluster"),
          partitioned.tail());
      Poll.until(Duration.ofSeconds(30), () -> nodes.get(0).log().contains(member3 + " removed (was Down)")
              && nodes.get(1).log().contains(member3 + " removed (was Down)"),
          () -> "members 1 and 2 did not remove member 3: " + nodes.get(0).tail());
      // Members 1 and 2 go on printing without member 3; the broker keeps member 3's share in its session.
      int printedByMajorityAtStop = inboxRows(members.subList(0, 2));
      int sentAtStop = sent.get();
      Poll.until(Duration.ofSeconds(20),
          () -> sent.get() >= sentAtStop + 60 && inboxRows(members.subList(0, 2)) > printedByMajorityAtStop + 20,
          () -> "members 1 and 2 printed " + (inboxRows(members.subList(0, 2)) - printedByMajorityAtStop)
              + " since member 3 stopped");

      relay.restore();
      int restartedAt = sent.get();
      long restartNanos = System.nanoTime();
      partitioned.launch().awaitSubscribed(Duration.ofSeconds(60));
      Poll.until(Duration.ofSeconds(20), () -> partitioned.log().contains(" is Up (3 Up)"),
          () -> "member 3 did not rejoin: " + partitioned.tail());
      int rejoinedAt = sent.get();
      Poll.until(Duration.ofSeconds(20), () -> sent.get() >= rejoinedAt + 40, () -> "sent " + sent.get());
      sending.set(false);
      for (Future<?> run : senderRuns) {
        run.get(30, TimeUnit.SECONDS);
      }
      int total = sent.get() + warmUp.size();

      Poll.until(Duration.ofSeconds(60),
          () -> inboxRows(members) >= total && replaysRejected(members) >= 2 * replays.size(),
          () -> "inbox rows " + inboxRows(members) + " of " + total + ", replays rejected " + replaysRejected(members)
              + " of " + 2 * replays.size());
      Thread.sleep(1000); // anything printed twice would show up now

      ClusterPrints prints = ClusterPrints.exactlyOnce(members, nodes, sequenceOf.keySet());
      Map<String, Integer> printedBy = prints.printedBy();
      List<Integer> perMember = prints.perMember();
      assertEquals(total, printedBy.size());
      assertEquals(total, prints.stdoutLines(), "stdout lines");
      Map<String, Long> rejected = new HashMap<>();
      for (TestDevice member : members) {
        member.quarantine().forEach(row -> rejected.merge((String) row.get("reason"), 1L, Long::sum));
      }
      assertEquals(Map.of("REPLAY", 2L * replays.size()), rejected, "every replay rejected, nothing else");

      // While member 3 was away the others printed what was sent (their share), and member 3 printed, after
      // its return, messages the broker had dealt to its session while it was partitioned or stopped.
      long printedByMajorityMeanwhile = printedBy.entrySet().stream().filter(e -> e.getValue() < 2)
          .map(e -> sequenceOf.get(e.getKey())).filter(seq -> seq > cutAt && seq <= restartedAt).count();
      long queuedForMember3 = printedBy.entrySet().stream().filter(e -> e.getValue() == 2)
          .map(e -> sequenceOf.get(e.getKey())).filter(seq -> seq > cutAt && seq <= restartedAt).count();
      assertTrue(printedByMajorityMeanwhile > 0, "members 1 and 2 printed nothing sent during the partition");
      assertTrue(queuedForMember3 > 0, "member 3 printed nothing that was sent while it was partitioned or away");

      // The membership as each side logged it.
      for (NodeProcess majority : nodes.subList(0, 2)) {
        String log = majority.log();
        assertTrue(log.contains("cluster member pekko://danemsg-node@" + member3 + " is unreachable"), log);
        assertTrue(log.contains("cluster member pekko://danemsg-node@" + member3 + " was downed"), log);
        assertTrue(log.contains("cluster member pekko://danemsg-node@" + member3 + " removed (was Down)"), log);
      }
      String partitionedRun = partitioned.wholeLog().substring(0, partitioned.wholeLog().length()
          - partitioned.log().length());
      assertTrue(partitionedRun.contains("127.0.0.1:" + ports.get(0) + " is unreachable")
          && partitionedRun.contains("127.0.0.1:" + ports.get(1) + " is unreachable"), partitionedRun);
      System.out.printf("ClusterPartitionTest: %d messages from %d senders; member 3 partitioned after %d sent, stopped"
          + " itself (exit 1) %d ms later after %d sent, started again %d ms after it stopped (after %d sent), Up again"
          + " in %d ms; inbox rows per member %s (distinct %d, lost 0, duplicates 0); printed by members 1 and 2"
          + " meanwhile %d, queued for member 3 and printed on its return %d; %d replays sent during the partition,"
          + " rejected %s; %d ms%n",
          total, SENDERS, cutAt, (stoppedNanos - cutNanos) / 1_000_000, stoppedAt,
          (restartNanos - stoppedNanos) / 1_000_000, restartedAt, (System.nanoTime() - restartNanos) / 1_000_000,
          perMember, printedBy.size(), printedByMajorityMeanwhile, queuedForMember3,
          2 * replays.size(), rejected, (System.nanoTime() - started) / 1_000_000);

      // Member 1 stopped with SIGTERM drains, leaves and exits promptly with status 0 (ClusterStopTest: even
      // when its actor system does not end).
      long stopStarted = System.nanoTime();
      nodes.get(0).stop();
      long exitMillis = (System.nanoTime() - stopStarted) / 1_000_000;
      System.out.printf("ClusterPartitionTest: member 1 exited %d ms after SIGTERM, status %d%n", exitMillis,
          nodes.get(0).exitStatus());
      assertEquals(0, nodes.get(0).exitStatus(), nodes.get(0).tail());
      assertTrue(exitMillis < 15_000, "member 1 exited " + exitMillis + " ms after SIGTERM: " + nodes.get(0).tail());
      assertTrue(nodes.get(0).log().contains("drained:"), nodes.get(0).tail());
      Poll.until(Duration.ofSeconds(20), () -> nodes.get(1).log().contains(ports.get(0) + " removed (was Exiting)"),
          () -> "member 2 did not log member 1's removal: " + nodes.get(1).tail());
    } finally {
      sending.set(false);
      pool.shutdownNow();
      for (NodeProcess node : nodes) {
        node.close();
      }
      relay.close();
    }
  }

  private static int inboxRows(List<TestDevice> members) {
    return members.stream().mapToInt(ClusterCrashTest::rows).sum();
  }

  private static long replaysRejected(List<TestDevice> members) {
    return members.stream().flatMap(m -> m.quarantine().stream()).filter(r -> "REPLAY".equals(r.get("reason")))
        .count();
  }
}
