package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.typed.JoinSeedNodes;
import org.junit.jupiter.api.Test;

/**
 * A member joins through its seeds (as a node does) only if its {@code danemsg.cluster.buckets} is the
 * cluster's: with another number it would send the claims of an id to another bucket than the others.
 */
class SameClaimBucketsTest {

  private static Config member(int buckets) {
    return ConfigFactory.parseString("""
        pekko.actor.provider = cluster
        pekko.remote.artery.canonical.hostname = 127.0.0.1
        pekko.remote.artery.canonical.port = 0
        pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
        danemsg.cluster.buckets = %d
        """.formatted(buckets)).withFallback(ConfigFactory.parseResources(NodePekkoConfig.CLUSTER))
        .withFallback(ConfigFactory.load());
  }

  private static long up(Cluster cluster) {
    return java.util.stream.StreamSupport.stream(cluster.state().getMembers().spliterator(), false)
        .filter(m -> m.status() == MemberStatus.up()).count();
  }

  @Test
  void aMemberWithTheSameBucketsJoinsAndOneWithOtherBucketsIsRefused() throws Exception {
    ActorTestKit first = ActorTestKit.create("SameClaimBucketsTest", member(256));
    ActorTestKit same = ActorTestKit.create("SameClaimBucketsTest", member(256));
    ActorTestKit other = ActorTestKit.create("SameClaimBucketsTest", member(128));
    try {
      Cluster cluster = Cluster.get(first.system());
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
      List<org.apache.pekko.actor.Address> seeds = List.of(cluster.selfMember().address());
      Cluster.get(same.system()).manager().tell(new JoinSeedNodes(seeds));
      TestProbe<Object> probe = first.createTestProbe();
      probe.awaitAssert(Duration.ofSeconds(20), () -> {
        assertEquals(2, up(cluster));
        return null;
      });

      Cluster.get(other.system()).manager().tell(new JoinSeedNodes(seeds));
      // Refused: it shuts itself down, and the cluster never counts it.
      other.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertEquals(2, up(cluster));
      assertTrue(java.util.stream.StreamSupport.stream(cluster.state().getMembers().spliterator(), false)
          .noneMatch(m -> m.address().equals(Cluster.get(other.system()).selfMember().address())));
    } finally {
      other.shutdownTestKit();
      same.shutdownTestKit();
      first.shutdownTestKit();
    }
  }
}
