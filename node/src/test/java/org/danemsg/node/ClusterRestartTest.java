package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The cluster's replay window is in memory: when every member was stopped, it is empty at the next
 * start. A message sent before a bucket's window started is decided from every member's database
 * ({@link SeenLookup}), so a message printed by one member before the full stop and replayed to the group
 * afterwards is rejected by whichever member gets it.
 */
class ClusterRestartTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final int MESSAGES = 40;

  @Test
  void aMessageReplayedAfterTheWholeClusterRestartedIsRejectedByEitherMember() throws Exception {
    TestDevice collector = TestDevice.published(knot, broker, "gatherer", KeyType.EC_P256);
    TestDevice sender = TestDevice.published(knot, broker, "probe", KeyType.EC_P256);
    List<Integer> ports = ClusterCrashTest.freePorts(2);
    List<TestDevice> members = new ArrayList<>();
    List<NodeProcess> nodes = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      TestDevice member = collector.clusterMember(ports.get(i), ports);
      members.add(member);
      nodes.add(NodeProcess.of(member, NodeProcess.LAUNCHER_OPTIONS, "-" + (i + 1)));
    }
    try {
      nodes.forEach(NodeProcess::launch);
      nodes.forEach(n -> n.awaitSubscribed(Duration.ofSeconds(90)));
      List<byte[]> sent = new ArrayList<>();
      try (MessageSender out = sender.sender()) {
        for (int i = 0; i < MESSAGES; i++) {
          byte[] payload = out.seal(collector.name, "before the restart #" + i, Profile.NATIVE);
          out.publish(collector.name, payload);
          sent.add(payload);
        }
      }
      Poll.until(Duration.ofSeconds(60), () -> rows(members) == MESSAGES, () -> "printed " + rows(members));
      assertTrue(ClusterCrashTest.rows(members.get(0)) > 0 && ClusterCrashTest.rows(members.get(1)) > 0,
          "both members printed some");

      for (NodeProcess node : nodes) { // the whole cluster: its in-memory window is gone
        long stopStarted = System.nanoTime();
        node.stop();
        long exitMillis = (System.nanoTime() - stopStarted) / 1_000_000;
        System.out.printf("ClusterRestartTest: a member exited %d ms after SIGTERM, status %d%n", exitMillis,
            node.exitStatus());
        assertEquals(0, node.exitStatus(), node.tail());
        assertTrue(exitMillis < 15_000, "a member exited " + exitMillis + " ms after SIGTERM: " + node.tail());
      }
      nodes.forEach(NodeProcess::launch);
      nodes.forEach(n -> n.awaitSubscribed(Duration.ofSeconds(90)));
      // Each payload twice in a row: the broker deals the two copies to the two members (round robin), so
      // one of them reaches the member that did not print it.
      try (MessageSender out = sender.sender()) {
        for (byte[] payload : sent) {
          out.publish(collector.name, payload);
          out.publish(collector.name, payload);
        }
      }
      Poll.until(Duration.ofSeconds(60), () -> replays(members) + rows(members) >= 3 * MESSAGES,
          () -> "replays rejected " + replays(members) + " of " + 2 * MESSAGES + ", printed " + rows(members));
      Thread.sleep(500);
      assertEquals(MESSAGES, rows(members), "a replay was printed again");
      Set<String> texts = new HashSet<>();
      for (TestDevice member : members) {
        member.inboxTexts().forEach(t -> assertTrue(texts.add(t), "printed twice: " + t));
      }
      long byTheOther = members.stream().flatMap(m -> m.quarantine().stream())
          .filter(r -> String.valueOf(r.get("detail")).contains("by cluster member")).count();
      assertTrue(byTheOther > 0, "no replay reached the member that had not printed it");
      System.out.printf("ClusterRestartTest: %d messages printed before the whole cluster restarted (%d and %d);"
          + " all %d replays sent after it rejected, %d of them by the member that had not printed them%n", MESSAGES,
          ClusterCrashTest.rows(members.get(0)), ClusterCrashTest.rows(members.get(1)), 2 * MESSAGES, byTheOther);
    } finally {
      nodes.forEach(NodeProcess::close);
    }
  }

  private static int rows(List<TestDevice> members) {
    return members.stream().mapToInt(ClusterCrashTest::rows).sum();
  }

  private static long replays(List<TestDevice> members) {
    return members.stream().flatMap(m -> m.quarantine().stream()).filter(r -> "REPLAY".equals(r.get("reason")))
        .count();
  }
}
