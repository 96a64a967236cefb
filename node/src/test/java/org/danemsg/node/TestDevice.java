package org.danemsg.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.danemsg.client.MessageSender;
import org.danemsg.client.SendException;
import org.danemsg.protocol.CryptoProviders;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.IdentityFiles;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.TestIdentities;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;

/**
 * A device for tests: a unique name in the signed zone, its identity files in a temp folder, its TLSA
 * record published in Knot, a data folder, and the configuration of a node for it.
 */
final class TestDevice {

  final DnsName name;
  final DeviceIdentity identity;
  final Path cryptoPath;
  final Path dataPath;
  private final KnotServer knot;
  private final MosquittoBroker broker;
  private final Map<String, Object> overrides = new HashMap<>();
  private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
  /** Whether a node of this device was started in this JVM, printing to {@link #stdout}. */
  private volatile boolean startedHere;

  private TestDevice(KnotServer knot, MosquittoBroker broker, DnsName name, DeviceIdentity identity) {
    this.knot = knot;
    this.broker = broker;
    this.name = name;
    this.identity = identity;
    try {
      this.cryptoPath = Files.createTempDirectory("identity-");
      this.dataPath = Files.createTempDirectory("data-");
      new IdentityFiles(cryptoPath, name).write(identity, false);
    } catch (IOException | org.danemsg.protocol.IdentityException e) {
      throw new IllegalStateException(e);
    }
  }

