package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A failure while one of the node's actors starts never leaves a half-dead node (subscribed, but with
 * an actor missing): the actors whose supervision restarts them come back with backoff and the node
 * delivers; the others stop the node with one line naming the actor (Main then exits with status 1).
 * Each actor's first start is made to fail by the start hook, in a real node against real servers.
 */
class StartFailureTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final Duration WITHIN = Duration.ofSeconds(30);

  /** Fails the first start of {@code actor}, lets every later one through. */
  private static NodeGuardian.StartHook failFirstStartOf(String actor, Map<String, Integer> starts) {
    return name -> {
      if (starts.merge(name, 1, Integer::sum) == 1 && name.equals(actor)) {
        throw new IllegalStateException("injected failure while " + name + " starts");
      }
    };
  }

  @ParameterizedTest
  @ValueSource(strings = {"tlsa-resolver", "printer", "mqtt-gateway"})
  void anActorRestartedWithBackoffComesBackAndTheNodeDelivers(String actor) throws Exception {
    TestDevice receiver = TestDevice.published(knot, broker, "restarts", KeyType.EC_P256);
    TestDevice sender = TestDevice.published(knot, broker, "to-restarts", KeyType.EC_P256);
    Map<String, Integer> starts = new ConcurrentHashMap<>();
    Node node = receiver.startWith(failFirstStartOf(actor, starts));
    try (MessageSender out = sender.sender()) {
      Poll.until(WITHIN, () -> node.health().join().subscribed(), () -> receiver.name + " did not subscribe");
      out.send(receiver.name, "after a restart of " + actor, Profile.NATIVE);
      receiver.awaitDelivered("after a restart of " + actor, WITHIN);
      assertTrue(starts.get(actor) >= 2, actor + " was not started again: " + starts);
      assertNull(node.failure());
    } finally {
      node.stop();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"identity-keeper", "decryptor", "authenticator", "parking-lot"})
  void anActorThatCannotBeRestartedStopsTheNodeWithOneLine(String actor) {
    TestDevice receiver = TestDevice.published(knot, broker, "stops", KeyType.EC_P256);
    Map<String, Integer> starts = new ConcurrentHashMap<>();
    Node node = receiver.startWith(failFirstStartOf(actor, starts));
    try {
      assertTrue(node.awaitTermination(WITHIN), "the node kept running without " + actor);
      String failure = node.failure();
      assertEquals("the " + actor + " actor stopped after a failure: IllegalStateException: injected failure"
          + " while " + actor + " starts", failure);
      assertEquals(1, starts.get(actor), "not restarted: the node stops instead");
      assertFalse(LogRecorder.linesWith("ERROR", "the " + actor + " actor stopped", "exit status 1").isEmpty());
    } finally {
      node.stop();
    }
  }

  @org.junit.jupiter.api.Test
  void aClusterMemberThatCannotStartSaysWhyInOneLine() throws Exception {
    TestDevice collector = TestDevice.published(knot, broker, "no-start", KeyType.EC_P256);
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      String listen = "127.0.0.1:" + taken.getLocalPort();
      org.danemsg.client.SettingsException busy = org.junit.jupiter.api.Assertions.assertThrows(
          org.danemsg.client.SettingsException.class,
          () -> collector.member().with("cluster.listen", listen).with("cluster.seeds", listen).start());
      assertTrue(busy.getMessage().startsWith("setting danemsg.cluster.listen (CLUSTER_LISTEN) " + listen
          + ": cannot listen there: "), busy.getMessage());
      assertFalse(busy.getMessage().contains("\n"), busy.getMessage());
    }
    int free = ClusterCrashTest.freePorts(1).get(0);
    String listen = "127.0.0.1:" + free;
    // Not a port problem: a Pekko setting of the user's that Artery cannot read.
    org.danemsg.client.SettingsException bad = org.junit.jupiter.api.Assertions.assertThrows(
        org.danemsg.client.SettingsException.class,
        () -> collector.member().with("cluster.listen", listen).with("cluster.seeds", listen)
            .withRaw("pekko.remote.artery.advanced.maximum-frame-size", "lots").start());
    assertTrue(bad.getMessage().startsWith("cluster mode cannot start (CLUSTER_LISTEN " + listen), bad.getMessage());
    assertTrue(bad.getMessage().contains("maximum-frame-size"), bad.getMessage());
    assertFalse(bad.getMessage().contains("cannot listen there"), bad.getMessage());
  }
}
