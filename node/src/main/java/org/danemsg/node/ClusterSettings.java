package org.danemsg.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.danemsg.client.SettingsReader;
import org.danemsg.protocol.DnsName;

/**
 * Cluster mode (section {@code danemsg.cluster}): several node processes with the same identity files
 * form one Pekko Cluster, share the identity's messages through an MQTT shared subscription and decide
 * "seen" together ({@link ClaimBucket}). Off (null in {@link NodeSettings#cluster()}) unless
 * {@code CLUSTER_LISTEN} is set: then the node runs alone, exactly as without this section.
 *
 * @param listen this member's Pekko remoting address (Artery over mutual TLS, {@link IdentityPinnedTls})
 * @param seeds the members that a starting member asks to join (this member may be one of them)
 * @param shareGroup the MQTT shared subscription group ({@code $share/GROUP/TOPIC}); empty until
 *     {@code Node.start} derives it from the identity's key ({@link #derivedShareGroup}) unless set
 * @param buckets how many claim buckets the replay claims are spread over (the same on every member)
 * @param claimTimeout how long a message may wait for its claim before the stream gives it back unacked
 * @param downUnreachableAfter how long the split brain resolver waits for a stable view before downing
 * @param joinTimeout how long a starting member may take to become Up (with a majority of the seeds,
 *     {@link #seedMajority}) before its node stops with exit status 1, to try the seeds again when restarted
 * @param claimMemory how long after its sending a message's claim is held in the members' memory; a
 *     message that arrives later is checked against every member's database ({@link ClaimBucket})
 */
