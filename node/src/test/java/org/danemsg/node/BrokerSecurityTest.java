package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.danemsg.client.MessageSender;
import org.danemsg.client.SendException;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The broker connection with TLS and a user name and password (MQTT_TLS, MQTT_CA_FILE, MQTT_USERNAME, …). */
class BrokerSecurityTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.secured("fleet", "s3cret-pass");

  private static final Duration WITHIN = Duration.ofSeconds(20);

  private static TestDevice secured(TestDevice device, String password) {
    return device.with("mqtt.port", broker.securePort())
        .with("mqtt.tls", true)
        .with("mqtt.ca-file", broker.caFile().toString())
        .with("mqtt.username", "fleet")
        .with("mqtt.password", password);
  }

  @Test
  void nodesTalkOverTlsWithAUserAndPassword() throws Exception {
    TestDevice alice = secured(TestDevice.published(knot, broker, "alice", KeyType.EC_P256), "s3cret-pass");
    TestDevice bob = secured(TestDevice.published(knot, broker, "bob", KeyType.EC_P256), "s3cret-pass");
    try (Node bobNode = bob.start(); MessageSender fromAlice = alice.sender()) {
      fromAlice.send(bob.name, "over TLS", Profile.NATIVE);
      bob.awaitDelivered("over TLS", WITHIN);
    }
  }

  @Test
  void anOversizedMessageIsDroppedAsItArrivesOverTlsToo() throws Exception {
    TestDevice alice = secured(TestDevice.published(knot, broker, "alice", KeyType.EC_P256), "s3cret-pass");
    TestDevice bob = secured(TestDevice.published(knot, broker, "bob", KeyType.EC_P256), "s3cret-pass");
    try (Node bobNode = bob.start(); MessageSender fromAlice = alice.sender()) {
      // Published on the broker's plain listener; the node reads it through its TLS connection.
      OversizedPublishTest.publishZeros(broker, bob.name.toString(), 3 * 1024 * 1024);
      fromAlice.send(bob.name, "after the big one, over TLS", Profile.NATIVE);
      bob.awaitDelivered("after the big one, over TLS", WITHIN);
      assertEquals(1, bob.quarantine().size(), () -> bob.quarantine().toString());
      assertTrue(String.valueOf(bob.quarantine().get(0).get("detail"))
          .contains("has 3145728 bytes, the limit is 65536 (MAX_MESSAGE_SIZE); it was discarded as it arrived"),
          () -> bob.quarantine().toString());
    }
  }

  @Test
  void aWrongPasswordIsRefusedWithAClearMessage() {
    TestDevice alice = secured(TestDevice.published(knot, broker, "alice", KeyType.EC_P256), "wrong");
    SendException e = assertThrows(SendException.class, alice::sender);
    assertTrue(e.getMessage().contains("127.0.0.1:" + broker.securePort()), e.getMessage());
    assertTrue(e.getMessage().contains("refused the credentials (MQTT_USERNAME/MQTT_PASSWORD)"), e.getMessage());
  }

  @Test
  void aBrokerCertificateNotSignedByTheConfiguredCaIsRefused() {
    // Without MQTT_CA_FILE the JVM's trust store is used, which does not know the test CA.
    TestDevice alice = TestDevice.published(knot, broker, "alice", KeyType.EC_P256)
        .with("mqtt.port", broker.securePort()).with("mqtt.tls", true)
        .with("mqtt.username", "fleet").with("mqtt.password", "s3cret-pass");
    SendException e = assertThrows(SendException.class, alice::sender);
    assertTrue(e.getMessage().contains("127.0.0.1:" + broker.securePort()), e.getMessage());
    assertTrue(e.getMessage().contains("TLS certificate is not trusted"), e.getMessage());
  }

  @Test
  void plainMqttIsNotAcceptedOnTheTlsListener() {
    TestDevice alice = TestDevice.published(knot, broker, "alice", KeyType.EC_P256)
        .with("mqtt.port", broker.securePort())
        .with("mqtt.username", "fleet").with("mqtt.password", "s3cret-pass");
    assertThrows(SendException.class, alice::sender);
  }
}
