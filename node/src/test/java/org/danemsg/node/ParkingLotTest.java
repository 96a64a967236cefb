package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.dns.DnsServer;
import org.danemsg.protocol.dns.LookupResult;
import org.danemsg.testing.ManualClock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The parking lot and its per-sender children with the testkit's probes: every record the lot asks of
 * the Printer goes to a probe first (the test looks at it, then hands it to a real Printer or answers
 * itself), the sender-key lookup is a queue of futures the test completes, the crypto is real (real
 * keys, real sealed messages) and so is the database the parked payloads are rows of.
 */
@ExtendWith(TestKitJUnit5Extension.class)
class ParkingLotTest {

  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  @TempDir Path data;

  private static final DnsName RECEIVER = DnsName.parse("receiver.example.test");
  private static final DnsName SENDER = DnsName.parse("sender.example.test");
  private static final DeviceIdentity RECEIVER_KEY = DeviceIdentity.generate(RECEIVER, KeyType.EC_P256,
      DeviceIdentity.DEFAULT_VALIDITY);
  private static final DeviceIdentity SENDER_KEY = DeviceIdentity.generate(SENDER, KeyType.EC_P256,
      DeviceIdentity.DEFAULT_VALIDITY);
  private static final Executor CRYPTO = Runnable::run;

  private final Envelope envelope = new Envelope();
  private final ManualClock clock = ManualClock.atNow();
  /** Each lookup the lot's children make takes the next future; the test completes it. */
  private final LinkedBlockingQueue<CompletableFuture<LookupResult>> lookups = new LinkedBlockingQueue<>();
  private final List<DnsName> looked = new ArrayList<>();
  private ParkedMessages store;
  private ParkedSenders senders;
  /** What the lot asks the Printer to record (Deliver, Quarantine); parking goes to the real one at once. */
  private TestProbe<Printer.Command> printer;
  private ActorRef<Printer.Command> realPrinter;
  private ActorRef<Printer.Command> printerStandIn;

  @BeforeEach
  void setUp() throws Exception {
    realPrinter = testKit.spawn(Printer.create(Printer.Settings.of(data,
        new java.io.PrintStream(java.io.OutputStream.nullOutputStream()), clock, Printer.Hook.none())));
    TestProbe<Printer.Stats> ready = testKit.createTestProbe();
    realPrinter.tell(new Printer.GetStats(ready.ref())); // the database exists once the Printer answers
    ready.receiveMessage();
    store = new ParkedMessages(data);
    senders = new ParkedSenders();
    printer = testKit.createTestProbe();
    printerStandIn = testKit.spawn(org.apache.pekko.actor.typed.javadsl.Behaviors.receive(Printer.Command.class)
        .onMessage(Printer.Park.class, park -> {
          realPrinter.tell(park);
          return org.apache.pekko.actor.typed.javadsl.Behaviors.same();
        })
        .onMessage(Printer.SetParkedSender.class, set -> {
          realPrinter.tell(set);
          return org.apache.pekko.actor.typed.javadsl.Behaviors.same();
        })
        .onAnyMessage(other -> {
          printer.ref().tell(other);
          return org.apache.pekko.actor.typed.javadsl.Behaviors.same();
        })
        .build());
  }

  @org.junit.jupiter.api.AfterEach
  void closeStore() {
    store.close();
  }

  private ActorRef<ParkingLot.Command> lot(NodeSettings.Parking parking) {
    KeyRing keys = new KeyRing(new IdentityKeeper.Keys(RECEIVER, List.of(RECEIVER_KEY)));
    ActorRef<Decryptor.Command> decryptor = testKit.spawn(Decryptor.create(envelope, CRYPTO, keys));
    ActorRef<Authenticator.Command> authenticator = testKit.spawn(Authenticator.create(envelope, CRYPTO));
    ParkingLot.Services services = new ParkingLot.Services(store, decryptor, authenticator, printerStandIn,
        name -> {
          synchronized (looked) {
            looked.add(name);
          }
          CompletableFuture<LookupResult> next = new CompletableFuture<>();
          lookups.add(next);
          return next;
        }, (name, result) -> { }, senders);
    return testKit.spawn(ParkingLot.create(services, new ParkingLot.Settings(parking, clock)));
  }

  private static NodeSettings.Parking parking() {
    return new NodeSettings.Parking(Duration.ofMillis(50), Duration.ofMillis(200), Duration.ofMinutes(10),
        100, 1 << 20, 1 << 19, 1 << 20);
  }

