package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.HashMap;
import java.util.Map;
import org.danemsg.client.SettingsException;
import org.junit.jupiter.api.Test;

class NodeSettingsTest {

  private static Config config(Map<String, Object> values) {
    Map<String, Object> all = new HashMap<>();
    all.put("danemsg.identity-name", "alice._device.example.test");
    all.put("danemsg.dns.server", "127.0.0.1:5353");
    all.putAll(values);
    return ConfigFactory.parseMap(all).withFallback(ConfigFactory.defaultReference()).resolve();
  }

  private static String problem(Map<String, Object> values) {
    SettingsException e = assertThrows(SettingsException.class, () -> NodeSettings.from(config(values)));
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    return e.getMessage();
  }

  @Test
  void defaultsMatchTheOriginal() {
    NodeSettings settings = NodeSettings.from(config(Map.of()));
    assertEquals("127.0.0.1", settings.mqtt().host());
    assertEquals(1883, settings.mqtt().port());
    assertEquals(65536, settings.maxMessageSize());
    assertEquals("./identity", settings.cryptoPath().toString());
    assertEquals("./data", settings.dataPath().toString());
    assertTrue(settings.dns().trustAnchors().source().contains("IANA"));
  }

  @Test
  void withoutClusterListenTheNodeRunsAlone() {
    NodeSettings settings = NodeSettings.from(config(Map.of()));
    assertEquals(null, settings.cluster());
    assertTrue(!settings.clustered());
  }

  @Test
  void clusterSettingsAreReadAndTheShareGroupDerivedFromTheIdentity() {
    NodeSettings settings = NodeSettings.from(config(Map.of("danemsg.cluster.listen", "127.0.0.1:2552",
        "danemsg.cluster.seeds", "127.0.0.1:2552, 127.0.0.1:2553,127.0.0.1:2553,[::1]:2554")));
    ClusterSettings cluster = settings.cluster();
    assertEquals(new ClusterSettings.HostPort("127.0.0.1", 2552), cluster.listen());
    assertEquals(3, cluster.seeds().size(), cluster.seeds().toString());
    assertEquals("[::1]:2554", cluster.seeds().get(2).toString());
    assertEquals("", cluster.shareGroup(), "derived from the identity's key at start");
    assertEquals(256, cluster.buckets());
    Config pekko = cluster.pekkoConfig();
    assertEquals("cluster", pekko.getString("pekko.actor.provider"));
    assertEquals("tls-tcp", pekko.getString("pekko.remote.artery.transport"), "remoting is TLS, always");
    assertEquals(IdentityPinnedTls.class.getName(), pekko.getString("pekko.remote.artery.ssl.ssl-engine-provider"));
    assertEquals(java.util.List.of("pekko://danemsg-node@127.0.0.1:2552", "pekko://danemsg-node@127.0.0.1:2553",
        "pekko://danemsg-node@[::1]:2554"), pekko.getStringList("pekko.cluster.seed-nodes"));
    assertEquals(java.time.Duration.ofSeconds(60), cluster.joinTimeout());
    assertEquals(2, pekko.getInt("pekko.cluster.min-nr-of-members"), "a majority of the 3 seeds before any is Up");
  }

  @Test
  void logsShowASharedSubscriptionWithoutItsGroup() {
    ClusterSettings cluster = NodeSettings.from(config(Map.of("danemsg.cluster.listen", "127.0.0.1:2552",
        "danemsg.cluster.seeds", "127.0.0.1:2552"))).cluster().withShareGroup("s3cr3t");
    String filter = cluster.topicFilter("alice._device.example.test");
    assertEquals("$share/s3cr3t/alice._device.example.test", filter);
    assertEquals("$share/<group>/alice._device.example.test", ClusterSettings.shownAs(filter));
    assertEquals("$share/<group>", ClusterSettings.shownAs("$share/s3cr3t"), "no topic: still no group");
    assertEquals("alice._device.example.test", ClusterSettings.shownAs("alice._device.example.test"));
  }

  @Test
  void noMemberIsUpBeforeAMajorityOfTheSeedsHaveJoined() {
    int[] expected = {0, 1, 2, 2, 3, 3};
    for (int n = 1; n <= 5; n++) {
      java.util.List<ClusterSettings.HostPort> seeds = new java.util.ArrayList<>();
      for (int i = 0; i < n; i++) {
        seeds.add(new ClusterSettings.HostPort("127.0.0.1", 2552 + i));
      }
      ClusterSettings cluster = new ClusterSettings(seeds.get(0), seeds, "g", 256, java.time.Duration.ofSeconds(5),
          java.time.Duration.ofSeconds(20), java.time.Duration.ofSeconds(60), java.time.Duration.ofMinutes(3));
      assertEquals(expected[n], cluster.seedMajority(), n + " seeds");
      assertEquals(expected[n], cluster.pekkoConfig().getInt("pekko.cluster.min-nr-of-members"), n + " seeds");
    }
  }

  @Test
  void theDefaultShareGroupIsTheSameForEveryMemberAndCannotBeNamedWithoutTheKey() {
    org.danemsg.protocol.DnsName name = org.danemsg.protocol.DnsName.parse("collector._device.example.test");
    org.danemsg.protocol.DeviceIdentity identity = org.danemsg.protocol.DeviceIdentity.generate(name,
        org.danemsg.protocol.KeyType.EC_P256, java.time.Duration.ofDays(1));
    org.danemsg.protocol.DeviceIdentity sameNameOtherKey = org.danemsg.protocol.DeviceIdentity.generate(name,
        org.danemsg.protocol.KeyType.EC_P256, java.time.Duration.ofDays(1));
    String group = ClusterSettings.derivedShareGroup(identity);
    assertTrue(group.matches("danemsg-[0-9a-f]{24}"), group);
    assertEquals(group, ClusterSettings.derivedShareGroup(identity));
    assertTrue(!group.equals(ClusterSettings.derivedShareGroup(sameNameOtherKey)));
  }

