package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.time.Instant;
import java.nio.file.Path;
import org.apache.pekko.actor.PoisonPill;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.sharding.typed.testkit.javadsl.TestEntityRef;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.OpenedMessage;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The claim bucket on a two-member cluster whose second member stops answering Distributed Data (its
 * replicator is stopped; the member itself stays Up and reachable, so nobody is downed): every majority
 * write (2 of 2) then times out, and a claim must not be answered as written meanwhile; and a late claim
 * decided from the other member's database, over the wire.
 */
class ClaimBucketTwoMembersTest {

  private static final Duration CONSISTENCY = Duration.ofSeconds(4);

  private final ManualClock clock = new ManualClock(Instant.parse("2026-11-28T12:00:00Z"));
  private ActorTestKit first;
  private ActorTestKit second;

  @BeforeEach
  void startTwoMembers() {
    first = ActorTestKit.create("ClaimBucketTwoMembersTest", memberConfig());
    second = ActorTestKit.create("ClaimBucketTwoMembersTest", memberConfig());
    DistributedData.get(second.system()); // its replicator answers the first member's majority writes
    Cluster one = Cluster.get(first.system());
    one.manager().tell(Join.create(one.selfMember().address()));
    Cluster.get(second.system()).manager().tell(Join.create(one.selfMember().address()));
    TestProbe<Replicator.ReplicaCount> replicas = first.createTestProbe();
    replicas.awaitAssert(Duration.ofSeconds(20), () -> {
      assertEquals(2, java.util.stream.StreamSupport.stream(one.state().getMembers().spliterator(), false)
          .filter(m -> m.status() == MemberStatus.up()).count());
      DistributedData.get(first.system()).replicator().tell(new Replicator.GetReplicaCount(replicas.getRef()));
      assertEquals(2, replicas.receiveMessage(Duration.ofSeconds(1)).n());
      return null;
    });
  }

  @AfterEach
  void stop() {
    second.shutdownTestKit();
    first.shutdownTestKit();
  }

  private static Config memberConfig() {
    return ConfigFactory.parseString("""
        pekko.actor.provider = cluster
        pekko.remote.artery.canonical.hostname = 127.0.0.1
        pekko.remote.artery.canonical.port = 0
        pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
        """).withFallback(ConfigFactory.parseResources(NodePekkoConfig.CLUSTER)).withFallback(ConfigFactory.load());
  }

  private ActorRef<ClaimBucket.Command> bucket(String name, Duration pruneInterval) {
    return bucket(name, pruneInterval, java.util.Set.of());
  }

  /** A bucket on the first member that asks {@code members} (host:port) about late claims. */
  private ActorRef<ClaimBucket.Command> bucket(String name, Duration pruneInterval, java.util.Set<String> members) {
    return first.spawn(ClaimBucket.create(name, new ClaimBucket.Settings(CONSISTENCY, pruneInterval, clock, 100,
        Duration.ofMinutes(3), members)));
  }

  private ClaimBucket.Answer claim(ActorRef<ClaimBucket.Command> bucket, String key, String member, Duration valid) {
    TestProbe<ClaimBucket.Answer> reply = first.createTestProbe();
    bucket.tell(new ClaimBucket.Claim(key, member, clock.instant().getEpochSecond(),
        clock.instant().plus(valid).getEpochSecond(), reply.getRef()));
    return reply.receiveMessage(CONSISTENCY.multipliedBy(3));
  }

  /** The second member's Distributed Data stops answering: the first one's majority writes time out. */
  private void secondReplicaStopsAnswering() {
    org.apache.pekko.cluster.ddata.DistributedData.get(Adapter.toClassic(second.system())).replicator()
        .tell(PoisonPill.getInstance(), org.apache.pekko.actor.ActorRef.noSender());
  }

