package org.danemsg.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.danemsg.client.ClientSettings;
import org.danemsg.client.SettingsException;
import org.danemsg.client.SettingsReader;
import org.danemsg.node.api.ApiSettings;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.IdentityFiles;
import org.danemsg.protocol.LegacyPeers;
import org.danemsg.protocol.dns.DaneLookup;
import org.danemsg.protocol.dns.TlsaCache;

/**
 * The node's configuration, read and checked once at start: the settings it shares with the tools
 * ({@link ClientSettings}: identity, broker, DNS, message size, legacy peers; the client module's
 * {@code reference.conf}) and the node's own (data folder, parking, records, intervals, parallelism;
 * this module's {@code reference.conf}; the local API's, {@link ApiSettings}; cluster mode's,
 * {@link ClusterSettings}, null when the node runs alone). {@link #from(Config)} throws a {@link SettingsException} whose
 * one-line message names the first bad setting, its environment variable and what is wrong. The shared
 * settings' accessors are repeated here so that node code reads {@code settings.mqtt()} as before.
 */
public record NodeSettings(
    ClientSettings client,
    Path dataPath,
    Parking parking,
    Duration publicationCheckInterval,
    Duration identityFileCheckInterval,
    Duration healthInterval,
    Duration drainTimeout,
    int quarantinePayloadLimit,
    int parallelism,
    Records records,
    ApiSettings api,
    ClusterSettings cluster,
    int dnsWarmUpRounds) {

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
   * Bounds of what the node records ({@code danemsg.records} and two older top-level settings).
   *
   * @param inboxMaxBytes the most bytes the inbox table holds, as the sum of its rows' size column
   *     (the UTF-8 bytes of their strings plus 8 per number); the oldest rows go first (0: no bound)
   * @param inboxMaxAge how long a delivered message is kept (zero: for ever)
   * @param quarantineMaxBytes the same for the quarantine table (payloads count with their kept bytes)
   * @param quarantineMaxAge how long a refused message is kept (zero: for ever)
   * @param legacyReplayWindow how long a delivered legacy message's digest is remembered
   * @param warnLinesPerMinute rejection lines logged per reason a minute before they are only counted
   */
  public record Records(long inboxMaxBytes, Duration inboxMaxAge, long quarantineMaxBytes,
      Duration quarantineMaxAge, Duration legacyReplayWindow, int warnLinesPerMinute) {

    /** The defaults of reference.conf. */
    public static Records defaults() {
      return new Records(256L << 20, Duration.ofDays(90), 16L << 20, Duration.ofDays(30), Duration.ofDays(7), 20);
    }
  }

  /** The environment variables of the node's own settings, and the client's. */
  private static final Map<String, String> ENV;

  static {
    Map<String, String> env = new HashMap<>(ClientSettings.ENVIRONMENT);
    env.put("data-path", "DATA_PATH");
    env.put("health-interval", "HEALTH_INTERVAL");
    env.put("records.inbox-max-bytes", "INBOX_MAX_BYTES");
    env.put("records.inbox-max-age", "INBOX_MAX_AGE");
    env.put("records.quarantine-max-bytes", "QUARANTINE_MAX_BYTES");
    env.put("records.quarantine-max-age", "QUARANTINE_MAX_AGE");
    env.putAll(ApiSettings.ENVIRONMENT);
    env.putAll(ClusterSettings.ENVIRONMENT);
    ENV = Map.copyOf(env);
  }

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
    return ClientSettings.config(file);
  }

  /**
   * Reads and checks the {@code danemsg} section of {@code config}.
   *
   * @throws SettingsException naming the first missing or bad setting
   */
  public static NodeSettings from(Config config) {
    SettingsReader r = ClientSettings.reader(config, ENV);
    if (config.hasPath("danemsg.quarantine-max-bytes")) {
      // reference.conf no longer has it: a configuration file still sets it, and it would do nothing
      throw r.bad("quarantine-max-bytes", "is now danemsg.records.quarantine-max-bytes (QUARANTINE_MAX_BYTES):"
          + " rename it in the configuration file");
    }
    ClientSettings client = ClientSettings.from(r);
    Path dataPath = r.path("data-path");
    Parking parking = new Parking(r.duration("parking.min-backoff", false),
        r.duration("parking.max-backoff", false), r.duration("parking.give-up-after", true),
        r.integer("parking.max-messages", 0, 10_000_000), r.bytes("parking.max-bytes"),
        r.bytes("parking.max-bytes-per-sender"), r.bytes("parking.max-bytes-per-zone"));
    if (parking.maxBackoff().compareTo(parking.minBackoff()) < 0) {
      throw r.bad("parking.max-backoff", "is shorter than parking.min-backoff");
    }
    int parallelism = r.integer("parallelism", 0, 1024);
    return new NodeSettings(client, dataPath, parking,
        r.duration("identity.publication-check-interval", false),
        r.duration("identity.file-check-interval", false),
        r.duration("health-interval", true),
        r.duration("drain-timeout", false),
        r.integer("quarantine-payload-limit", 0, 16 * 1024 * 1024),
        parallelism == 0 ? Runtime.getRuntime().availableProcessors() : parallelism,
        new Records(r.bytes("records.inbox-max-bytes"), r.duration("records.inbox-max-age", true),
            r.bytes("records.quarantine-max-bytes"), r.duration("records.quarantine-max-age", true),
            r.duration("legacy-replay-window", false), r.integer("warn-lines-per-minute", 1, 100_000)),
        ApiSettings.from(r), ClusterSettings.from(r, client.identityName()),
        r.integer("dns.warm-up-rounds", 0, 100_000));
  }

  /** These settings with {@code clientId} as the MQTT client id. */
  public NodeSettings withMqttClientId(String clientId) {
    return new NodeSettings(client.withMqttClientId(clientId), dataPath, parking, publicationCheckInterval,
        identityFileCheckInterval, healthInterval, drainTimeout, quarantinePayloadLimit, parallelism, records, api,
        cluster, dnsWarmUpRounds);
  }

  /** These settings with {@code cluster} as the cluster settings. */
  public NodeSettings withCluster(ClusterSettings cluster) {
    return new NodeSettings(client, dataPath, parking, publicationCheckInterval, identityFileCheckInterval,
        healthInterval, drainTimeout, quarantinePayloadLimit, parallelism, records, api, cluster, dnsWarmUpRounds);
  }

  /** Whether this node is a member of a cluster ({@code CLUSTER_LISTEN} set). */
  public boolean clustered() {
    return cluster != null;
  }

  /** This node's DNS name. */
  public DnsName identityName() {
    return client.identityName();
  }

  /** The folder of this node's identity files. */
  public Path cryptoPath() {
    return client.cryptoPath();
  }

  /** The largest MQTT payload accepted. */
  public int maxMessageSize() {
    return client.maxMessageSize();
  }

  /** The broker connection. */
  public ClientSettings.Mqtt mqtt() {
    return client.mqtt();
  }

  /** DNS lookups. */
  public ClientSettings.Dns dns() {
    return client.dns();
  }

  /** Peers that use the legacy format. */
  public LegacyPeers legacyPeers() {
    return client.legacyPeers();
  }

  /** This node's identity files. */
  public IdentityFiles identityFiles() {
    return client.identityFiles();
  }

  /** Lookup settings for the configured server and anchors. */
  public DaneLookup.Settings lookupSettings() {
    return client.lookupSettings();
  }

  /** Cache settings from the configured TTLs and bounds (see {@link ClientSettings#cacheSettings()}). */
  public TlsaCache.Settings cacheSettings() {
    return client.cacheSettings();
  }

  /** Envelope settings with the configured payload limit. */
  public Envelope.Settings envelopeSettings() {
    return client.envelopeSettings();
  }
}
