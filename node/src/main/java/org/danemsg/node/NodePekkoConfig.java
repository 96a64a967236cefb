package org.danemsg.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValue;
import java.util.Map;

/**
 * The node's Pekko settings ({@code org/danemsg/node/pekko.conf}; in cluster mode also
 * {@code org/danemsg/node/cluster.conf}) laid over Pekko's own defaults, under whatever the user set.
 * They cannot live in the node's {@code reference.conf}: node.jar's one reference.conf is every jar's
 * concatenated, the node's first, so Pekko's defaults, appended after it, would win there (seen: in
 * node.jar {@code pekko.loggers} was Pekko's DefaultLogger, which logs to stdout, and the cluster's
 * downing provider was empty, i.e. no split brain resolver).
 */
final class NodePekkoConfig {

  static final String NODE = "org/danemsg/node/pekko.conf";
  static final String CLUSTER = "org/danemsg/node/cluster.conf";

  private NodePekkoConfig() {}

  /** {@code config} with each setting of {@code resource} where {@code config} has only a library default. */
  static Config over(Config config, String resource) {
    Config defaults = ConfigFactory.parseResources(NodePekkoConfig.class.getClassLoader(), resource);
    if (defaults.isEmpty()) {
      throw new IllegalStateException(resource + " is missing from the class path");
    }
    Config result = config;
    for (Map.Entry<String, ConfigValue> setting : defaults.entrySet()) {
      String path = setting.getKey();
      if (!config.hasPathOrNull(path) || fromReference(config.getValue(path))) {
        result = result.withValue(path, setting.getValue());
      }
    }
    return result;
  }

  /** A value that came from a reference.conf (a library's default, or the node's own), not from the user. */
  private static boolean fromReference(ConfigValue value) {
    String resource = value.origin().resource();
    return resource != null && resource.endsWith("reference.conf");
  }
}
