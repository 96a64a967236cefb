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
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
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
 * bucket knows, expiry, the memory bounded in time and the late claims decided from the members'
 * databases (here one stand-in lookup, {@link #delivered}, registered as this member's), and the wire form
 * of its messages.
 */
class ClaimBucketTest {

  private static ActorTestKit testKit;
  private static final ManualClock CLOCK = new ManualClock(Instant.parse("2026-11-28T12:00:00Z"));
  private static int buckets;
  private static final Duration MEMORY = Duration.ofMinutes(3);
  /** What this member's stand-in lookup answers: key → the member that delivered it. */
  private static final java.util.Map<String, String> delivered = new java.util.concurrent.ConcurrentHashMap<>();
  /** Keys the stand-in lookup was asked about, in order. */
  private static final java.util.List<String> asked = new java.util.concurrent.CopyOnWriteArrayList<>();
  /** Keys the stand-in lookup does not answer (a member that cannot read its database). */
  private static final java.util.Set<String> unanswered = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private static String self;

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
    self = ClaimBucket.hostPort(cluster.selfMember().address());
    ActorRef<SeenLookup.Command> lookup = testKit.spawn(Behaviors.<SeenLookup.Command>setup(context -> {
      context.getSystem().receptionist().tell(Receptionist.register(SeenLookup.KEY, context.getSelf()));
      return Behaviors.receiveMessage(command -> {
        SeenLookup.Lookup q = (SeenLookup.Lookup) command;
        asked.add(q.key());
        if (!unanswered.contains(q.key())) {
          String by = delivered.get(q.key());
          q.replyTo().tell(new SeenLookup.Found(by == null ? "m-nobody" : by, self, q.key(), by != null));
        }
        return Behaviors.same();
      });
    }));
    TestProbe<Receptionist.Listing> listing = testKit.createTestProbe();
    listing.awaitAssert(Duration.ofSeconds(10), () -> {
      testKit.system().receptionist().tell(Receptionist.find(SeenLookup.KEY, listing.getRef()));
      assertEquals(java.util.Set.of(lookup), listing.receiveMessage().getServiceInstances(SeenLookup.KEY));
      return null;
    });
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static ActorRef<ClaimBucket.Command> bucket(String name) {
    return bucket(name, java.util.Set.of(self), Duration.ofMinutes(10));
  }

  private static ActorRef<ClaimBucket.Command> bucket(String name, java.util.Set<String> members, Duration prune) {
    return testKit.spawn(ClaimBucket.create(name, new ClaimBucket.Settings(Duration.ofSeconds(3), prune, CLOCK, 100,
        MEMORY, members)));
  }

  private static String freshBucket() {
    return "test-" + (++buckets);
  }

  /** A claim of a message sent now. */
  private static ClaimBucket.Answer claim(ActorRef<ClaimBucket.Command> bucket, String key, String member,
      Duration valid) {
    return claim(bucket, key, member, CLOCK.instant(), valid);
  }

  private static ClaimBucket.Answer claim(ActorRef<ClaimBucket.Command> bucket, String key, String member,
      Instant sent, Duration valid) {
    TestProbe<ClaimBucket.Answer> reply = testKit.createTestProbe();
    bucket.tell(new ClaimBucket.Claim(key, member, sent.getEpochSecond(), CLOCK.instant().plus(valid).getEpochSecond(),
        reply.getRef()));
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
      long sent = CLOCK.instant().getEpochSecond();
      bucket.tell(new ClaimBucket.Claim("carol " + i, "m-a", sent, until, a.getRef()));
      bucket.tell(new ClaimBucket.Claim("carol " + i, "m-b", sent, until, b.getRef()));
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
    // Nobody recorded it (the stand-in lookup says so): the next claimer wins.
    assertInstanceOf(ClaimBucket.Granted.class, claim(bucket, "dave 1", "m-b", Duration.ofMinutes(1)));
  }

  @Test
  void aClaimLeftMemoryIsDecidedFromTheMembersDatabases() {
    ActorRef<ClaimBucket.Command> bucket = bucket(freshBucket());
    Instant sent = CLOCK.instant();
    assertInstanceOf(ClaimBucket.Granted.class, claim(bucket, "erin 1", "m-a", Duration.ofDays(7)));
    assertInstanceOf(ClaimBucket.Granted.class, claim(bucket, "erin 2", "m-a", Duration.ofDays(7)));
    CLOCK.setTo(sent.plus(MEMORY).plusSeconds(1)); // both left memory
    delivered.put("erin 1", "m-a"); // m-a recorded erin 1; erin 2's record never came (it crashed before)
    asked.clear();
    assertEquals(new ClaimBucket.HeldBy("m-a"), claim(bucket, "erin 1", "m-b", sent, Duration.ofDays(7)));
    assertInstanceOf(ClaimBucket.Granted.class, claim(bucket, "erin 2", "m-b", sent, Duration.ofDays(7)));
    assertEquals(List.of("erin 1", "erin 2"), asked);
    // Decided now: held in memory again, no more questions for a while.
    assertEquals(new ClaimBucket.HeldBy("m-a"), claim(bucket, "erin 1", "m-c", sent, Duration.ofDays(7)));
    assertEquals(new ClaimBucket.HeldBy("m-b"), claim(bucket, "erin 2", "m-a", sent, Duration.ofDays(7)));
    assertEquals(2, asked.size());
  }

  @Test
  void aRecentClaimIsDecidedInMemoryWithoutAskingTheMembers() {
    ActorRef<ClaimBucket.Command> bucket = bucket(freshBucket());
    assertInstanceOf(ClaimBucket.Granted.class, claim(bucket, "fred 0", "m-a", Duration.ofDays(7))); // window starts
    // A message sent before the window started (plus the clock skews) is late; one sent after is not.
    CLOCK.setTo(CLOCK.instant().plusSeconds(91));
    asked.clear();
    assertInstanceOf(ClaimBucket.Granted.class, claim(bucket, "fred 1", "m-a", Duration.ofDays(7)));
    assertEquals(new ClaimBucket.HeldBy("m-a"), claim(bucket, "fred 1", "m-b", Duration.ofDays(7)));
    assertEquals(List.of(), asked);
    assertInstanceOf(ClaimBucket.Granted.class, claim(bucket, "fred 2", "m-a", CLOCK.instant().minusSeconds(200),
        Duration.ofDays(7)));
    assertEquals(List.of("fred 2"), asked);
  }

  @Test
  void aLegacyMessageWithoutSendTimeIsAlwaysLate() {
    ActorRef<ClaimBucket.Command> bucket = bucket(freshBucket());
    claim(bucket, "gus 0", "m-a", Duration.ofDays(7));
    CLOCK.setTo(CLOCK.instant().plusSeconds(91));
    asked.clear();
    TestProbe<ClaimBucket.Answer> reply = testKit.createTestProbe();
    bucket.tell(new ClaimBucket.Claim("gus sha256-1", "m-a", ClaimBucket.SENT_UNKNOWN,
        CLOCK.instant().plusSeconds(3600).getEpochSecond(), reply.getRef()));
    assertInstanceOf(ClaimBucket.Granted.class, reply.receiveMessage(Duration.ofSeconds(10)));
    assertEquals(List.of("gus sha256-1"), asked);
  }

  @Test
  void aLateClaimWaitsForEveryListedMember() {
    // A member of CLUSTER_SEEDS that is not in the cluster now might have delivered it.
    ActorRef<ClaimBucket.Command> bucket = bucket(freshBucket(), java.util.Set.of(self, "127.0.0.1:1"),
        Duration.ofMinutes(10));
    ClaimBucket.Answer answer = claim(bucket, "hank 1", "m-a", Duration.ofDays(7));
    assertInstanceOf(ClaimBucket.Undecided.class, answer);
    org.junit.jupiter.api.Assertions.assertTrue(((ClaimBucket.Undecided) answer).reason().contains("127.0.0.1:1"),
        answer.toString());
    // Undecided: nobody holds it (another member's claim is not refused for it).
    unanswered.add("hank 2");
    ActorRef<ClaimBucket.Command> second = bucket(freshBucket());
    answer = claim(second, "hank 2", "m-a", Duration.ofDays(7));
    assertInstanceOf(ClaimBucket.Undecided.class, answer);
    org.junit.jupiter.api.Assertions.assertTrue(((ClaimBucket.Undecided) answer).reason().contains("no answer from "
        + self), answer.toString());
    unanswered.clear();
    // Undecided is not held: the next claim, by anybody, asks again.
    assertInstanceOf(ClaimBucket.Granted.class, claim(second, "hank 2", "m-b", Duration.ofDays(7)));
  }

  @Test
  void claimsLeaveTheWindowClaimMemoryAfterTheirSending() throws Exception {
    String name = freshBucket();
    ActorRef<ClaimBucket.Command> bucket = bucket(name, java.util.Set.of(self), Duration.ofMillis(300));
    Instant sent = CLOCK.instant();
    for (int i = 0; i < 100; i++) {
      assertInstanceOf(ClaimBucket.Granted.class, claim(bucket, "ivy " + i, "m-a", Duration.ofDays(30)));
    }
    assertEquals(101, replicated(name).size()); // 100 claims and the window's start
    CLOCK.setTo(sent.plus(MEMORY).plusSeconds(1));
    TestProbe<Object> probe = testKit.createTestProbe();
    probe.awaitAssert(Duration.ofSeconds(10), () -> {
      assertEquals(java.util.Set.of(ClaimBucket.SINCE), replicated(name).keySet());
      return null;
    });
  }

  /** Bucket {@code name}'s map as Distributed Data holds it on this member. */
  private static java.util.Map<String, String> replicated(String name) {
    TestProbe<org.apache.pekko.cluster.ddata.typed.javadsl.Replicator.GetResponse<
        org.apache.pekko.cluster.ddata.LWWMap<String, String>>> reply = testKit.createTestProbe();
    org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData.get(testKit.system()).replicator().tell(
        new org.apache.pekko.cluster.ddata.typed.javadsl.Replicator.Get<>(ClaimBucket.keyOf(name),
            org.apache.pekko.cluster.ddata.typed.javadsl.Replicator.readLocal(), reply.getRef()));
    var response = reply.receiveMessage(Duration.ofSeconds(5));
    return ((org.apache.pekko.cluster.ddata.typed.javadsl.Replicator.GetSuccess<
        org.apache.pekko.cluster.ddata.LWWMap<String, String>>) response).get(ClaimBucket.keyOf(name)).getEntries();
  }

  @Test
  void aGrantedClaimIsPendingHereUntilItsRecordIsCommitted() throws Exception {
    ActorRef<ClaimBucket.Command> bucket = bucket(freshBucket());
    OpenedMessage m = new OpenedMessage(DnsName.parse("jane._device.example.test"),
        DnsName.parse("bob._device.example.test"), "hi", CLOCK.instant(), "jane-1", CLOCK.instant().plusSeconds(600),
        Profile.NATIVE);
    ReplayClaims claims = member("m-a", bucket);
    String key = "jane._device.example.test jane-1";
    org.junit.jupiter.api.Assertions.assertFalse(claims.pendingHere(key));
    assertInstanceOf(ClaimBucket.Granted.class, claims.claim(m).toCompletableFuture().get(10, TimeUnit.SECONDS));
    org.junit.jupiter.api.Assertions.assertTrue(claims.pendingHere(key));
    claims.recorded(m);
    org.junit.jupiter.api.Assertions.assertFalse(claims.pendingHere(key));
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
    serialization.verifySerialization(new ClaimBucket.Claim("erin._device.example.test abc-_1", "m-0123", 1_799_999_000L,
        1_800_000_000L, reply.getRef()), true);
    serialization.verifySerialization(new ClaimBucket.Claim("erin._device.example.test sha256-x", "m-0123",
        ClaimBucket.SENT_UNKNOWN, 1_800_000_000L, reply.getRef()), true);
    serialization.verifySerialization(new ClaimBucket.Granted(), true);
    serialization.verifySerialization(new ClaimBucket.HeldBy("m-0123"), true);
    serialization.verifySerialization(new ClaimBucket.Unavailable("no majority"), true);
    serialization.verifySerialization(new ClaimBucket.Undecided("member 127.0.0.1:2553 away"), true);
    TestProbe<SeenLookup.Found> found = testKit.createTestProbe();
    serialization.verifySerialization(new SeenLookup.Lookup("a.example 1", found.getRef()), true);
    serialization.verifySerialization(new SeenLookup.Found("m-0123", "[::1]:2552", "a.example 1", true), true);
  }
}
