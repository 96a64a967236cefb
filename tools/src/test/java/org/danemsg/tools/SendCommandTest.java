package org.danemsg.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.IdentityFiles;
import org.danemsg.protocol.KeyType;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code tools send} against a real Mosquitto and a real DNSSEC-signed Knot zone. */
class SendCommandTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private record Result(int status, String out, String err) {}

  private static Result tools(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = Tools.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Result(status, out.toString(), err.toString());
  }

  /** A sender identity on disk and a config file pointing at the test servers. */
  private static Path configFor(DeviceIdentity sender, int mqttPort, String extra) throws Exception {
    Path crypto = Files.createTempDirectory("send-identity-");
    new IdentityFiles(crypto, sender.name()).write(sender, false);
    Path config = Files.createTempFile("send-", ".conf");
    Files.writeString(config, """
        danemsg {
          identity-name = "%s"
          crypto-path = "%s"
          mqtt.host = "127.0.0.1"
          mqtt.port = %d
          dns.server = "%s"
          dns.trust-anchor = "%s"
          dns.timeout = 2s
          %s
        }
        """.formatted(sender.name(), crypto, mqttPort, knot.server(), knot.trustAnchorFile(), extra));
    return config;
  }

  private static DeviceIdentity published(String label, KeyType type) {
    DnsName name = knot.uniqueName(label);
    DeviceIdentity identity = DeviceIdentity.generate(name, type, DeviceIdentity.DEFAULT_VALIDITY);
    knot.publish(name, identity.tlsaRecord());
    return identity;
  }

  @Test
  void sendsAMessageTheRecipientCanOpen() throws Exception {
    DeviceIdentity alice = published("alice", KeyType.EC_P256);
    DeviceIdentity bob = published("bob", KeyType.EC_P256);
    BlockingQueue<byte[]> received = new ArrayBlockingQueue<>(1);
    MqttClient subscriber = new MqttClient(broker.uri(), "send-test-sub", new MemoryPersistence());
    subscriber.connect(new MqttConnectOptions());
    subscriber.subscribe(bob.name().toString(), 1, (topic, message) -> received.add(message.getPayload()));
    try {
      Result result = tools("send", "--config", configFor(alice, broker.port(), "").toString(),
          bob.name().toString(), "hello from the command line");
      assertEquals(0, result.status(), result.err());
      assertTrue(result.out().startsWith("sent to " + bob.name()), result.out());
      byte[] payload = received.poll(10, TimeUnit.SECONDS);
      Envelope.OpenResult opened = new Envelope().open(payload, bob.name(), List.of(bob),
          sender -> new Envelope.SenderKeys.Found(List.of(alice.publicKey())));
      assertTrue(opened instanceof Envelope.Opened, opened.toString());
      assertEquals("hello from the command line", ((Envelope.Opened) opened).message().text());
      assertEquals(alice.name(), ((Envelope.Opened) opened).message().sender());
    } finally {
      subscriber.disconnect();
      subscriber.close();
    }
  }

  @Test
  void recipientWithoutSecureKeyFailsWithOneLine() throws Exception {
    DeviceIdentity alice = published("carol", KeyType.EC_P256);
    Result result = tools("send", "--config", configFor(alice, broker.port(), "").toString(),
        knot.uniqueName("nobody").toString(), "hello?");
    assertEquals(1, result.status());
    assertTrue(result.err().startsWith("error: no secure key for "), result.err());
    assertTrue(result.err().contains("NXDOMAIN"), result.err());
    assertEquals(1, result.err().lines().count(), result.err());
  }

  @Test
  void unreachableBrokerFailsWithinTheTimeout() throws Exception {
    DeviceIdentity dave = published("dave", KeyType.EC_P256);
    DeviceIdentity erin = published("erin", KeyType.EC_P256);
    int closedPort;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }
    long start = System.nanoTime();
    Result result = tools("send", "--timeout", "3", "--config", configFor(dave, closedPort, "").toString(),
        erin.name().toString(), "anyone there?");
    assertEquals(1, result.status());
    assertTrue(result.err().startsWith("error: cannot connect to the broker tcp://127.0.0.1:" + closedPort),
        result.err());
    assertEquals(1, result.err().lines().count(), result.err());
    assertTrue(Duration.ofNanos(System.nanoTime() - start).toSeconds() < 10);
  }

  @Test
  void tooLargeMessageFailsWithOneLine() throws Exception {
    DeviceIdentity frank = published("frank", KeyType.EC_P256);
    DeviceIdentity gina = published("gina", KeyType.EC_P256);
    Result result = tools("send", "--config",
        configFor(frank, broker.port(), "max-message-size = 2048").toString(), gina.name().toString(),
        "x".repeat(4000));
    assertEquals(1, result.status());
    assertTrue(result.err().startsWith("error: message too large"), result.err());
  }

  @Test
  void aListedLegacyPeerGetsTheLegacyFormatWithoutAFlag() throws Exception {
    DeviceIdentity henry = published("henry", KeyType.RSA);
    DeviceIdentity ida = published("ida", KeyType.RSA);
    BlockingQueue<byte[]> received = new ArrayBlockingQueue<>(1);
    MqttClient subscriber = new MqttClient(broker.uri(), "send-test-legacy", new MemoryPersistence());
    subscriber.connect(new MqttConnectOptions());
    subscriber.subscribe(ida.name().toString(), 1, (topic, message) -> received.add(message.getPayload()));
    try {
      Result result = tools("send", "--config", configFor(henry, broker.port(),
          "legacy-peers = [\"other.example.test\", \"" + ida.name() + "\"]").toString(),
          ida.name().toString(), "old style by default");
      assertEquals(0, result.status(), result.err());
      assertTrue(result.out().contains("legacy"), result.out());
      byte[] payload = received.poll(10, TimeUnit.SECONDS);
      assertTrue(payload != null && payload[0] == '{', "a JWE in JSON serialization");
      Envelope.OpenResult opened = new Envelope(Envelope.Settings.defaults()
          .withLegacyPeers(org.danemsg.protocol.LegacyPeers.of(List.of(henry.name().toString()))))
          .open(payload, ida.name(), List.of(ida),
          sender -> new Envelope.SenderKeys.Found(List.of(henry.publicKey())));
      assertEquals(org.danemsg.protocol.Profile.LEGACY, ((Envelope.Opened) opened).message().profile());
    } finally {
      subscriber.disconnect();
      subscriber.close();
    }
  }

  @Test
  void aBadLegacyPeerNameIsASettingsError() throws Exception {
    DeviceIdentity jack = published("jack", KeyType.RSA);
    Result result = tools("send", "--config", configFor(jack, broker.port(),
        "legacy-peers = \"good.example.test, bad..name\"").toString(), "x.example.test", "hi");
    assertEquals(1, result.status(), result.err());
    assertTrue(result.err().contains("legacy-peers") && result.err().contains("bad..name"), result.err());
  }

  @Test
  void missingMessageIsAUsageError() throws IOException {
    Result result = tools("send", "bob._device.example.test");
    assertEquals(2, result.status());
    assertTrue(result.err().contains("give the MESSAGE to send, or --stdin"), result.err());
  }
}