  @Test
  void aLateClaimIsRefusedWhenAnotherMemberSDatabaseHasTheMessage(@TempDir Path firstData, @TempDir Path secondData)
      throws Exception {
    OpenedMessage m = new OpenedMessage(DnsName.parse("kim._device.example.test"),
        DnsName.parse("hub._device.example.test"), "sent yesterday", clock.instant().minus(Duration.ofDays(1)), "kim-1",
        clock.instant().plus(Duration.ofDays(6)), Profile.NATIVE);
    // The second member delivered it yesterday (its database); the cluster's memory has forgotten it.
    try (MessageStore store = MessageStore.open(secondData, NodeSettings.Records.defaults(), 4096, clock)) {
      store.recordDelivery(m, true, clock.instant().minus(Duration.ofDays(1)), 0);
      store.commit();
    }
    MessageStore.open(firstData, NodeSettings.Records.defaults(), 4096, clock).close();
    String firstAt = ClaimBucket.hostPort(Cluster.get(first.system()).selfMember().address());
    String secondAt = ClaimBucket.hostPort(Cluster.get(second.system()).selfMember().address());
    first.spawn(SeenLookup.create("m-first", firstAt, firstData, key -> false));
    second.spawn(SeenLookup.create("m-second", secondAt, secondData, key -> false));
    ActorRef<ClaimBucket.Command> bucket = bucket("late", Duration.ofMinutes(10), java.util.Set.of(firstAt, secondAt));
    ReplayClaims claims = new ReplayClaims(new ReplayClaims.Settings("m-first", 1, Duration.ofSeconds(10),
        Duration.ofHours(1), clock), b -> TestEntityRef.of(ClaimBucket.TYPE, "0", bucket), (answer, nanos) -> { });
    TestProbe<Object> probe = first.createTestProbe();
    probe.awaitAssert(Duration.ofSeconds(20), () -> {
      // Until both lookups are registered the claim is Unavailable (a listed member is not there).
      assertEquals(new ClaimBucket.HeldBy("m-second"), claims.claim(m).toCompletableFuture()
          .get(15, java.util.concurrent.TimeUnit.SECONDS));
      return null;
    });
    // A message nobody delivered is granted after both answered.
    OpenedMessage other = new OpenedMessage(m.sender(), m.recipient(), "also old", m.sentAt(), "kim-2", m.expiresAt(),
        Profile.NATIVE);
    assertInstanceOf(ClaimBucket.Granted.class, claims.claim(other).toCompletableFuture()
        .get(15, java.util.concurrent.TimeUnit.SECONDS));
  }

  @Test
  void aClaimIsAnsweredByItsOwnWriteNotByAPruneThatWasOut() throws Exception {
    ActorRef<ClaimBucket.Command> bucket = bucket("pruned", Duration.ofSeconds(1));
    assertInstanceOf(ClaimBucket.Granted.class, claim(bucket, "gina 0", "m-a", Duration.ofMinutes(1)));
    secondReplicaStopsAnswering();
    clock.setTo(clock.instant().plus(Duration.ofMinutes(2))); // "gina 0" expired: the next prune tick writes its removal
    Thread.sleep(2500); // that prune's write began within a second and is still out (it fails after CONSISTENCY)
    TestProbe<ClaimBucket.Answer> reply = first.createTestProbe();
    long started = System.nanoTime();
    bucket.tell(new ClaimBucket.Claim("gina 1", "m-a", clock.instant().getEpochSecond(),
        clock.instant().plusSeconds(3600).getEpochSecond(), reply.getRef()));
    // Its own write can start only once the prune's is answered, and then takes CONSISTENCY to fail.
    ClaimBucket.Answer answer = reply.receiveMessage(CONSISTENCY.multipliedBy(3));
    long waitedMillis = (System.nanoTime() - started) / 1_000_000;
    assertInstanceOf(ClaimBucket.Unavailable.class, answer);
    org.junit.jupiter.api.Assertions.assertTrue(waitedMillis >= CONSISTENCY.toMillis(),
        "answered after " + waitedMillis + " ms, before its own write could have timed out: by the prune's write");
  }

  @Test
  void aRunOfFailedWritesIsOneWarningNotOneEach() {
    ActorRef<ClaimBucket.Command> bucket = bucket("no-majority", Duration.ofMinutes(10));
    assertInstanceOf(ClaimBucket.Granted.class, claim(bucket, "hana 0", "m-a", Duration.ofHours(1)));
    secondReplicaStopsAnswering();
    assertInstanceOf(ClaimBucket.Unavailable.class, claim(bucket, "hana 1", "m-a", Duration.ofHours(1)));
    assertInstanceOf(ClaimBucket.Unavailable.class, claim(bucket, "hana 2", "m-a", Duration.ofHours(1)));
    // Without a majority every active bucket fails every second: one WARN a run (and one a minute), not one a try.
    assertEquals(1, LogRecorder.linesWith("WARN", "claim bucket danemsg-claims-no-majority:", "not written to a majority").size(),
        String.join("\n", LogRecorder.linesWith("danemsg-claims-no-majority:")));
  }
}
