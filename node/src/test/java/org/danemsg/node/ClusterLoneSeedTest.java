package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
 * Pekko lets the first seed form a cluster of its own when no other seed answers. A first seed cut off
 * from the others (a partition; downed by the majority and restarted by its service manager) must not:
 * it would be Up alone, take its share of the messages and grant replay claims by itself. Here the first
 * seed of three starts alone: it is never Up, never subscribes, takes none of the messages published
 * meanwhile (they wait in the members' sessions at the broker) and stops with exit status 1 after
 * {@code join-timeout}; started again with a second member, both are Up. The messages were sent before the
 * cluster's window started, so each needs every member's answer (the third may have printed them): they
 * wait parked, printed by nobody, until the third member starts; then every message is printed once.
 */
class ClusterLoneSeedTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final int WHILE_ALONE = 10;
  private static final int AFTER = 10;

  @Test
  void theFirstSeedAloneIsNeverUpAndStopsThenJoinsWithASecondMember() throws Exception {
    TestDevice collector = TestDevice.published(knot, broker, "lonely", KeyType.EC_P256);
    TestDevice sender = TestDevice.published(knot, broker, "talker", KeyType.EC_P256);
    List<Integer> ports = ClusterCrashTest.freePorts(3);
    List<TestDevice> members = new ArrayList<>();
    List<NodeProcess> nodes = new ArrayList<>();
    for (int i = 0; i < 2; i++) { // member 3 is never started
      TestDevice member = collector.clusterMember(ports.get(i), ports);
      members.add(member);
      nodes.add(NodeProcess.of(member, NodeProcess.LAUNCHER_OPTIONS, "-" + (i + 1)));
    }
    // Member 1 alone, as a first seed restarted during a partition: the same DATA_PATH, a short join-timeout.
    NodeProcess alone = NodeProcess.of(members.get(0).with("cluster.join-timeout", "8s"),
        NodeProcess.LAUNCHER_OPTIONS, "-1-alone");
    try {
      long started = System.nanoTime();
      // Members 1 and 2 once together: their persistent sessions at the broker, subscribed to the share group.
      nodes.forEach(NodeProcess::launch);
      nodes.forEach(n -> n.awaitSubscribed(Duration.ofSeconds(60)));
      nodes.get(1).stop(); // one after the other: two members leaving at once wait 10 s for their exit
      nodes.get(0).stop();
      for (NodeProcess node : nodes) {
        assertEquals(0, node.exitStatus(), node.tail());
      }
      System.out.printf("ClusterLoneSeedTest: two members up, subscribed and stopped in %d ms%n",
          (System.nanoTime() - started) / 1_000_000);

      long aloneStarted = System.nanoTime();
      alone.launch();
      Poll.until(Duration.ofSeconds(30), () -> alone.log().contains("joining via the seed members"), alone::tail);
      Set<String> published = new HashSet<>();
      try (MessageSender out = sender.sender()) {
        for (int i = 0; i < WHILE_ALONE; i++) {
          String text = "while the first seed is alone #" + i;
          out.publish(collector.name, out.seal(collector.name, text, Profile.NATIVE));
          published.add(text);
        }
      }
      Poll.until(Duration.ofSeconds(25), () -> !alone.isAlive(), () -> "the lone first seed did not stop: "
          + alone.tail());
      long aloneMillis = (System.nanoTime() - aloneStarted) / 1_000_000;
      System.out.printf("ClusterLoneSeedTest: the lone first seed exited %d ms after its start, status %d%n",
          aloneMillis, alone.exitStatus());
      assertEquals(1, alone.exitStatus(), alone.tail());
      assertTrue(aloneMillis < 8_000 + 12_000, "exited only after " + aloneMillis + " ms: " + alone.tail());
      String log = alone.log();
      assertFalse(log.contains("subscribed to"), "the lone first seed subscribed: " + alone.tail());
      assertFalse(log.contains("(this member) is Up"), "the lone first seed was Up: " + alone.tail());
      assertTrue(log.contains("danemsg node: stopped: this cluster member was not Up within 8 s"
          + " (danemsg.cluster.join-timeout"), alone.tail());
      assertTrue(log.contains("it waited for 2 of the 3 seeds"), alone.tail());
      assertEquals(0, ClusterCrashTest.rows(members.get(0)), "the lone first seed printed a message");

      // The network is back: member 1 starts again (default join-timeout), and member 2 with it.
      nodes.forEach(NodeProcess::launch);
      nodes.forEach(n -> n.awaitSubscribed(Duration.ofSeconds(60)));
      try (MessageSender out = sender.sender()) {
        for (int i = 0; i < AFTER; i++) {
          String text = "after the two joined #" + i;
          out.publish(collector.name, out.seal(collector.name, text, Profile.NATIVE));
          published.add(text);
        }
      }
      // Member 3 of CLUSTER_SEEDS is away: no message can be decided, none is printed, none is lost.
      Poll.until(Duration.ofSeconds(30), () -> nodes.stream().mapToLong(n -> n.log().lines()
              .filter(l -> l.contains("parked message from")).count()).sum() > 0,
          () -> "no message parked: " + nodes.get(0).tail());
      Thread.sleep(3000);
      assertEquals(0, rows(members), "printed while a member that may have printed them was away");
      assertTrue(nodes.get(0).log().contains(ports.get(2) + " of CLUSTER_SEEDS not in the cluster now")
          || nodes.get(1).log().contains(ports.get(2) + " of CLUSTER_SEEDS not in the cluster now"),
          nodes.get(0).tail());
      TestDevice third = collector.clusterMember(ports.get(2), ports);
      members.add(third);
      nodes.add(NodeProcess.of(third, NodeProcess.LAUNCHER_OPTIONS, "-3").launch());
      Poll.until(Duration.ofSeconds(90), () -> rows(members) >= WHILE_ALONE + AFTER,
          () -> "printed " + rows(members) + " of " + (WHILE_ALONE + AFTER));
      Thread.sleep(500); // anything printed twice would show up now
      assertEquals(WHILE_ALONE + AFTER, rows(members), "a message was printed twice");
      Set<String> printed = new HashSet<>();
      for (TestDevice member : members) {
        member.inboxTexts().forEach(t -> assertTrue(printed.add(t), "printed twice: " + t));
      }
      assertEquals(published, printed);
      System.out.printf("ClusterLoneSeedTest: %d messages published while the first seed was alone and %d after,"
          + " printed once each (by the members %d, %d and %d) once the third member had started; %d ms in all%n",
          WHILE_ALONE, AFTER, ClusterCrashTest.rows(members.get(0)), ClusterCrashTest.rows(members.get(1)),
          ClusterCrashTest.rows(members.get(2)),
          (System.nanoTime() - started) / 1_000_000);
    } finally {
      alone.close();
      nodes.forEach(NodeProcess::close);
    }
  }

  private static int rows(List<TestDevice> members) {
    return members.stream().mapToInt(ClusterCrashTest::rows).sum();
  }
}