public record ClusterSettings(HostPort listen, List<HostPort> seeds, String shareGroup, int buckets,
    Duration claimTimeout, Duration downUnreachableAfter, Duration joinTimeout, Duration claimMemory) {

  /** The actor system's name: the same on every member, part of every member's address. */
  public static final String SYSTEM_NAME = "danemsg-node";

  /** The environment variables of the cluster settings. */
  public static final Map<String, String> ENVIRONMENT = Map.of(
      "cluster.listen", "CLUSTER_LISTEN",
      "cluster.seeds", "CLUSTER_SEEDS",
      "cluster.share-group", "CLUSTER_SHARE_GROUP");

  /** A host and a port. */
  public record HostPort(String host, int port) {
    @Override
    public String toString() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    /** The Pekko address of the member listening here. */
    String pekkoAddress() {
      return "pekko://" + SYSTEM_NAME + "@" + this;
    }
  }

  public ClusterSettings {
    seeds = List.copyOf(seeds);
  }

  /**
   * The cluster settings, or null when {@code cluster.listen} is empty (the node runs alone).
   *
   * @throws org.danemsg.client.SettingsException naming the first bad setting
   */
  static ClusterSettings from(SettingsReader r, DnsName identity) {
    String listenText = r.string("cluster.listen").strip();
    String seedsText = r.string("cluster.seeds").strip();
    if (listenText.isEmpty()) {
      if (!seedsText.isEmpty()) {
        throw r.bad("cluster.seeds", "is set but danemsg.cluster.listen (CLUSTER_LISTEN) is not: set both to"
            + " run this node as a member of a cluster, or neither to run it alone");
      }
      return null;
    }
    HostPort listen = hostPort(r, "cluster.listen", listenText);
    if (listen.port() == 0) {
      throw r.bad("cluster.listen", "'" + listenText + "' has port 0: members find each other at fixed"
          + " addresses, give a port of 1 to 65535");
    }
    if (seedsText.isEmpty()) {
      throw r.bad("cluster.seeds", "is empty: give the host:port of one or more members (comma-separated; this"
          + " member's own CLUSTER_LISTEN may be one of them)");
    }
    List<HostPort> seeds = new ArrayList<>();
    for (String seed : seedsText.split(",", -1)) {
      HostPort parsed = hostPort(r, "cluster.seeds", seed.strip());
      if (!seeds.contains(parsed)) {
        seeds.add(parsed);
      }
    }
    String group = r.string("cluster.share-group").strip();
    if (!group.isEmpty() && !group.matches("[A-Za-z0-9._-]{1,64}")) {
      throw r.bad("cluster.share-group", "'" + SettingsReader.printable(group) + "' is not a share group name:"
          + " 1 to 64 of A-Z a-z 0-9 . _ - (it is one MQTT topic level)");
    }
    Duration claimMemory = r.duration("cluster.claim-memory", false);
    Duration leastMemory = ClaimBucket.MEMBER_CLOCK_SKEW.plusSeconds(MessageStore.SKEW_SECONDS);
    if (claimMemory.compareTo(leastMemory) < 0) {
      throw r.bad("cluster.claim-memory", "is " + claimMemory.toSeconds() + " s: at least " + leastMemory.toSeconds()
          + " s (the clock skew allowed between a sender and the members, and between members)");
    }
    return new ClusterSettings(listen, seeds, group, r.integer("cluster.buckets", 1, 100_000),
        r.duration("cluster.claim-timeout", false), r.duration("cluster.down-unreachable-after", false),
        r.duration("cluster.join-timeout", false), claimMemory);
  }

  /**
   * How many members the cluster must have before any member becomes Up: a majority of the seeds
   * (floor(n/2)+1). Pekko lets the first seed form a cluster of its own when no other seed answers; cut off
   * by a partition (and downed by the majority, and restarted by its service manager) it would be a second
   * cluster granting its own replay claims, never merging with the first. With this minimum it stays
   * Joining, never subscribes, and stops after {@link #joinTimeout}.
   */
  public int seedMajority() {
    return seeds.size() / 2 + 1;
  }

  private static HostPort hostPort(SettingsReader r, String key, String text) {
    String host;
    String portText;
    if (text.startsWith("[")) {
      int close = text.indexOf("]:");
      host = close < 0 ? "" : text.substring(1, close);
      portText = close < 0 ? "" : text.substring(close + 2);
    } else {
      int colon = text.lastIndexOf(':');
      host = colon < 0 || text.indexOf(':') != colon ? "" : text.substring(0, colon);
      portText = colon < 0 ? "" : text.substring(colon + 1);
    }
    int port = portText.matches("[0-9]{1,5}") ? Integer.parseInt(portText) : -1;
    if (host.isEmpty() || port < 0 || port > 65535 || !host.matches("[A-Za-z0-9._:-]{1,253}")) {
      throw r.bad(key, "'" + SettingsReader.printable(text) + "' is not host:port (an IPv6 address goes in"
          + " brackets: [::1]:2552)");
    }
    return new HostPort(host.toLowerCase(Locale.ROOT), port);
  }

  /** The shared subscription of {@code identityName}'s members: {@code $share/GROUP/NAME}. */
  String topicFilter(Object identityName) {
    return SHARE_PREFIX + shareGroup + "/" + identityName;
  }

  private static final String SHARE_PREFIX = "$share/";

  /**
   * {@code topicFilter} as log lines and errors show it: a shared subscription as {@code $share/<group>/NAME}.
   * The group is a secret ({@link #derivedShareGroup}: whoever can name it can make a share of the
   * identity's messages vanish at the broker), and logs are read by more people than the key files, so no
   * line names it. Any other filter as it is.
   */
  static String shownAs(String topicFilter) {
    if (!topicFilter.startsWith(SHARE_PREFIX)) {
      return topicFilter;
    }
    int groupEnd = topicFilter.indexOf('/', SHARE_PREFIX.length());
    return SHARE_PREFIX + "<group>" + (groupEnd < 0 ? "" : topicFilter.substring(groupEnd));
  }

  /** These settings with {@code group} as the share group. */
  public ClusterSettings withShareGroup(String group) {
    return new ClusterSettings(listen, seeds, group, buckets, claimTimeout, downUnreachableAfter, joinTimeout,
        claimMemory);
  }

  /**
   * The share group when none is set: derived from the identity's private key, so that every member (they
   * share the key files) finds the same group and nobody else can name it. Mosquitto accepts a
   * subscription to {@code $share/GROUP/topic} from any account and deals it its round-robin share, even
   * when the ACL lets that account read nothing: the broker then drops those messages. A group an outsider
   * can guess would let any account of the broker make the identity's messages vanish.
   */
  static String derivedShareGroup(org.danemsg.protocol.DeviceIdentity identity) {
    try {
      javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
      mac.init(new javax.crypto.spec.SecretKeySpec(identity.privateKey().getEncoded(), "HmacSHA256"));
      byte[] digest = mac.doFinal(("danemsg cluster share group " + identity.name())
          .getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return "danemsg-" + java.util.HexFormat.of().formatHex(digest, 0, 12);
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing", e);
    }
  }

  /**
   * The Pekko settings that make this node a member: the cluster provider, remoting on {@link #listen}
   * over mutual TLS pinned to the identity ({@link IdentityPinnedTls}), the seeds (the rest of cluster
   * mode's settings: {@code org/danemsg/node/cluster.conf}) and the minimum number of members before any is
   * Up ({@link #seedMajority}). These win over any configuration file:
   * there is no plain TCP remoting.
   */
  Config pekkoConfig() {
    List<String> seedAddresses = seeds.stream().map(HostPort::pekkoAddress).toList();
    return ConfigFactory.empty()
        .withValue("pekko.actor.provider", ConfigValueFactory.fromAnyRef("cluster"))
        .withValue("pekko.remote.artery.transport", ConfigValueFactory.fromAnyRef("tls-tcp"))
        .withValue("pekko.remote.artery.ssl.ssl-engine-provider",
            ConfigValueFactory.fromAnyRef(IdentityPinnedTls.class.getName()))
        .withValue("pekko.remote.artery.canonical.hostname", ConfigValueFactory.fromAnyRef(listen.host()))
        .withValue("pekko.remote.artery.canonical.port", ConfigValueFactory.fromAnyRef(listen.port()))
        .withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(seedAddresses))
        .withValue("pekko.cluster.min-nr-of-members", ConfigValueFactory.fromAnyRef(seedMajority()))
        .withValue("pekko.cluster.split-brain-resolver.stable-after",
            ConfigValueFactory.fromAnyRef(downUnreachableAfter.toMillis() + " ms"));
  }
}