  private byte[] sealed(String text) throws Exception {
    return envelope.seal(text, SENDER_KEY, RECEIVER, RECEIVER_KEY.publicKey());
  }

  private static LookupResult down() {
    return new LookupResult.TransientFailure(null, SENDER, LookupResult.TransientFailure.Kind.TIMEOUT, "test: no answer");
  }

  private static LookupResult found() {
    return new LookupResult.Secure(DnsServer.parse("127.0.0.1"), SENDER, List.of(), List.of(SENDER_KEY.publicKey()),
        List.of(), 60);
  }

  private CompletableFuture<LookupResult> nextLookup() throws InterruptedException {
    CompletableFuture<LookupResult> next = lookups.poll(5, TimeUnit.SECONDS);
    assertTrue(next != null, "no lookup was made");
    return next;
  }

  /**
   * What the stream does to park: room from the lot, then the Printer writes the row (and tells the
   * lot); the reply {@code replies} gets is the lot's answer (Admitted or Refused).
   */
  private void park(ActorRef<ParkingLot.Command> lot, byte[] payload, TestProbe<InboundPipeline.Step> replies,
      boolean lookupPending) {
    lot.tell(new ParkingLot.Reserve(new InboundPipeline.ToPark(SENDER, payload, "test: DNS down", lookupPending),
        replies.ref()));
  }

  /** Writes an admitted message as the stream's record stage would; returns its row. */
  private long store(InboundPipeline.Step admitted) {
    InboundPipeline.Admitted a = (InboundPipeline.Admitted) admitted;
    TestProbe<Printer.Outcome> outcome = testKit.createTestProbe();
    realPrinter.tell(new Printer.Park(a.message().sender(), a.message().payload(), a.parkedAt(), a.reservation(),
        outcome.ref()));
    return outcome.expectMessageClass(Printer.ParkedAs.class).id();
  }

  private ParkingLot.Stats stats(ActorRef<ParkingLot.Command> lot) {
    TestProbe<ParkingLot.Stats> probe = testKit.createTestProbe();
    lot.tell(new ParkingLot.GetStats(probe.ref()));
    return probe.receiveMessage();
  }

  /** The parked rows in the database. */
  private long rows() throws Exception {
    return store.list().size();
  }

