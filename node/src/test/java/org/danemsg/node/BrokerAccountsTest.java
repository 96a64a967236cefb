package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.danemsg.testing.MosquittoBroker.Credentials;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The broker set-up deploy/compose ships (deploy/compose/mosquitto/): no anonymous clients, one
 * account per device whose user name is the device's name, an ACL where a device reads only its own
 * topic and writes any one-level topic, and {@code use_username_as_clientid}, so a session belongs to
 * an account. Another device (mallory, with valid credentials of its own) can neither read the
 * node's topic nor take over its session to ack its queued messages away.
 */
class BrokerAccountsTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();

  /** The ACL deploy/compose ships (DeployFilesTest checks that file holds these lines). */
  static final String ACL = "pattern read %u\npattern write +\n";

  private static final Duration WITHIN = Duration.ofSeconds(20);
  private static MosquittoBroker broker;
  private static TestDevice bob;
  private static TestDevice alice;
  private static DnsName mallory;

  @BeforeAll
  static void start() {
    DnsName bobName = knot.uniqueName("bob");
    DnsName aliceName = knot.uniqueName("alice");
    mallory = knot.uniqueName("mallory");
    broker = MosquittoBroker.withAccounts(new MosquittoBroker.Accounts(List.of(
        new Credentials(bobName.toString(), "bob-pass"), new Credentials(aliceName.toString(), "alice-pass"),
        new Credentials(mallory.toString(), "mallory-pass")), ACL, true));
    broker.start();
    bob = TestDevice.published(knot, broker, bobName, KeyType.EC_P256)
        .with("mqtt.username", bobName.toString()).with("mqtt.password", "bob-pass");
    alice = TestDevice.published(knot, broker, aliceName, KeyType.EC_P256)
        .with("mqtt.username", aliceName.toString()).with("mqtt.password", "alice-pass");
  }

  @AfterAll
  static void stop() {
    broker.close();
  }

  @Test
  void theNodeConnectsAsItsDeviceUserAndReceives() throws Exception {
    try (Node node = bob.start(); MessageSender fromAlice = alice.sender()) {
      fromAlice.send(bob.name, "through an account", Profile.NATIVE);
      bob.awaitDelivered("through an account", WITHIN);
    }
  }

  @Test
  void anotherDeviceCannotReadTheNodesTopic() throws Exception {
    Mallory spy = Mallory.connect("mallory-reader", true);
    try (Node node = bob.start(); MessageSender fromAlice = alice.sender()) {
      spy.trySubscribe(bob.name.toString());
      spy.trySubscribe(mallory.toString());
      fromAlice.send(bob.name, "not for mallory", Profile.NATIVE);
      bob.awaitDelivered("not for mallory", WITHIN);
      // Mallory's own topic, published after bob's message on the same connection: once mallory has
      // it, the broker has dealt with bob's message for mallory too.
      fromAlice.publish(mallory, "marker".getBytes(StandardCharsets.US_ASCII));
      Poll.until(WITHIN, () -> spy.topics.contains(mallory.toString()), () -> "mallory got " + spy.topics);
      assertEquals(Set.of(mallory.toString()), spy.topics);
    } finally {
      spy.close();
    }
  }

  @Test
  void anotherDeviceCannotTakeOverTheNodesSessionAndAckItsQueuedMessages() throws Exception {
    try (Node node = bob.start()) {
      // the persistent session exists
    }
    String bobsClientId = Files.readString(bob.dataPath.resolve(MqttClientId.FILE)).strip();
    try (MessageSender fromAlice = alice.sender()) {
      for (int i = 1; i <= 3; i++) {
        fromAlice.send(bob.name, "queued " + i, Profile.NATIVE);
      }
    }
    // Mallory connects with bob's client id and with bob's user name as client id, resuming the
    // session (and acking whatever it is given), then once more with a clean session to wipe it.
    for (String clientId : List.of(bobsClientId, bob.name.toString())) {
      Mallory.connect(clientId, false).roundTripThenClose();
      Mallory.connect(clientId, true).roundTripThenClose();
    }
    try (Node node = bob.start()) {
      for (int i = 1; i <= 3; i++) {
        bob.awaitDelivered("queued " + i, WITHIN);
      }
    }
  }

  /** Another device of the fleet with valid credentials of its own, using Paho directly. */
  private static final class Mallory implements MqttCallback {
    final Set<String> topics = ConcurrentHashMap.newKeySet();
    private MqttClient client;

    static Mallory connect(String clientId, boolean cleanSession) throws MqttException {
      Mallory m = new Mallory();
      m.client = new MqttClient(broker.uri(), clientId, new MemoryPersistence());
      m.client.setCallback(m);
      MqttConnectOptions options = new MqttConnectOptions();
      options.setUserName(mallory.toString());
      options.setPassword("mallory-pass".toCharArray());
      options.setCleanSession(cleanSession);
      options.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
      m.client.connect(options);
      return m;
    }

    /** Subscribes; a refusal (SUBACK failure) is as good as receiving nothing. */
    void trySubscribe(String topic) {
      try {
        client.subscribe(topic, 1);
      } catch (MqttException e) {
        assertEquals(MqttException.REASON_CODE_SUBSCRIBE_FAILED, e.getReasonCode(), e.toString());
      }
    }

    /**
     * Publishes to its own topic and waits for it: the broker sends a resumed session's queued
     * messages right after CONNACK, so by then mallory has received (and acked) any it was given.
     */
    void roundTripThenClose() throws MqttException {
      client.subscribe(mallory.toString(), 1);
      client.publish(mallory.toString(), "round trip".getBytes(StandardCharsets.US_ASCII), 1, false);
      Poll.until(WITHIN, () -> topics.contains(mallory.toString()), () -> "no round trip: " + topics);
      close();
    }

    void close() throws MqttException {
      client.disconnect();
      client.close();
    }

    @Override
    public void messageArrived(String topic, MqttMessage message) {
      topics.add(topic);
    }

    @Override
    public void connectionLost(Throwable cause) {}

    @Override
    public void deliveryComplete(IMqttDeliveryToken token) {}
  }
}
