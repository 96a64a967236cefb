package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.OpenedMessage;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A member's lookup against a real database: what it answers a claim bucket, and when it does not. */
class SeenLookupTest {

  private final ActorTestKit testKit = ActorTestKit.create("SeenLookupTest");
  private final ManualClock clock = new ManualClock(Instant.parse("2026-11-28T12:00:00Z"));
  private final Set<String> pending = ConcurrentHashMap.newKeySet();

  @AfterEach
  void stop() {
    testKit.shutdownTestKit();
  }

  private OpenedMessage message(String sender, String id) {
    return new OpenedMessage(DnsName.parse(sender), DnsName.parse("hub._device.example.test"), "text",
        clock.instant(), id, clock.instant().plus(Duration.ofDays(7)), Profile.NATIVE);
  }

  private SeenLookup.Found ask(ActorRef<SeenLookup.Command> lookup, String key) {
    TestProbe<SeenLookup.Found> reply = testKit.createTestProbe();
    lookup.tell(new SeenLookup.Lookup(key, reply.getRef()));
    return reply.receiveMessage(Duration.ofSeconds(5));
  }

  @Test
  void answersFromTheReplayWindowAndThePendingClaims(@TempDir Path data) throws Exception {
    try (MessageStore store = MessageStore.open(data, NodeSettings.Records.defaults(), 4096, clock)) {
      store.recordDelivery(message("lee._device.example.test", "lee-1"), true, clock.instant(), 0);
      store.commit();
      ActorRef<SeenLookup.Command> lookup = testKit.spawn(SeenLookup.create("m-1", "127.0.0.1:2552", data,
          pending::contains));
      assertEquals(new SeenLookup.Found("m-1", "127.0.0.1:2552", "lee._device.example.test lee-1", true),
          ask(lookup, "lee._device.example.test lee-1"));
      // Names compare case-insensitively, as the Printer's own check does.
      assertEquals(true, ask(lookup, "LEE._device.example.test lee-1").delivered());
      assertEquals(false, ask(lookup, "lee._device.example.test lee-2").delivered());
      assertEquals(false, ask(lookup, "lee._device.example.test LEE-1").delivered());
      // Granted to this member and not yet committed: as good as delivered.
      pending.add("lee._device.example.test lee-2");
      assertEquals(true, ask(lookup, "lee._device.example.test lee-2").delivered());
      // A record committed while the lookup runs is read from the next commit on (the Printer writes meanwhile).
      store.recordDelivery(message("lee._device.example.test", "lee-3"), true, clock.instant(), 0);
      store.commit();
      assertEquals(true, ask(lookup, "lee._device.example.test lee-3").delivered());
    }
  }

  @Test
  void registersWithTheReceptionistAndLeavesMalformedOrUnreadableQuestionsUnanswered(@TempDir Path data) {
    ActorRef<SeenLookup.Command> lookup = testKit.spawn(SeenLookup.create("m-1", "127.0.0.1:2552", data,
        pending::contains));
    TestProbe<Receptionist.Listing> listing = testKit.createTestProbe();
    listing.awaitAssert(Duration.ofSeconds(5), () -> {
      testKit.system().receptionist().tell(Receptionist.find(SeenLookup.KEY, listing.getRef()));
      assertEquals(Set.of(lookup), listing.receiveMessage().getServiceInstances(SeenLookup.KEY));
      return null;
    });
    TestProbe<SeenLookup.Found> reply = testKit.createTestProbe();
    lookup.tell(new SeenLookup.Lookup("no-space", reply.getRef()));
    lookup.tell(new SeenLookup.Lookup("trailing ", reply.getRef()));
    // No database in this folder: no answer, rather than "not delivered" (the bucket then decides nothing).
    lookup.tell(new SeenLookup.Lookup("mo._device.example.test mo-1", reply.getRef()));
    reply.expectNoMessage(Duration.ofMillis(500));
  }
}