  @Test
  void badClusterSettingsNameTheSetting() {
    assertTrue(problem(Map.of("danemsg.cluster.seeds", "127.0.0.1:2552"))
        .startsWith("setting danemsg.cluster.seeds (CLUSTER_SEEDS) is set but danemsg.cluster.listen"));
    assertTrue(problem(Map.of("danemsg.cluster.listen", "127.0.0.1:2552"))
        .startsWith("setting danemsg.cluster.seeds (CLUSTER_SEEDS) is empty"));
    assertTrue(problem(Map.of("danemsg.cluster.listen", "127.0.0.1", "danemsg.cluster.seeds", "127.0.0.1:1"))
        .startsWith("setting danemsg.cluster.listen (CLUSTER_LISTEN) '127.0.0.1' is not host:port"));
    assertTrue(problem(Map.of("danemsg.cluster.listen", "127.0.0.1:0", "danemsg.cluster.seeds", "127.0.0.1:1"))
        .contains("has port 0"));
    assertTrue(problem(Map.of("danemsg.cluster.listen", "127.0.0.1:1", "danemsg.cluster.seeds", "a:1,,b:2"))
        .startsWith("setting danemsg.cluster.seeds (CLUSTER_SEEDS) '' is not host:port"));
    assertTrue(problem(Map.of("danemsg.cluster.listen", "127.0.0.1:1", "danemsg.cluster.seeds", "a:1",
        "danemsg.cluster.share-group", "a/b")).startsWith("setting danemsg.cluster.share-group (CLUSTER_SHARE_GROUP)"));
    assertTrue(problem(Map.of("danemsg.cluster.listen", "127.0.0.1:1", "danemsg.cluster.seeds", "a:1",
        "danemsg.cluster.join-timeout", "soon")).startsWith("setting danemsg.cluster.join-timeout must be a duration"));
    assertTrue(problem(Map.of("danemsg.cluster.listen", "127.0.0.1:1", "danemsg.cluster.seeds", "a:1",
        "danemsg.cluster.join-timeout", "0s")).startsWith("setting danemsg.cluster.join-timeout must be more than zero"));
    String shortMemory = problem(Map.of("danemsg.cluster.listen", "127.0.0.1:1", "danemsg.cluster.seeds", "a:1",
        "danemsg.cluster.claim-memory", "60s"));
    assertTrue(shortMemory.startsWith("setting danemsg.cluster.claim-memory is 60 s: at least 90 s"), shortMemory);
  }

  @Test
  void missingIdentityNameNamesTheSettingAndVariable() {
    String message = problem(Map.of("danemsg.identity-name", ""));
    assertTrue(message.contains("danemsg.identity-name (IDENTITY_NAME) is not set"), message);
  }

  @Test
  void badValuesNameTheSetting() {
    assertTrue(problem(Map.of("danemsg.mqtt.port", "eighty")).startsWith("setting danemsg.mqtt.port (MQTT_PORT)"));
    assertTrue(problem(Map.of("danemsg.mqtt.port", 0)).contains("between 1 and 65535"));
    assertTrue(problem(Map.of("danemsg.max-message-size", 10)).startsWith("setting danemsg.max-message-size (MAX_MESSAGE_SIZE)"));
    assertTrue(problem(Map.of("danemsg.dns.server", "1.2.3.4:x")).startsWith("setting danemsg.dns.server (DNS_SERVER)"));
    assertTrue(problem(Map.of("danemsg.dns.trust-anchor", "/nonexistent/anchor"))
        .startsWith("setting danemsg.dns.trust-anchor (DNSSEC_TRUST_ANCHOR)"));
    assertTrue(problem(Map.of("danemsg.identity-name", "not a name")).contains("is not a DNS name"));
    assertTrue(problem(Map.of("danemsg.mqtt.tls", "maybe")).contains("true or false"));
    assertTrue(problem(Map.of("danemsg.parking.give-up-after", "soon")).contains("duration"));
    assertTrue(problem(Map.of("danemsg.dns.warm-up-rounds", -1)).startsWith("setting danemsg.dns.warm-up-rounds"));
  }

  @Test
  void theDnsWarmUpIsOnByDefaultAndCanBeTurnedOff() {
    assertEquals(1000, NodeSettings.from(config(Map.of())).dnsWarmUpRounds());
    assertEquals(0, NodeSettings.from(config(Map.of("danemsg.dns.warm-up-rounds", 0))).dnsWarmUpRounds());
  }

  @Test
  void theBrokerPasswordIsTheFirstLineOfMqttPasswordFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Path file = dir.resolve("node.password");
    java.nio.file.Files.writeString(file, "s3cret\n");
    NodeSettings settings = NodeSettings.from(config(Map.of("danemsg.mqtt.username", "alice",
        "danemsg.mqtt.password-file", file.toString())));
    assertEquals("s3cret", settings.mqtt().password());
  }

  @Test
  void aPasswordAndAPasswordFileTogetherAreRefused(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Path file = dir.resolve("node.password");
    java.nio.file.Files.writeString(file, "s3cret\n");
    String message = problem(Map.of("danemsg.mqtt.username", "alice", "danemsg.mqtt.password", "other",
        "danemsg.mqtt.password-file", file.toString()));
    assertTrue(message.contains("(MQTT_PASSWORD_FILE) is set and so is"), message);
  }
}