  private TestDevice(TestDevice identityOf) {
    this.knot = identityOf.knot;
    this.broker = identityOf.broker;
    this.name = identityOf.name;
    this.identity = identityOf.identity;
    this.cryptoPath = identityOf.cryptoPath;
    this.overrides.putAll(identityOf.overrides);
    try {
      this.dataPath = Files.createTempDirectory("data-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Another node of this device's identity (the same identity files and settings so far), with a data
   * folder of its own, and so its own MQTT client id: a member of a cluster.
   */
  TestDevice member() {
    return new TestDevice(this);
  }

  /**
   * Another member of this identity's cluster ({@link #member()}): it listens for the others on
   * 127.0.0.1:{@code port}, and every port of {@code seedPorts} (on 127.0.0.1) is in its CLUSTER_SEEDS.
   */
  TestDevice clusterMember(int port, List<Integer> seedPorts) {
    return member().with("cluster.listen", "127.0.0.1:" + port).with("cluster.seeds",
        seedPorts.stream().map(p -> "127.0.0.1:" + p).collect(java.util.stream.Collectors.joining(",")));
  }

  /** A published device named {@code <label>-<n>._device.example.test}. */
  static TestDevice published(KnotServer knot, MosquittoBroker broker, String label, KeyType type) {
    DnsName name = knot.uniqueName(label);
    TestDevice device = new TestDevice(knot, broker, name, DeviceIdentity.generate(name, type,
        DeviceIdentity.DEFAULT_VALIDITY));
    knot.publish(name, device.identity.tlsaRecord());
    return device;
  }

  /** A published device with the name {@code name} (from {@code knot.uniqueName}). */
  static TestDevice published(KnotServer knot, MosquittoBroker broker, DnsName name, KeyType type) {
    TestDevice device = new TestDevice(knot, broker, name, DeviceIdentity.generate(name, type,
        DeviceIdentity.DEFAULT_VALIDITY));
    knot.publish(name, device.identity.tlsaRecord());
    return device;
  }

  /** A device whose TLSA record is not published. */
  static TestDevice unpublished(KnotServer knot, MosquittoBroker broker, String label, KeyType type) {
    DnsName name = knot.uniqueName(label);
    return new TestDevice(knot, broker, name, DeviceIdentity.generate(name, type, DeviceIdentity.DEFAULT_VALIDITY));
  }

  TestDevice with(String setting, Object value) {
    overrides.put("danemsg." + setting, value);
    return this;
  }

  /** A setting outside {@code danemsg}, such as one of Pekko's, as a user's --config file would give it. */
  TestDevice withRaw(String path, Object value) {
    overrides.put(path, value);
    return this;
  }

  Config config() {
    Map<String, Object> values = new HashMap<>();
    values.put("danemsg.identity-name", name.toString());
    values.put("danemsg.crypto-path", cryptoPath.toString());
    values.put("danemsg.data-path", dataPath.toString());
    values.put("danemsg.mqtt.host", "127.0.0.1");
    values.put("danemsg.mqtt.port", broker.port());
    values.put("danemsg.mqtt.reconnect-min-backoff", "100ms");
    values.put("danemsg.mqtt.reconnect-max-backoff", "1s");
    values.put("danemsg.dns.server", knot.server().toString());
    values.put("danemsg.dns.trust-anchor", knot.trustAnchorFile().toString());
    values.put("danemsg.dns.timeout", "2s");
    values.put("danemsg.health-interval", "0s");
    values.put("danemsg.drain-timeout", "5s");
    // Many test nodes share this host: the local API only where a test asks for it (api.listen).
    values.put("danemsg.api.listen", "off");
    values.putAll(overrides);
    return ConfigFactory.parseMap(values).withFallback(ConfigFactory.load()).resolve();
  }

  /** The node's configuration as a HOCON file, for a node started as a process of its own. */
  Path writeConfigFile(Path file) {
    try {
      Files.writeString(file, config().getConfig("danemsg").root().atKey("danemsg").root()
          .render(com.typesafe.config.ConfigRenderOptions.concise().setJson(false)) + "\n");
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  NodeSettings settings() {
    return NodeSettings.from(config());
  }

  Node start() {
    return start(Printer.Hook.none());
  }

  Node start(Printer.Hook hook) {
    return start(hook, Clock.systemUTC());
  }

  /** Starts the node with {@code clock} as its time (a node whose clock says days have passed). */
  Node start(Clock clock) {
    return start(Printer.Hook.none(), clock);
  }

  private Node start(Printer.Hook hook, Clock clock) {
    startedHere = true;
    CryptoProviders.installAll(); // as Main does first
    Node node = Node.start(config(), new NodeGuardian.Options(
        new PrintStream(stdout, true, StandardCharsets.UTF_8), clock, hook));
    return awaitSubscribed(node);
  }

  /**
   * Starts the node without waiting for it to subscribe: a cluster member subscribes only once Up, and it
   * is Up only once a majority of its seeds are members, so members started in one thread are started
   * first and then waited for ({@link #awaitSubscribed}).
   */
  Node launch() {
    return startWith(NodeGuardian.StartHook.none());
  }

  /** Waits (20 s at most) until {@code node}, this device's, has subscribed. */
  Node awaitSubscribed(Node node) {
    Poll.until(Duration.ofSeconds(20), () -> node.health().join().subscribed(),
        () -> name + " did not subscribe");
    return node;
  }

  /** Starts the node with {@code startHook} run as each actor starts; does not wait for it to subscribe. */
  Node startWith(NodeGuardian.StartHook startHook) {
    startedHere = true;
    CryptoProviders.installAll();
    return Node.start(config(), new NodeGuardian.Options(new PrintStream(stdout, true, StandardCharsets.UTF_8),
        Clock.systemUTC(), Printer.Hook.none(), startHook, reason -> { }));
  }

  MessageSender sender() throws SendException {
    return MessageSender.connect(settings().client(), identity, Duration.ofSeconds(10));
  }

  String stdout() {
    synchronized (stdout) {
      return stdout.toString(StandardCharsets.UTF_8);
    }
  }

  /** The node's inbox, oldest first, each row as the members of {@code tools inbox --json}. */
  List<Map<String, Object>> inbox() {
    return StoredRecords.inbox(dataPath);
  }

  /** The node's quarantine, oldest first, each row as the members of {@code tools quarantine --json}. */
  List<Map<String, Object>> quarantine() {
    return StoredRecords.quarantine(dataPath);
  }

  List<String> inboxTexts() {
    return inbox().stream().map(m -> (String) m.get("text")).toList();
  }

  /** Waits until the inbox holds {@code text}. */
  void awaitDelivered(String text, Duration within) {
    // The node commits a message, then prints it: for a node started here (whose stdout this device
    // holds), delivered means both.
    String printed = " says: " + org.danemsg.protocol.SafeText.line(text);
    Poll.until(within, () -> inboxTexts().contains(text) && (!startedHere || stdout().contains(printed)),
        () -> name + " did not deliver '" + text
        + "'; inbox " + inboxTexts() + ", quarantine " + quarantine());
  }

  static DeviceIdentity rsa(String name) {
    return TestIdentities.of(name, KeyType.RSA);
  }
}
