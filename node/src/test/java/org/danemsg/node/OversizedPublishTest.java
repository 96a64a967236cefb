package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A PUBLISH far over MAX_MESSAGE_SIZE is never read whole into memory: the node, a JVM of its own
 * with a 128 MB heap, gets a 150 MB QoS 1 message from its persistent session, quarantines it as
 * TOO_LARGE, acks it (the broker forgets it) and goes on with the next message. Before the size guard
 * under the MQTT client, the client allocated the whole packet: OutOfMemoryError, reconnect, the same
 * message again, forever.
 */
class OversizedPublishTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final long BIG = 150L * 1024 * 1024;
  private static final Duration WITHIN = Duration.ofSeconds(60);

  @Test
  void aNodeWithA128MegabyteHeapQuarantinesA150MegabyteMessageAndDeliversTheNextOne() throws Exception {
    TestDevice receiver = TestDevice.published(knot, broker, "big", KeyType.EC_P256);
    TestDevice sender = TestDevice.published(knot, broker, "sender", KeyType.EC_P256);
    long idlePeak;
    try (NodeProcess first = NodeProcess.start(receiver)) {
      // the persistent session exists; the messages below wait in it while the node is down
      idlePeak = first.memory("VmHWM");
    }
    publishZeros(broker, receiver.name.toString(), BIG);
    try (MessageSender publisher = sender.sender()) {
      publisher.send(receiver.name, "after the big one", Profile.NATIVE);
    }

    try (NodeProcess node = NodeProcess.start(receiver)) {
      receiver.awaitDelivered("after the big one", WITHIN);
      assertTrue(node.isAlive(), node.log());
      List<Map<String, Object>> quarantined = receiver.quarantine();
      assertEquals(1, quarantined.size(), quarantined::toString);
      assertEquals("TOO_LARGE", quarantined.get(0).get("reason"), quarantined::toString);
      assertTrue(String.valueOf(quarantined.get(0).get("detail")).contains("has " + BIG + " bytes"),
          quarantined::toString);
      assertEquals(1, node.log().lines().filter(l -> l.contains("WARN") && l.contains("TOO_LARGE")).count(),
          node::log);
      System.out.printf("node with -Xmx128m: peak RSS %d MB at start without messages, %d MB through the"
          + " 150 MB message; RSS now %d MB%n", idlePeak >> 20, node.memory("VmHWM") >> 20,
          node.memory("VmRSS") >> 20);
    }
  }

  @Test
  void theBrokerForgetsTheOversizedMessageOnceTheNodeHasQuarantinedIt() throws Exception {
    TestDevice receiver = TestDevice.published(knot, broker, "forgotten", KeyType.EC_P256);
    TestDevice sender = TestDevice.published(knot, broker, "sender", KeyType.EC_P256);
    try (NodeProcess node = NodeProcess.start(receiver)) {
      publishZeros(broker, receiver.name.toString(), 20L * 1024 * 1024);
      Poll.until(WITHIN, () -> receiver.quarantine().size() == 1, () -> "not quarantined: " + node.log());
    }
    try (NodeProcess restarted = NodeProcess.start(receiver);
        MessageSender publisher = sender.sender()) {
      publisher.send(receiver.name, "after the restart", Profile.NATIVE);
      receiver.awaitDelivered("after the restart", WITHIN);
      assertEquals(1, receiver.quarantine().size(), () -> "redelivered: " + receiver.quarantine());
      assertTrue(!restarted.log().contains("TOO_LARGE"), restarted::log);
    }
  }

  /** Publishes {@code size} zero bytes at QoS 1 with mosquitto_pub, from a sparse file (no memory here). */
  static void publishZeros(MosquittoBroker broker, String topic, long size) throws Exception {
    Path file = Files.createTempFile("oversized-", ".bin");
    try {
      try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
        f.setLength(size);
      }
      Process pub = new ProcessBuilder("/usr/bin/mosquitto_pub", "-h", "127.0.0.1", "-p",
          Integer.toString(broker.port()), "-q", "1", "-t", topic, "-f", file.toString())
          .redirectErrorStream(true).start();
      assertTrue(pub.waitFor(60, TimeUnit.SECONDS), "mosquitto_pub did not finish");
      assertEquals(0, pub.exitValue(), new String(pub.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    } finally {
      Files.delete(file);
    }
  }
}
