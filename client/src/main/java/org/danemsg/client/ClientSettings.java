package org.danemsg.client;

import static org.danemsg.client.SettingsReader.oneLine;
import static org.danemsg.client.SettingsReader.printable;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.LegacyPeers;
import org.danemsg.protocol.IdentityFiles;
import org.danemsg.protocol.dns.DaneLookup;
import org.danemsg.protocol.dns.DnsServer;
import org.danemsg.protocol.dns.TlsaCache;
import org.danemsg.protocol.dns.ZoneAllowlist;
import org.danemsg.protocol.dns.TrustAnchors;

/**
 * The settings a sender needs, shared by the node and the tools (section {@code danemsg} of the
 * client's {@code reference.conf}): this device's identity, the broker, DNS, the largest message and
 * the legacy peers. Read and checked once at start; {@link #from(Config)} throws a
 * {@link SettingsException} whose one-line message names the first bad setting, its environment
 * variable and what is wrong. The node reads its own settings on top of these ({@code NodeSettings}).
 */
public record ClientSettings(
    DnsName identityName,
    Path cryptoPath,
    int maxMessageSize,
    Mqtt mqtt,
    Dns dns,
    LegacyPeers legacyPeers,
    Duration messageLifetime) {

  /**
   * Broker connection.
   *
   * @param username empty for an anonymous broker
   * @param caFile {@code null} for the JVM's trust store
   * @param clientId the node's; empty until the node has read its id from DATA_PATH
   */
  public record Mqtt(String host, int port, String username, String password, boolean tls, Path caFile,
      String clientId, Duration keepAlive, Duration connectTimeout, Duration reconnectMinBackoff,
      Duration reconnectMaxBackoff, int bufferSize) {

    /** {@code tcp://host:port} or {@code ssl://host:port}, the form Paho takes. */
    public String uri() {
      String h = host.contains(":") ? "[" + host + "]" : host;
      return (tls ? "ssl://" : "tcp://") + h + ":" + port;
    }
  }

  /**
   * DNS lookups.
   *
   * @param trustAnchorFile {@code null} for the built-in IANA root anchors
   */
  public record Dns(DnsServer server, Path trustAnchorFile, TrustAnchors trustAnchors, boolean dnssecOff,
      Duration timeout, Duration negativeTtl, Duration maxTtl, Duration transientTtl, int maxLookupsInFlight,
      int maxLookupsPerZone, long cacheMaxBytes, java.util.Set<DnsName> allowedZones) {

    /** Copies the set of zones. */
    public Dns {
      allowedZones = java.util.Set.copyOf(allowedZones);
    }
  }

  /** The environment variable of each setting that has one (reference.conf reads them). */
  public static final Map<String, String> ENVIRONMENT = Map.ofEntries(
      Map.entry("identity-name", "IDENTITY_NAME"),
      Map.entry("crypto-path", "CRYPTO_PATH"),
      Map.entry("max-message-size", "MAX_MESSAGE_SIZE"),
      Map.entry("mqtt.host", "MQTT_HOST"),
      Map.entry("mqtt.port", "MQTT_PORT"),
      Map.entry("mqtt.username", "MQTT_USERNAME"),
      Map.entry("mqtt.password", "MQTT_PASSWORD"),
      Map.entry("mqtt.password-file", "MQTT_PASSWORD_FILE"),
      Map.entry("mqtt.tls", "MQTT_TLS"),
      Map.entry("mqtt.ca-file", "MQTT_CA_FILE"),
      Map.entry("mqtt.client-id", "MQTT_CLIENT_ID"),
      Map.entry("dns.server", "DNS_SERVER"),
      Map.entry("dns.trust-anchor", "DNSSEC_TRUST_ANCHOR"),
      Map.entry("dns.dnssec-off", "DNSSEC_OFF"),
      Map.entry("dns.allowed-zones", "DNS_ALLOWED_ZONES"),
      Map.entry("legacy-peers", "LEGACY_PEERS"),
      Map.entry("message-lifetime", "MESSAGE_LIFETIME"));

  /** The settings from the default configuration (reference.conf, environment, system properties). */
  public static ClientSettings load() {
    return from(ConfigFactory.load());
  }

  /**
   * The configuration: {@code file} (when not null) over the defaults, resolved.
   *
   * @throws SettingsException when the file cannot be read or parsed
   */
  public static Config config(Path file) {
    try {
      if (file == null) {
        return ConfigFactory.load();
      }
      if (!Files.isReadable(file)) {
        throw new SettingsException("--config " + file + ": the file does not exist or is not readable");
      }
      return ConfigFactory.load(ConfigFactory.parseFile(file.toFile()));
    } catch (ConfigException e) {
      throw new SettingsException("configuration: " + oneLine(e.getMessage()));
    }
  }

  /**
   * Reads and checks the {@code danemsg} section of {@code config}.
   *
   * @throws SettingsException naming the first missing or bad setting
   */
  public static ClientSettings from(Config config) {
    return from(reader(config, ENVIRONMENT));
  }

  /**
   * A reader of the {@code danemsg} section of {@code config}.
   *
   * @throws SettingsException when there is no such section
   */
  public static SettingsReader reader(Config config, Map<String, String> environment) {
    try {
      return new SettingsReader(config.getConfig("danemsg"), environment);
    } catch (ConfigException e) {
      throw new SettingsException("configuration has no danemsg section: " + oneLine(e.getMessage()));
    }
  }

  /** Reads and checks the client's settings with {@code r}. */
  public static ClientSettings from(SettingsReader r) {
    String nameText = r.string("identity-name");
    if (nameText.isBlank()) {
      throw r.bad("identity-name", "is not set: give this device's DNS name, e.g. alice._device.example.com");
    }
    String nameProblem = DnsName.problemWith(nameText.strip());
    if (nameProblem != null) {
      throw r.bad("identity-name", "'" + printable(nameText) + "' is not a DNS name: " + nameProblem);
    }
    DnsName name = DnsName.parse(nameText.strip());
    Path cryptoPath = r.path("crypto-path");
    int maxSize = r.integer("max-message-size", 1024, 16 * 1024 * 1024);

    String host = r.string("mqtt.host").strip();
    if (host.isEmpty()) {
      throw r.bad("mqtt.host", "is empty: give the broker's host name or address");
    }
    int port = r.integer("mqtt.port", 1, 65535);
    String username = r.string("mqtt.username");
    String password = r.string("mqtt.password");
    String passwordFile = r.string("mqtt.password-file").strip();
    if (!passwordFile.isEmpty()) {
      if (!password.isEmpty()) {
        throw r.bad("mqtt.password-file", "is set and so is mqtt.password (MQTT_PASSWORD): set only one");
      }
      Path file = r.path("mqtt.password-file");
      try {
        // The first line; a file keeps the password out of the environment (docker inspect, /proc).
        password = Files.readString(file, java.nio.charset.StandardCharsets.UTF_8).lines().findFirst()
            .orElse("").strip();
      } catch (java.io.IOException | java.io.UncheckedIOException e) {
        throw r.bad("mqtt.password-file", file + " cannot be read: " + e.getMessage());
      }
      if (password.isEmpty()) {
        throw r.bad("mqtt.password-file", file + " is empty");
      }
    }
    if (username.isEmpty() && !password.isEmpty()) {
      throw r.bad("mqtt.username", "is empty but a password is set (MQTT_PASSWORD)");
    }
    boolean tls = r.bool("mqtt.tls");
    String caText = r.string("mqtt.ca-file").strip();
    Path caFile = null;
    if (!caText.isEmpty()) {
      caFile = r.path("mqtt.ca-file");
      if (!Files.isReadable(caFile)) {
        throw r.bad("mqtt.ca-file", caFile + " does not exist or is not readable");
      }
      if (!tls) {
        throw r.bad("mqtt.ca-file", "is set but TLS is off: set MQTT_TLS=true too");
      }
    }
    // Empty: the node's random id from DATA_PATH (MqttClientId), read when the node starts.
    String clientId = r.string("mqtt.client-id").strip();
    if (clientId.length() > 65535) {
      throw r.bad("mqtt.client-id", "is too long");
    }
    Mqtt mqtt = new Mqtt(host, port, username, password, tls, caFile, clientId,
        r.duration("mqtt.keep-alive", true), r.duration("mqtt.connect-timeout", false),
        r.duration("mqtt.reconnect-min-backoff", false), r.duration("mqtt.reconnect-max-backoff", false),
        r.integer("mqtt.buffer-size", 1, 100_000));

    String serverText = r.string("dns.server").strip();
    DnsServer server;
    if (serverText.isEmpty()) {
      try {
        server = DnsServer.systemDefault();
      } catch (IllegalStateException e) {
        throw r.bad("dns.server", "is not set and " + oneLine(e.getMessage()));
      }
    } else {
      try {
        server = DnsServer.parse(serverText);
      } catch (IllegalArgumentException e) {
        throw r.bad("dns.server", oneLine(e.getMessage()));
      }
    }
    boolean dnssecOff = r.bool("dns.dnssec-off");
    String anchorText = r.string("dns.trust-anchor").strip();
    Path anchorFile = null;
    TrustAnchors anchors;
    if (anchorText.isEmpty()) {
      anchors = TrustAnchors.ianaRoot();
    } else {
      anchorFile = r.path("dns.trust-anchor");
      try {
        anchors = TrustAnchors.fromFile(anchorFile);
      } catch (IllegalArgumentException e) {
        throw r.bad("dns.trust-anchor", oneLine(e.getMessage()));
      }
    }
    Dns dns = new Dns(server, anchorFile, anchors, dnssecOff, r.duration("dns.timeout", false),
        r.duration("dns.negative-ttl", true), r.duration("dns.max-ttl", true),
        r.duration("dns.transient-ttl", true), r.integer("dns.max-lookups-in-flight", 1, 10_000),
        r.integer("dns.max-lookups-in-flight-per-zone", 1, 10_000), r.bytes("dns.cache-max-bytes"),
        r.names("dns.allowed-zones"));

    if (mqtt.reconnectMaxBackoff().compareTo(mqtt.reconnectMinBackoff()) < 0) {
      throw r.bad("mqtt.reconnect-max-backoff", "is shorter than mqtt.reconnect-min-backoff");
    }
    Duration lifetime = r.duration("message-lifetime", false);
    if (lifetime.compareTo(Envelope.Settings.MAX_LIFETIME) > 0) {
      throw r.bad("message-lifetime", "must be at most " + Envelope.Settings.MAX_LIFETIME.toDays() + " days, got "
          + lifetime.toDays() + " days");
    }
    return new ClientSettings(name, cryptoPath, maxSize, mqtt, dns, r.legacyPeers("legacy-peers"), lifetime);
  }

  /** These settings with {@code clientId} as the MQTT client id. */
  public ClientSettings withMqttClientId(String clientId) {
    Mqtt m = mqtt;
    return new ClientSettings(identityName, cryptoPath, maxMessageSize, new Mqtt(m.host(), m.port(),
        m.username(), m.password(), m.tls(), m.caFile(), clientId, m.keepAlive(), m.connectTimeout(),
        m.reconnectMinBackoff(), m.reconnectMaxBackoff(), m.bufferSize()), dns, legacyPeers, messageLifetime);
  }

  /** This device's identity files. */
  public IdentityFiles identityFiles() {
    return new IdentityFiles(cryptoPath, identityName);
  }

  /** Lookup settings for the configured server and anchors. */
  public DaneLookup.Settings lookupSettings() {
    return new DaneLookup.Settings(dns.server(), dns.dnssecOff() ? null : dns.trustAnchors(), dns.timeout(),
        dns.dnssecOff());
  }

  /**
   * Cache settings from the configured TTLs and bounds. With allowed zones set, this node's own name is
   * allowed too (the node checks that DNS publishes its key).
   */
  public TlsaCache.Settings cacheSettings() {
    ZoneAllowlist zones = ZoneAllowlist.ALL;
    if (!dns.allowedZones().isEmpty()) {
      java.util.List<DnsName> allowed = new java.util.ArrayList<>(dns.allowedZones());
      allowed.add(identityName);
      zones = new ZoneAllowlist(allowed);
    }
    return TlsaCache.Settings.defaults().withMaxPositiveTtl(dns.maxTtl()).withNegativeTtl(dns.negativeTtl())
        .withTransientTtl(dns.transientTtl()).withMaxInFlight(dns.maxLookupsInFlight(), dns.maxLookupsPerZone())
        .withMaxBytes(dns.cacheMaxBytes()).withAllowedZones(zones);
  }

  /** Envelope settings with the configured payload limit, legacy peers and message lifetime. */
  public Envelope.Settings envelopeSettings() {
    return Envelope.Settings.defaults().withMaxPayloadBytes(maxMessageSize).withLegacyPeers(legacyPeers)
        .withLifetime(messageLifetime);
  }
}
