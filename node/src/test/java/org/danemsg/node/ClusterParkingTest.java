package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A parked message is claimed in the cluster's replay window before it is delivered: two copies of one
 * message, parked on two members while DNS is down, are printed once when it is back; the other copy is
 * refused as a replay held by the other member. (Two members in this JVM, each its own actor system.)
 */
class ClusterParkingTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final Duration WITHIN = Duration.ofSeconds(60);

  @Test
  void copiesParkedOnTwoMembersArePrintedOnceWhenDnsIsBack() throws Exception {
    TestDevice collector = TestDevice.published(knot, broker, "keeper", KeyType.EC_P256)
        .with("parking.min-backoff", "200ms").with("parking.max-backoff", "1s").with("dns.timeout", "1s")
        .with("cluster.claim-timeout", "3s");
    TestDevice sender = TestDevice.published(knot, broker, "wanderer", KeyType.EC_P256);
    List<Integer> ports = ClusterCrashTest.freePorts(2);
    List<TestDevice> members = new ArrayList<>();
    for (int port : ports) {
      members.add(collector.clusterMember(port, ports));
    }
    // Started together: neither is Up (nor subscribes) before both are members (a majority of the 2 seeds).
    try (Node first = members.get(0).launch(); Node second = members.get(1).launch();
        MessageSender out = sender.sender()) {
      members.get(0).awaitSubscribed(first);
      members.get(1).awaitSubscribed(second);
      byte[] sealed = out.seal(collector.name, "parked on both members", Profile.NATIVE);
      knot.stop();
      try {
        out.publish(collector.name, sealed);
        out.publish(collector.name, sealed); // the broker deals the copies round robin: one to each member
        Poll.until(WITHIN, () -> first.health().join().parked() == 1 && second.health().join().parked() == 1,
            () -> "parked: " + first.health().join().parked() + " and " + second.health().join().parked());
      } finally {
        knot.restart();
      }
      Poll.until(WITHIN, () -> rows(members) == 1 && refusals(members).size() == 1,
          () -> "printed " + rows(members) + ", refused " + refusals(members));
      Thread.sleep(500);
      assertEquals(1, rows(members), "printed by both members");
      Map<String, Object> refused = refusals(members).get(0);
      assertEquals("REPLAY", refused.get("reason"));
      assertTrue(String.valueOf(refused.get("detail")).contains("delivered already by cluster member m-"),
          refused.toString());
      assertEquals(0, first.health().join().parked() + second.health().join().parked());
    }
  }

  private static int rows(List<TestDevice> members) {
    return members.stream().mapToInt(m -> m.inbox().size()).sum();
  }

  private static List<Map<String, Object>> refusals(List<TestDevice> members) {
    return members.stream().flatMap(m -> m.quarantine().stream()).toList();
  }
}
