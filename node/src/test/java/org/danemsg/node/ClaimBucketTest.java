package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.sharding.typed.testkit.javadsl.TestEntityRef;
import org.apache.pekko.cluster.typed.Join;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.OpenedMessage;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.ManualClock;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The claim bucket on a one-member cluster (majority = 1): who wins an id, what a new incarnation of the
 * bucket knows, expiry, and the wire form of its messages.
 */
class ClaimBucketTest {

  private static ActorTestKit testKit;
  private static final ManualClock CLOCK = new ManualClock(Instant.parse("2026-11-28T12:00:00Z"));
  private static int buckets;

  @BeforeAll
  static void startOneMemberCluster() {
    testKit = ActorTestKit.create("ClaimBucketTest", ConfigFactory.parseString("""
        pekko.actor.provider = cluster
        pekko.remote.artery.canonical.hostname = 127.0.0.1
        pekko.remote.artery.canonical.port = 0
        """).withFallback(ConfigFactory.parseResources(NodePekkoConfig.CLUSTER)).withFallback(ConfigFactory.load()));
    Cluster cluster = Cluster.get(testKit.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    TestProbe<Object> probe = testKit.createTestProbe();
    probe.awaitAssert(Duration.ofSeconds(10), () -> {
      assertEquals(MemberStatus.up(), cluster.selfMember().status());
      return null;
    });
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static ActorRef<ClaimBucket.Command> bucket(String name) {
    return testKit.spawn(ClaimBucket.create(name, new ClaimBucket.Settings(Duration.ofSeconds(3),
        Duration.ofMinutes(10), CLOCK, 100)));
  }

  private static String freshBucket() {
    return "test-" + (++buckets);
  }

  private static ClaimBucket.Answer claim(ActorRef<ClaimBucket.Command> bucket, String key, String member,
      Duration valid) {
    TestProbe<ClaimBucket.Answer> reply = testKit.createTestProbe();
    bucket.tell(new ClaimBucket.Claim(key, member, CLOCK.instant().plus(valid).getEpochSecond(), reply.getRef()));
    return reply.receiveMessage(Duration.ofSeconds(10));
  }

  @Test
  void grantsAnIdToTheFirstMemberAndAgainToItOnly() {
    ActorRef<ClaimBucket.Command> bucket = bucket(freshBucket());
    assertInstanceOf(ClaimBucket.Granted.class, claim(bucket, "alice 1", "m-a", Duration.ofHours(1)));
    assertEquals(new ClaimBucket.HeldBy("m-a"), claim(bucket, "alice 1", "m-b", Duration.ofHours(1)));
    assertInstanceOf(ClaimBucket.Granted.class, claim(bucket, "alice 1", "m-a", Duration.ofHours(1)));
    assertInstanceOf(ClaimBucket.Granted.class, claim(bucket, "alice 2", "m-b", Duration.ofHours(1)));
  }

  @Test
  void aNewIncarnationOfTheBucketReadsTheClaimsBack() {
    String name = freshBucket();
    ActorRef<ClaimBucket.Command> first = bucket(name);
    assertInstanceOf(ClaimBucket.Granted.class, claim(first, "bob 7", "m-a", Duration.ofHours(1)));
    testKit.stop(first);
    ActorRef<ClaimBucket.Command> second = bucket(name);
    assertEquals(new ClaimBucket.HeldBy("m-a"), claim(second, "bob 7", "m-c", Duration.ofHours(1)));
  }

  @Test
  void concurrentClaimsOfOneIdGrantExactlyOne() {
    ActorRef<ClaimBucket.Command> bucket = bucket(freshBucket());
    TestProbe<ClaimBucket.Answer> a = testKit.createTestProbe();
    TestProbe<ClaimBucket.Answer> b = testKit.createTestProbe();
    long until = CLOCK.instant().plusSeconds(3600).getEpochSecond();
    for (int i = 0; i < 50; i++) {
      bucket.tell(new ClaimBucket.Claim("carol " + i, "m-a", until, a.getRef()));
      bucket.tell(new ClaimBucket.Claim("carol " + i, "m-b", until, b.getRef()));
    }
    List<ClaimBucket.Answer> toA = a.receiveSeveralMessages(50, Duration.ofSeconds(10));
    List<ClaimBucket.Answer> toB = b.receiveSeveralMessages(50, Duration.ofSeconds(10));
    long granted = toA.stream().filter(x -> x instanceof ClaimBucket.Granted).count()
        + toB.stream().filter(x -> x instanceof ClaimBucket.Granted).count();
    assertEquals(50, granted);
    assertEquals(50, toB.stream().filter(x -> x.equals(new ClaimBucket.HeldBy("m-a"))).count());
  }

  @Test
  void anExpiredClaimNoLongerHoldsItsId() {
    ActorRef<ClaimBucket.Command> bucket = bucket(freshBucket());
    assertInstanceOf(ClaimBucket.Granted.class, claim(bucket, "dave 1", "m-a", Duration.ofMinutes(1)));
    CLOCK.setTo(CLOCK.instant().plus(Duration.ofMinutes(2)));
    assertInstanceOf(ClaimBucket.Granted.class, claim(bucket, "dave 1", "m-b", Duration.ofMinutes(1)));
  }

  @Test
  void aSeedAddsAMembersOwnIdsWhereTheWindowHasNone() {
    ActorRef<ClaimBucket.Command> bucket = bucket(freshBucket());
    assertInstanceOf(ClaimBucket.Granted.class, claim(bucket, "erin 2", "m-b", Duration.ofHours(1)));
    long until = CLOCK.instant().plusSeconds(3600).getEpochSecond();
    TestProbe<ClaimBucket.Seeded> seeded = testKit.createTestProbe();
    bucket.tell(new ClaimBucket.Seed("m-a", java.util.Map.of("erin 1", until, "erin 2", until,
        "erin 3", CLOCK.instant().minusSeconds(1).getEpochSecond()), seeded.getRef()));
    assertEquals(new ClaimBucket.Seeded(1), seeded.receiveMessage(Duration.ofSeconds(10)));
    assertEquals(new ClaimBucket.HeldBy("m-a"), claim(bucket, "erin 1", "m-c", Duration.ofHours(1)));
    assertEquals(new ClaimBucket.HeldBy("m-b"), claim(bucket, "erin 2", "m-a", Duration.ofHours(1)));
    assertInstanceOf(ClaimBucket.Granted.class, claim(bucket, "erin 3", "m-c", Duration.ofHours(1)));
  }

  @Test
  void anIdStaysHeldAsLongAsTheEnvelopeStillAcceptsItsMessage() throws Exception {
    ActorRef<ClaimBucket.Command> bucket = bucket(freshBucket());
    Instant expires = CLOCK.instant().plusSeconds(30);
    OpenedMessage m = new OpenedMessage(DnsName.parse("grace._device.example.test"),
        DnsName.parse("bob._device.example.test"), "hello", CLOCK.instant(), "grace-1", expires, Profile.NATIVE);
    assertInstanceOf(ClaimBucket.Granted.class, member("m-a", bucket).claim(m).toCompletableFuture()
        .get(10, TimeUnit.SECONDS));
    // Past exp but within the clock skew the envelope allows, the message is still accepted: a copy that
    // reaches another member now is a replay there, not a second print.
    CLOCK.setTo(expires.plus(Envelope.Settings.defaults().clockSkew()).minusSeconds(1));
    assertEquals(new ClaimBucket.HeldBy("m-a"), member("m-b", bucket).claim(m).toCompletableFuture()
        .get(10, TimeUnit.SECONDS));
  }

  /** Member {@code name}'s claims, all going to {@code bucket}. */
  private static ReplayClaims member(String name, ActorRef<ClaimBucket.Command> bucket) {
    EntityRef<ClaimBucket.Command> ref = TestEntityRef.of(ClaimBucket.TYPE, "0", bucket);
    return new ReplayClaims(new ReplayClaims.Settings(name, 1, Duration.ofSeconds(5), Duration.ofHours(1), CLOCK),
        b -> ref, (answer, nanos) -> { });
  }

  @Test
  void claimMessagesCrossTheWireUnchanged() {
    TestProbe<ClaimBucket.Answer> reply = testKit.createTestProbe();
    var serialization = testKit.serializationTestKit();
    serialization.verifySerialization(new ClaimBucket.Claim("erin._device.example.test abc-_1", "m-0123", 1_800_000_000L,
        reply.getRef()), true);
    serialization.verifySerialization(new ClaimBucket.Granted(), true);
    serialization.verifySerialization(new ClaimBucket.HeldBy("m-0123"), true);
    serialization.verifySerialization(new ClaimBucket.Unavailable("no majority"), true);
    TestProbe<ClaimBucket.Seeded> seeded = testKit.createTestProbe();
    serialization.verifySerialization(new ClaimBucket.Seed("m-0123", java.util.Map.of("a 1", 5L, "b 2", 6L),
        seeded.getRef()), true);
    serialization.verifySerialization(new ClaimBucket.Seeded(2), true);
  }
}
