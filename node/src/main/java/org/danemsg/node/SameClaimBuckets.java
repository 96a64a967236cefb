package org.danemsg.node;

import com.typesafe.config.Config;
import java.util.List;
import org.apache.pekko.cluster.ConfigValidation;
import org.apache.pekko.cluster.JoinConfigCompatChecker;

/**
 * Pekko's join check (configuration compatibility, named in {@code cluster.conf}): a member whose
 * {@code danemsg.cluster.buckets} differs from the cluster's is refused when it joins, and shuts down
 * with Pekko's ERROR line naming the setting. The bucket of an id is a hash of it modulo the number of
 * buckets, so members that disagree send the claims of one id to different buckets, each of which grants
 * it: the message would be printed by both.
 */
public final class SameClaimBuckets extends JoinConfigCompatChecker {

  static final String KEY = "danemsg.cluster.buckets";

  @Override
  public scala.collection.immutable.Seq<String> requiredKeys() {
    return scala.jdk.javaapi.CollectionConverters.asScala(List.of(KEY)).toList();
  }

  @Override
  public ConfigValidation check(Config toCheck, Config actualConfig) {
    return JoinConfigCompatChecker.fullMatch(requiredKeys(), toCheck, actualConfig);
  }
}
