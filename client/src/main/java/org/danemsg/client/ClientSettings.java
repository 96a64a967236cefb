package org.danemsg.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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
 * The node's configuration (section {@code danemsg} of {@code reference.conf}), read and checked once
 * at start. {@link #from(Config)} throws a {@link SettingsException} whose one-line message names the
 * first bad setting, its environment variable and what is wrong. Used by the node and by
 * {@code tools send}, so both read the same identity, DNS and broker settings.
 */
public record NodeSettings(
    DnsName identityName,
    Path cryptoPath,
    Path dataPath,
    int maxMessageSize,
    Mqtt mqtt,
    Dns dns,
    Parking parking,
    Duration publicationCheckInterval,
    Duration identityFileCheckInterval,
    Duration healthInterval,
    Duration drainTimeout,
    int quarantinePayloadLimit,
    int parallelism,
    LegacyPeers legacyPeers,
    Records records) {

  /** Copies the set of legacy peers. */
  public NodeSettings {
  }

  /**
   * Broker connection.
   *
   * @param username empty for an anonymous broker
   * @param caFile {@code null} for the JVM's trust store
   * @param clientId empty until the node has read its id from DATA_PATH ({@link MqttClientId})
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

  /**
   * Retrying messages whose sender's DNS answer is transiently unavailable.
   *
   * @param maxBytes the most payload bytes parked on disk in all
   * @param maxBytesPerSender the most payload bytes parked for one claimed sender, so that one sender
   *     (a made-up name under a dead zone) cannot take all the room
   * @param maxBytesPerZone the same for all senders under one zone (made-up names by the thousand)
   */
  public record Parking(Duration minBackoff, Duration maxBackoff, Duration giveUpAfter, int maxMessages,
      long maxBytes, long maxBytesPerSender, long maxBytesPerZone) {}

  /**
   * Bounds of what the node records.
   *
   * @param quarantineMaxBytes size at which quarantine.jsonl is moved to quarantine.jsonl.1 (0: never)
   * @param legacyReplayWindow how long a delivered legacy message's digest is remembered
   * @param warnLinesPerMinute rejection lines logged per reason a minute before they are only counted
   */
  public record Records(long quarantineMaxBytes, Duration legacyReplayWindow, int warnLinesPerMinute) {}

  private static final Map<String, String> ENV = Map.ofEntries(
      Map.entry("identity-name", "IDENTITY_NAME"),
      Map.entry("crypto-path", "CRYPTO_PATH"),
      Map.entry("data-path", "DATA_PATH"),
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
      Map.entry("health-interval", "HEALTH_INTERVAL"));

  /** The settings from the default configuration (reference.conf, environment, system properties). */
  public static NodeSettings load() {
    return from(ConfigFactory.load());
  }

  /**
   * The configuration of a node: {@code file} (when not null) over the defaults, resolved.
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
  public static NodeSettings from(Config config) {
    Config c;
    try {
      c = config.getConfig("danemsg");
    } catch (ConfigException e) {
      throw new SettingsException("configuration has no danemsg section: " + oneLine(e.getMessage()));
    }
    Reader r = new Reader(c);
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
    Path dataPath = r.path("data-path");
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

    Parking parking = new Parking(r.duration("parking.min-backoff", false),
        r.duration("parking.max-backoff", false), r.duration("parking.give-up-after", true),
        r.integer("parking.max-messages", 0, 10_000_000), r.bytes("parking.max-bytes"),
        r.bytes("parking.max-bytes-per-sender"), r.bytes("parking.max-bytes-per-zone"));
    if (parking.maxBackoff().compareTo(parking.minBackoff()) < 0) {
      throw r.bad("parking.max-backoff", "is shorter than parking.min-backoff");
    }
    if (mqtt.reconnectMaxBackoff().compareTo(mqtt.reconnectMinBackoff()) < 0) {
      throw r.bad("mqtt.reconnect-max-backoff", "is shorter than mqtt.reconnect-min-backoff");
    }
    int parallelism = r.integer("parallelism", 0, 1024);
    return new NodeSettings(name, cryptoPath, dataPath, maxSize, mqtt, dns, parking,
        r.duration("identity.publication-check-interval", false),
        r.duration("identity.file-check-interval", false),
        r.duration("health-interval", true),
        r.duration("drain-timeout", false),
        r.integer("quarantine-payload-limit", 0, 16 * 1024 * 1024),
        parallelism == 0 ? Runtime.getRuntime().availableProcessors() : parallelism,
        r.legacyPeers("legacy-peers"),
        new Records(r.bytes("quarantine-max-bytes"), r.duration("legacy-replay-window", false),
            r.integer("warn-lines-per-minute", 1, 100_000)));
  }

  /** These settings with {@code clientId} as the MQTT client id. */
  public NodeSettings withMqttClientId(String clientId) {
    Mqtt m = mqtt;
    return new NodeSettings(identityName, cryptoPath, dataPath, maxMessageSize, new Mqtt(m.host(), m.port(),
        m.username(), m.password(), m.tls(), m.caFile(), clientId, m.keepAlive(), m.connectTimeout(),
        m.reconnectMinBackoff(), m.reconnectMaxBackoff(), m.bufferSize()), dns, parking, publicationCheckInterval,
        identityFileCheckInterval, healthInterval, drainTimeout, quarantinePayloadLimit, parallelism, legacyPeers,
        records);
  }

  /** This node's identity files. */
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

  /** Envelope settings with the configured payload limit. */
  public Envelope.Settings envelopeSettings() {
    return Envelope.Settings.defaults().withMaxPayloadBytes(maxMessageSize).withLegacyPeers(legacyPeers);
  }

  private static String printable(String text) {
    return text.codePoints().mapToObj(cp -> cp < 0x20 || cp == 0x7f ? "?" : Character.toString(cp))
        .collect(java.util.stream.Collectors.joining());
  }

  private static String oneLine(String text) {
    return text == null ? "" : text.replaceAll("\\s*\\R\\s*", " ").strip();
  }

  /** Reads values, turning every problem into a one-line {@link SettingsException}. */
  private static final class Reader {
    private final Config c;

    Reader(Config c) {
      this.c = c;
    }

    SettingsException bad(String key, String what) {
      String env = ENV.get(key);
      return new SettingsException("setting danemsg." + key + (env == null ? "" : " (" + env + ")") + " "
          + what);
    }

    String string(String key) {
      try {
        return c.getString(key);
      } catch (ConfigException.Missing e) {
        throw bad(key, "is missing");
      } catch (ConfigException e) {
        throw bad(key, "is not a string: " + oneLine(e.getMessage()));
      }
    }

    Path path(String key) {
      String text = string(key).strip();
      if (text.isEmpty()) {
        throw bad(key, "is empty: give a folder or file path");
      }
      try {
        return Path.of(text);
      } catch (InvalidPathException e) {
        throw bad(key, "'" + text + "' is not a valid path: " + e.getReason());
      }
    }

    int integer(String key, int min, int max) {
      int value;
      try {
        value = c.getInt(key);
      } catch (ConfigException.Missing e) {
        throw bad(key, "is missing");
      } catch (ConfigException e) {
        throw bad(key, "must be a whole number, got '" + raw(key) + "'");
      }
      if (value < min || value > max) {
        throw bad(key, "must be between " + min + " and " + max + ", got " + value);
      }
      return value;
    }

    /** A list of DNS names, or one string of names separated by commas or white space (from the environment). */
    java.util.Set<DnsName> names(String key) {
      List<String> texts;
      try {
        if (c.getValue(key).valueType() == com.typesafe.config.ConfigValueType.LIST) {
          texts = c.getStringList(key);
        } else {
          texts = List.of(c.getString(key).split("[,\\s]+"));
        }
      } catch (ConfigException.Missing e) {
        throw bad(key, "is missing");
      } catch (ConfigException e) {
        throw bad(key, "must be a list of DNS names, got '" + raw(key) + "'");
      }
      java.util.Set<DnsName> names = new java.util.LinkedHashSet<>();
      for (String text : texts) {
        if (text.isBlank()) {
          continue;
        }
        String problem = DnsName.problemWith(text.strip());
        if (problem != null) {
          throw bad(key, "'" + printable(text) + "' is not a DNS name: " + problem);
        }
        names.add(DnsName.parse(text.strip()));
      }
      return names;
    }

    long bytes(String key) {
      try {
        long value = c.getBytes(key);
        if (value < 0) {
          throw bad(key, "must not be negative, got '" + raw(key) + "'");
        }
        return value;
      } catch (ConfigException.Missing e) {
        throw bad(key, "is missing");
      } catch (ConfigException e) {
        throw bad(key, "must be a size such as 65536, 512k, 64m, got '" + raw(key) + "'");
      }
    }

    /** Names and wildcards such as {@code *._device.example.com}, as a list or one string. */
    LegacyPeers legacyPeers(String key) {
      try {
        if (c.getValue(key).valueType() == com.typesafe.config.ConfigValueType.LIST) {
          return LegacyPeers.of(c.getStringList(key));
        }
        return LegacyPeers.parse(c.getString(key));
      } catch (ConfigException.Missing e) {
        throw bad(key, "is missing");
      } catch (ConfigException e) {
        throw bad(key, "must be a list of DNS names or wildcards, got '" + raw(key) + "'");
      } catch (IllegalArgumentException e) {
        throw bad(key, oneLine(e.getMessage()));
      }
    }

    boolean bool(String key) {
      try {
        return c.getBoolean(key);
      } catch (ConfigException.Missing e) {
        throw bad(key, "is missing");
      } catch (ConfigException e) {
        throw bad(key, "must be true or false, got '" + raw(key) + "'");
      }
    }

    Duration duration(String key, boolean zeroAllowed) {
      Duration value;
      try {
        value = c.getDuration(key);
      } catch (ConfigException.Missing e) {
        throw bad(key, "is missing");
      } catch (ConfigException e) {
        throw bad(key, "must be a duration such as 500ms, 30s, 5m, got '" + raw(key) + "'");
      }
      if (value.isNegative() || (!zeroAllowed && value.isZero())) {
        throw bad(key, "must be " + (zeroAllowed ? "zero or more" : "more than zero") + ", got '" + raw(key) + "'");
      }
      return value;
    }

    private String raw(String key) {
      try {
        return oneLine(String.valueOf(c.getValue(key).unwrapped()));
      } catch (ConfigException e) {
        return "?";
      }
    }
  }
}
