package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import org.junit.jupiter.api.Test;

class NodePekkoConfigTest {

  @Test
  void theNodesPekkoSettingsReplacePekkosDefaultsButNotTheUsers() {
    Config loaded = ConfigFactory.parseString("pekko.loglevel = DEBUG").withFallback(ConfigFactory.load());
    assertEquals(List.of("org.apache.pekko.event.Logging$DefaultLogger"), loaded.getStringList("pekko.loggers"),
        "Pekko's own default, as node.jar's concatenated reference.conf has it too");
    Config node = NodePekkoConfig.over(loaded, NodePekkoConfig.NODE);
    assertEquals(List.of("org.apache.pekko.event.slf4j.Slf4jLogger"), node.getStringList("pekko.loggers"));
    assertEquals("OFF", node.getString("pekko.stdout-loglevel"));
    assertEquals("DEBUG", node.getString("pekko.loglevel"), "set by the user");
    assertEquals("local", node.getString("pekko.actor.provider"));
    assertEquals(8, loaded.getInt("pekko.actor.default-dispatcher.fork-join-executor.parallelism-min"));
    assertEquals(1, node.getInt("pekko.actor.default-dispatcher.fork-join-executor.parallelism-min"),
        "as many threads as cores");
    assertEquals("", node.getString("pekko.cluster.downing-provider-class"), "no cluster settings without a cluster");
  }

  @Test
  void clusterModeAddsTheSplitBrainResolverAndTheClaimSerializer() {
    Config cluster = NodePekkoConfig.over(NodePekkoConfig.over(ConfigFactory.load(), NodePekkoConfig.NODE),
        NodePekkoConfig.CLUSTER);
    assertEquals("org.apache.pekko.cluster.sbr.SplitBrainResolverProvider",
        cluster.getString("pekko.cluster.downing-provider-class"));
    assertEquals("keep-majority", cluster.getString("pekko.cluster.split-brain-resolver.active-strategy"));
    assertEquals("danemsg-claims", cluster.getString("pekko.actor.serialization-bindings.\"org.danemsg.node.ClaimBucket$Wire\""));
  }
}
