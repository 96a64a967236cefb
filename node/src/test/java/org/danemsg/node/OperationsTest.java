package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.time.Duration;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What an operator sees: the health line, the identity check. */
class OperationsTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  @Test
  void healthLineReportsTheCounters() throws Exception {
    TestDevice node = TestDevice.published(knot, broker, "healthy", KeyType.EC_P256).with("health-interval", "300ms");
    TestDevice sender = TestDevice.published(knot, broker, "chatty", KeyType.EC_P256);
    try (Node running = node.start(); MessageSender out = sender.sender()) {
      out.send(node.name, "count me", Profile.NATIVE);
      out.publish(node.name, new byte[] {1, 2, 3});
      node.awaitDelivered("count me", Duration.ofSeconds(20));
      Poll.until(Duration.ofSeconds(20), () -> !LogRecorder.linesWith("INFO", "health: mqtt subscribed",
          "delivered 1", "rejected 1 {NOT_A_JWE=1}", "dns cache hits").isEmpty(),
          () -> "no health line with the counters: " + LogRecorder.linesWith("health"));
    }
  }

  @Test
  void unpublishedIdentityIsReportedWithTheRecordToAddAndTheNodeKeepsReceiving() throws Exception {
    TestDevice hidden = TestDevice.unpublished(knot, broker, "hidden", KeyType.EC_P256);
    try (Node running = hidden.start()) {
      String line = hidden.identity.tlsaRecord().zoneLine(hidden.name, 3600);
      Poll.until(Duration.ofSeconds(20),
          () -> !LogRecorder.linesWith("WARN", "identity not published", hidden.name.toString(), line).isEmpty(),
          () -> "no 'identity not published' line");
      assertFalse(running.health().join().line().contains("NOT connected"));
    }
  }
}