  @Test
  void parksOnDiskRetriesWithBackoffAndDeliversWhenDnsAnswers() throws Exception {
    ActorRef<ParkingLot.Command> lot = lot(parking());
    TestProbe<InboundPipeline.Step> replies = testKit.createTestProbe();
    park(lot, sealed("first"), replies, false);
    park(lot, sealed("second"), replies, false);
    store(replies.expectMessageClass(InboundPipeline.Admitted.class));
    store(replies.expectMessageClass(InboundPipeline.Admitted.class));
    assertEquals(2, stats(lot).parkedMessages()); // the Printer told the lot before it answered
    assertTrue(senders.contains(SENDER), "the stream parks the sender's next messages behind these");
    assertEquals(2, rows());

    nextLookup().complete(down()); // first retry after min-backoff: still down
    nextLookup().complete(found()); // the retry after that: DNS is back
    List<String> texts = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      Printer.Deliver deliver = printer.expectMessageClass(Printer.Deliver.class, Duration.ofSeconds(5));
      texts.add(deliver.message().text());
      assertTrue(deliver.dnssecValidated());
      assertTrue(deliver.parkedId() > 0, "the record deletes the parked row in the same transaction");
      realPrinter.tell(deliver);
    }
    assertEquals(List.of("first", "second"), texts.stream().sorted().toList());
    testKit.createTestProbe().awaitAssert(() -> {
      assertFalse(senders.contains(SENDER), "the child stops once its sender is settled");
      assertEquals(0, stats(lot).parkedMessages());
      return null;
    });
    assertEquals(0, rows());
    assertEquals(2, looked.size(), "one lookup per retry round, not one per message");
  }

  @Test
  void aSenderWithoutUsableKeysHasItsMessagesQuarantined() throws Exception {
    ActorRef<ParkingLot.Command> lot = lot(parking());
    TestProbe<InboundPipeline.Step> replies = testKit.createTestProbe();
    park(lot, sealed("to be refused"), replies, true);
    store(replies.expectMessageClass(InboundPipeline.Admitted.class));
    nextLookup().complete(new LookupResult.NoSuchName(DnsServer.parse("127.0.0.1"), SENDER, true));
    Printer.Quarantine quarantine = printer.expectMessageClass(Printer.Quarantine.class, Duration.ofSeconds(5));
    assertEquals("SENDER_KEYS_UNAVAILABLE", quarantine.refusal().reason());
    realPrinter.tell(quarantine);
    testKit.createTestProbe().awaitAssert(() -> {
      assertEquals(0, stats(lot).parkedMessages());
      return null;
    });
    assertEquals(0, rows());
  }

  @Test
  void givesUpAfterTheLimitAndQuarantinesAsDnsUnavailable() throws Exception {
    NodeSettings.Parking parking = new NodeSettings.Parking(Duration.ofMillis(20), Duration.ofMillis(50),
        Duration.ofMinutes(10), 100, 1 << 20, 1 << 19, 1 << 20);
    ActorRef<ParkingLot.Command> lot = lot(parking);
    TestProbe<InboundPipeline.Step> replies = testKit.createTestProbe();
    park(lot, sealed("never checked"), replies, false);
    store(replies.expectMessageClass(InboundPipeline.Admitted.class));
    nextLookup().complete(down());
    CompletableFuture<LookupResult> retry = nextLookup(); // made after the backoff: still within the limit
    clock.advance(Duration.ofMinutes(11));
    retry.complete(down());
    Printer.Quarantine quarantine = printer.expectMessageClass(Printer.Quarantine.class, Duration.ofSeconds(5));
    assertEquals(Refusal.SENDER_DNS_UNAVAILABLE, quarantine.refusal().reason());
    assertTrue(quarantine.payload().length > 0, "quarantined with its payload");
    realPrinter.tell(quarantine);
  }

  @Test
  void aFullShareIsRefusedAsParkingFullNotHeldInMemory() throws Exception {
    byte[] payload = sealed("big enough");
    NodeSettings.Parking tight = new NodeSettings.Parking(Duration.ofSeconds(10), Duration.ofSeconds(10),
        Duration.ofMinutes(10), 100, 1 << 20, payload.length + 10, 1 << 20);
    ActorRef<ParkingLot.Command> lot = lot(tight);
    TestProbe<InboundPipeline.Step> replies = testKit.createTestProbe();
    park(lot, payload, replies, false);
    store(replies.expectMessageClass(InboundPipeline.Admitted.class));
    park(lot, sealed("no room for this one"), replies, false);
    InboundPipeline.Refused refused = replies.expectMessageClass(InboundPipeline.Refused.class);
    assertEquals(Refusal.PARKING_FULL, refused.refusal().reason());
    assertTrue(refused.refusal().detail().contains("max-bytes-per-sender"), refused.refusal().detail());
    assertEquals(1, rows());
  }

  @Test
  void aRecordThatFailsKeepsTheMessageAndTriesAgain() throws Exception {
    ActorRef<ParkingLot.Command> lot = lot(parking());
    TestProbe<InboundPipeline.Step> replies = testKit.createTestProbe();
    park(lot, sealed("disk trouble"), replies, true);
    store(replies.expectMessageClass(InboundPipeline.Admitted.class));
    nextLookup().complete(found());
    Printer.Deliver first = printer.expectMessageClass(Printer.Deliver.class, Duration.ofSeconds(5));
    first.replyTo().tell(new Printer.Failed("test: disk full"));
    assertEquals(1, rows(), "kept on disk");
    nextLookup().complete(found()); // tried again after max-backoff
    Printer.Deliver again = printer.expectMessageClass(Printer.Deliver.class, Duration.ofSeconds(5));
    assertEquals("disk trouble", again.message().text());
    realPrinter.tell(again);
    testKit.createTestProbe().awaitAssert(() -> {
      assertEquals(0, stats(lot).parkedMessages());
      return null;
    });
    assertEquals(0, rows());
  }

  @Test
  void takesUpWhatAnEarlierRunParked() throws Exception {
    TestProbe<Printer.Outcome> parked = testKit.createTestProbe();
    realPrinter.tell(new Printer.Park(SENDER, sealed("left by the last run"), Instant.now().minusSeconds(30),
        parked.ref()));
    parked.expectMessageClass(Printer.ParkedAs.class);
    ActorRef<ParkingLot.Command> lot = lot(parking());
    assertEquals(1, stats(lot).parkedMessages());
    nextLookup().complete(found());
    Printer.Deliver deliver = printer.expectMessageClass(Printer.Deliver.class, Duration.ofSeconds(5));
    assertEquals("left by the last run", deliver.message().text());
    realPrinter.tell(deliver);
    testKit.createTestProbe().awaitAssert(() -> {
      assertEquals(0, stats(lot).parkedMessages());
      return null;
    });
  }
}
