package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.OpenedMessage;
import org.danemsg.protocol.Profile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestKitJUnit5Extension.class)
class PrinterTest {

  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final DnsName ALICE = DnsName.parse("alice._device.example.test");
  private static final DnsName BOB = DnsName.parse("bob._device.example.test");

  private ActorRef<Printer.Command> printer(Path data) {
    return testKit.spawn(Printer.create(Printer.Settings.of(data,
        new PrintStream(new ByteArrayOutputStream(), true), Clock.systemUTC(), Printer.Hook.none())));
  }

  private ActorRef<Printer.Command> printer(Path data, ByteArrayOutputStream out) {
    return printer(Printer.Settings.of(data, new PrintStream(out, true, StandardCharsets.UTF_8), Clock.systemUTC(),
        Printer.Hook.none()));
  }

  private ActorRef<Printer.Command> printer(Printer.Settings settings) {
    return testKit.spawn(Printer.create(settings));
  }

  private static OpenedMessage message(String id) {
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    return new OpenedMessage(ALICE, BOB, "hi " + id, now, id, now.plusSeconds(300), Profile.NATIVE);
  }

  private static boolean isReplay(Printer.Outcome outcome) {
    return outcome instanceof Printer.Quarantined q && q.refusal().reason().equals(Refusal.REPLAY);
  }

  @Test
  void theWriteAheadLogIsCopiedIntoTheDatabaseWhileThePrinterRuns() throws Exception {
    // Automatic checkpoints are off (they would run inside a commit and hold every message waiting for
    // it); the Printer has them done on another thread once a second. Without that, the database file
    // would not grow before the node stops: everything would stay in the -wal file.
    Path data = Files.createTempDirectory("printer-");
    ActorRef<Printer.Command> printer = printer(data);
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    printer.tell(new Printer.Deliver(message("first"), true, new byte[] {1}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    Path database = data.resolve(MessageStore.FILE);
    long before = Files.size(database);
    for (int i = 0; i < 300; i++) {
      printer.tell(new Printer.Deliver(message("m" + i), true, new byte[] {1}, probe.ref()));
    }
    for (int i = 0; i < 300; i++) {
      probe.expectMessage(new Printer.Printed());
    }
    assertTrue(Files.size(data.resolve(MessageStore.FILE + "-wal")) > 0, "the rows went to the log first");
    Poll.until(java.time.Duration.ofSeconds(10), () -> database.toFile().length() > before,
        () -> "the database file did not grow: no checkpoint ran (" + before + " bytes)");
  }

  @Test
  void theWriteAheadLogStartsOverUnderTrafficThatNeverPauses() throws Exception {
    // SQLite reuses its log from the start only when a write begins after a checkpoint that copied all
    // of it. A checkpoint on another thread never gets there while commits keep coming (each adds frames
    // while it copies): the log grew by every commit, about 10 KB a message at 1,500 msg/s, 180 MB
    // within a half-minute bench run. Here the Printer commits without a pause for several checkpoint
    // rounds; the log must have started over (its header counts how often) and stay small.
    Path data = Files.createTempDirectory("printer-");
    ActorRef<Printer.Command> printer = printer(data);
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    long until = System.nanoTime() + Duration.ofMillis(3_500).toNanos();
    int sent = 0;
    int answered = 0;
    while (System.nanoTime() < until) {
      for (; sent - answered < 2_000; sent++) {
        printer.tell(new Printer.Deliver(message("flood-" + sent), true, new byte[] {1}, probe.ref()));
      }
      probe.expectMessage(new Printer.Printed());
      answered++;
    }
    for (; answered < sent; answered++) {
      probe.expectMessage(new Printer.Printed());
    }
    Path wal = data.resolve(MessageStore.FILE + "-wal");
    byte[] header = new byte[16];
    try (var in = Files.newInputStream(wal)) {
      assertEquals(16, in.readNBytes(header, 0, 16));
    }
    int restarts = java.nio.ByteBuffer.wrap(header, 12, 4).getInt(); // the WAL header's checkpoint sequence
    assertTrue(restarts >= 1, "the log never started over during " + sent + " messages: " + Files.size(wal)
        + " bytes");
    assertTrue(Files.size(wal) < 32L << 20, "the log has " + Files.size(wal) + " bytes after " + sent
        + " messages");
  }

  @Test
  void secondCopyOfAMessageIsRefusedAsReplay() throws Exception {
    ActorRef<Printer.Command> printer = printer(Files.createTempDirectory("printer-"));
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    printer.tell(new Printer.Deliver(message("m1"), true, new byte[] {1}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    printer.tell(new Printer.Deliver(message("m1"), true, new byte[] {1}, probe.ref()));
    Printer.Outcome second = probe.receiveMessage();
    assertTrue(isReplay(second), second.toString());
  }

  @Test
  void twoCopiesInOneGroupCommitPrintOnce() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ActorRef<Printer.Command> printer = printer(data, out);
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    // Both in the mailbox before the first is handled: the second sees the first's uncommitted seen row.
    printer.tell(new Printer.Deliver(message("twice"), true, new byte[] {1}, probe.ref()));
    printer.tell(new Printer.Deliver(message("twice"), true, new byte[] {1}, probe.ref()));
    List<Printer.Outcome> outcomes = List.of(probe.receiveMessage(), probe.receiveMessage());
    assertTrue(outcomes.contains(new Printer.Printed()), outcomes.toString());
    assertTrue(outcomes.stream().anyMatch(PrinterTest::isReplay), outcomes.toString());
    assertEquals(1, out.toString(StandardCharsets.UTF_8).lines().count());
    assertEquals(1, StoredRecords.inbox(data).size());
  }

  @Test
  void replayWindowSurvivesARestart() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    ActorRef<Printer.Command> first = printer(data);
    first.tell(new Printer.Deliver(message("m2"), true, new byte[] {2}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    testKit.stop(first);
    ActorRef<Printer.Command> second = printer(data);
    second.tell(new Printer.Deliver(message("m2"), true, new byte[] {2}, probe.ref()));
    assertTrue(probe.receiveMessage() instanceof Printer.Quarantined);
    second.tell(new Printer.Deliver(message("m3"), true, new byte[] {3}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
  }

  @Test
  void theLineIsPrintedInTheFormatOfBeforeAndTheRowHoldsEveryMember() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ActorRef<Printer.Command> printer = printer(data, out);
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    printer.tell(new Printer.Deliver(message("f1"), false, new byte[] {1}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    OpenedMessage legacy = new OpenedMessage(ALICE, BOB, "old format", null, "sha256-f2", null, Profile.LEGACY);
    printer.tell(new Printer.Deliver(legacy, true, new byte[] {2}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    assertEquals(List.of(ALICE + " says: hi f1 [UNAUTHENTICATED: DNSSEC off]", ALICE + " says: old format [legacy]"),
        out.toString(StandardCharsets.UTF_8).lines().toList());
    var rows = StoredRecords.inbox(data);
    assertEquals(List.of("cursor", "received-at", "sender", "recipient", "sent-at", "expires-at", "id", "profile",
        "dnssec", "text"), List.copyOf(rows.get(0).keySet()));
    assertEquals("off", rows.get(0).get("dnssec"));
    assertEquals(message("f1").expiresAt().toString(), rows.get(0).get("expires-at"));
    assertEquals("legacy", rows.get(1).get("profile"));
    assertNull(rows.get(1).get("sent-at"));
    assertTrue((Long) rows.get(1).get("cursor") > (Long) rows.get(0).get("cursor"));
  }

  @Test
  void escapesControlCharacters() {
    assertEquals("a\\nb\\tc\\x1b[0m\\\\\\u202e\\x7f", Printer.escape("a\nb\tc\u001b[0m\\\u202e\u007f"));
    assertEquals("grüße 😀", Printer.escape("grüße 😀"));
  }

  @Test
  void aTextWithALoneSurrogateIsDeliveredOnceAsValidUtf8AndNotPrintedAgainAfterARestart() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    Instant now = Instant.now();
    OpenedMessage hostile = new OpenedMessage(ALICE, BOB, "half \ud800 a pair\u001b[2J", now, "surrogate-1",
        now.plusSeconds(300), Profile.NATIVE);
    ActorRef<Printer.Command> first = printer(data, out);
    first.tell(new Printer.Deliver(hostile, true, new byte[] {9}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    testKit.stop(first);
    ActorRef<Printer.Command> second = printer(data, out);
    second.tell(new Printer.Deliver(hostile, true, new byte[] {9}, probe.ref())); // the broker redelivers
    assertTrue(isReplay(probe.receiveMessage()));

    String printed = out.toString(StandardCharsets.UTF_8);
    assertEquals(1, printed.lines().count(), printed);
    assertTrue(printed.contains("half \\ud800 a pair\\x1b[2J"), printed);
    assertEquals("half \ufffd a pair\u001b[2J", StoredRecords.inbox(data).get(0).get("text"));
  }

  @Test
  void aHookThatStopsTheNodeBeforePrintingLeavesNothingRecorded() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    ActorRef<Printer.Command> stopping = printer(Printer.Settings.of(data, new PrintStream(out, true),
        Clock.systemUTC(), m -> {
          throw new IllegalStateException("stopped here");
        }));
    stopping.tell(new Printer.Deliver(message("h1"), true, new byte[] {1}, probe.ref()));
    assertTrue(probe.receiveMessage() instanceof Printer.Failed);
    testKit.stop(stopping);
    assertEquals(0, StoredRecords.count(data, "inbox"));
    assertEquals(0, StoredRecords.count(data, "seen"));
    ActorRef<Printer.Command> again = printer(data, out);
    again.tell(new Printer.Deliver(message("h1"), true, new byte[] {1}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    assertEquals(1, out.toString(StandardCharsets.UTF_8).lines().count());
  }

  @Test
  void aNodeKilledBetweenRecordingAndCommitLeavesNothingAndTheRedeliveryPrintsOnce() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    killedWriter(data, "before-commit", "k1");
    assertEquals(0, StoredRecords.count(data, "inbox"), "rows of an uncommitted transaction survived");
    assertEquals(0, StoredRecords.count(data, "seen"));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ActorRef<Printer.Command> printer = printer(data, out);
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    printer.tell(new Printer.Deliver(message("k1"), true, new byte[] {1}, probe.ref())); // the broker redelivers
    probe.expectMessage(new Printer.Printed());
    printer.tell(new Printer.Deliver(message("k1"), true, new byte[] {1}, probe.ref())); // and again
    assertTrue(isReplay(probe.receiveMessage()));
    assertEquals(List.of(ALICE + " says: hi k1"), out.toString(StandardCharsets.UTF_8).lines().toList());
    assertEquals(1, StoredRecords.inbox(data).size());
  }

  @Test
  void aNodeKilledAfterTheCommitNeverPrintsTheRedeliveredCopy() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    killedWriter(data, "after-commit", "k2");
    assertEquals(1, StoredRecords.count(data, "inbox"));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ActorRef<Printer.Command> printer = printer(data, out);
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    printer.tell(new Printer.Deliver(message("k2"), true, new byte[] {2}, probe.ref())); // the unacked copy again
    assertTrue(isReplay(probe.receiveMessage()));
    assertEquals("", out.toString(StandardCharsets.UTF_8));
    assertEquals(1, StoredRecords.inbox(data).size());
  }

  /** Runs {@link StoreWriterProcess} to be killed at {@code point} after recording message {@code id}. */
  private static void killedWriter(Path data, String point, String id) throws Exception {
    String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", classPath, StoreWriterProcess.class.getName(), data.toString(), point, id, "hi " + id)
        .redirectErrorStream(true).start();
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the writer did not end");
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(137, process.exitValue(), output);
    assertTrue(output.contains("killed " + point), output);
  }

  @Test
  void anOlderNodesReplayLogIsTakenOverOnce() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    long until = Instant.now().plusSeconds(600).getEpochSecond();
    Files.writeString(data.resolve("replay.log"), "alice._device.example.test " + until + " old-1\n"
        + "{\"sender\":\"alice._device.example.test\",\"id\":\"json-2\",\"until\":" + until + "}\n"
        + "torn line\n");
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    ActorRef<Printer.Command> printer = printer(data);
    for (String id : List.of("old-1", "json-2")) {
      printer.tell(new Printer.Deliver(message(id), true, new byte[] {1}, probe.ref()));
      assertTrue(probe.receiveMessage() instanceof Printer.Quarantined, id);
    }
    assertTrue(Files.exists(data.resolve("replay.log.migrated")));
    assertFalse(Files.exists(data.resolve("replay.log")));
  }

  /** The ids in the replay window, as the database holds them. */
  private static List<String> seenIds(Path data) {
    return StoredRecords.query(data, "SELECT id FROM seen", row -> row.getString(1));
  }

  @Test
  void anIdIsKeptExactlyAsItWasAndCannotForgeOtherEntries() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    ActorRef<Printer.Command> first = printer(data);
    first.tell(new Printer.Deliver(message("x\nforged 99999999999 y"), true, new byte[] {5}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    testKit.stop(first);
    assertEquals(List.of("x\nforged 99999999999 y"), seenIds(data)); // one id, exactly as it was
    ActorRef<Printer.Command> second = printer(data);
    second.tell(new Printer.Deliver(message("x\nforged 99999999999 y"), true, new byte[] {5}, probe.ref()));
    assertTrue(probe.receiveMessage() instanceof Printer.Quarantined, "the id read back differs from the one kept");
    second.tell(new Printer.Deliver(message("y"), true, new byte[] {6}, probe.ref()));
    probe.expectMessage(new Printer.Printed()); // "forged ... y" did not become an entry
  }

  @Test
  void aLegacyMessageCopyIsRefusedAsReplayWithinTheWindowAcrossARestart() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    OpenedMessage legacy = new OpenedMessage(ALICE, BOB, "old format", null, "sha256-abcdef", null, Profile.LEGACY);
    ActorRef<Printer.Command> first = printer(data);
    first.tell(new Printer.Deliver(legacy, true, new byte[] {7}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    testKit.stop(first);
    ActorRef<Printer.Command> second = printer(data);
    second.tell(new Printer.Deliver(legacy, true, new byte[] {7}, probe.ref()));
    assertTrue(isReplay(probe.receiveMessage()));
  }

  @Test
  void theFilesHoldingMessagesAreReadableByTheOwnerOnly() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    Files.writeString(data.resolve("inbox.jsonl"), ""); // left by an older node, created 0644
    Files.setPosixFilePermissions(data.resolve("inbox.jsonl"), PosixFilePermissions.fromString("rw-r--r--"));
    ActorRef<Printer.Command> printer = printer(data);
    printer.tell(new Printer.Deliver(message("p1"), true, new byte[] {1}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    printer.tell(new Printer.Quarantine(new Refusal("NOT_A_JWE", "garbage", null), new byte[] {0}, probe.ref()));
    probe.receiveMessage();
    for (String file : List.of(MessageStore.FILE, MessageStore.FILE + "-wal", MessageStore.FILE + "-shm",
        "inbox.jsonl.migrated")) {
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve(file))), file);
    }
  }

  @Test
  void aQuarantinedPayloadIsKeptUpToTheLimitWithItsFullSize() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    Printer.Settings settings = new Printer.Settings(data, 8, NodeSettings.Records.defaults(),
        new PrintStream(new ByteArrayOutputStream(), true), Clock.systemUTC(), Printer.Hook.none());
    ActorRef<Printer.Command> printer = printer(settings);
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    printer.tell(new Printer.Quarantine(new Refusal("NOT_A_JWE", "garbage", ALICE), "0123456789abcdef".getBytes(),
        probe.ref()));
    probe.receiveMessage();
    printer.tell(new Printer.Quarantine(new Refusal("TOO_LARGE", "has 99 bytes", null), null, probe.ref()));
    probe.receiveMessage();
    var rows = StoredRecords.quarantine(data);
    assertEquals(List.of("cursor", "at", "reason", "detail", "sender", "payload-size", "payload", "payload-truncated"),
        List.copyOf(rows.get(0).keySet()));
    assertEquals(16L, rows.get(0).get("payload-size"));
    assertEquals("MDEyMzQ1Njc=", rows.get(0).get("payload")); // "01234567"
    assertEquals(true, rows.get(0).get("payload-truncated"));
    assertEquals(ALICE.toString(), rows.get(0).get("sender"));
    assertEquals(List.of("cursor", "at", "reason", "detail", "sender"), List.copyOf(rows.get(1).keySet()));
  }

  @Test
  void rejectionsAreLoggedOneByOneOnlyUpToTheLimitPerReasonAndMinute() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    NodeSettings.Records defaults = NodeSettings.Records.defaults();
    Printer.Settings settings = new Printer.Settings(data, 64, new NodeSettings.Records(defaults.inboxMaxBytes(),
        defaults.inboxMaxAge(), 0, Duration.ZERO, defaults.legacyReplayWindow(), 3),
        new PrintStream(new ByteArrayOutputStream(), true), Clock.systemUTC(), Printer.Hook.none());
    ActorRef<Printer.Command> printer = printer(settings);
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    String marker = "flood-" + System.nanoTime();
    for (int i = 0; i < 50; i++) {
      printer.tell(new Printer.Quarantine(new Refusal("EMPTY", marker, null), new byte[0], probe.ref()));
      probe.receiveMessage();
    }
    assertEquals(3, LogRecorder.linesWith("WARN", "rejected message", marker).size());
    TestProbe<Printer.Stats> stats = testKit.createTestProbe();
    printer.tell(new Printer.GetStats(stats.ref()));
    Printer.Stats counted = stats.receiveMessage();
    assertEquals(50L, counted.rejected().get("EMPTY"));
    assertEquals(47L, counted.warnLinesHeldBack());
    assertEquals(50, StoredRecords.count(data, "quarantine"));
    assertEquals(0L, StoredRecords.quarantine(data).get(0).get("payload-size"));
  }

  // ---- parking through the one writer ----------------------------------------------------------------

  @Test
  void aParkedPayloadIsReadableByItsIdAndDeletedWithItsDelivery() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    ActorRef<Printer.Command> printer = printer(data);
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    Instant parkedAt = Instant.parse("2026-03-01T10:00:00.123456Z");
    printer.tell(new Printer.Park(ALICE, new byte[] {1, 2, 3}, parkedAt, probe.ref()));
    long id = ((Printer.ParkedAs) probe.receiveMessage()).id();
    try (ParkedMessages parked = new ParkedMessages(data)) {
      assertEquals(List.of(new ParkedMessages.Parked(id, ALICE, 3, parkedAt)), parked.list());
      assertArrayEquals(new byte[] {1, 2, 3}, parked.read(id));
      printer.tell(new Printer.Deliver(message("parked-1"), true, new byte[] {1, 2, 3}, id, probe.ref()));
      probe.expectMessage(new Printer.Printed());
      assertEquals(List.of(), parked.list());
      assertNull(parked.read(id));
    }
  }

  @Test
  void aRedeliveredCopyParksOntoTheRowThereAndKeepsItsTime() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    ActorRef<Printer.Command> printer = printer(data);
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    Instant first = Instant.parse("2026-03-01T10:00:00Z");
    printer.tell(new Printer.Park(ALICE, new byte[] {4, 5}, first, probe.ref()));
    long id = ((Printer.ParkedAs) probe.receiveMessage()).id();
    printer.tell(new Printer.Park(ALICE, new byte[] {4, 5}, first.plusSeconds(60), probe.ref()));
    probe.expectMessage(new Printer.ParkedAs(id));
    printer.tell(new Printer.Park(ALICE, new byte[] {6}, first, probe.ref()));
    assertTrue(((Printer.ParkedAs) probe.receiveMessage()).id() > id, "another payload, another row");
    try (ParkedMessages parked = new ParkedMessages(data)) {
      assertEquals(first, parked.list().get(0).parkedAt());
      assertEquals(2, parked.list().size());
    }
    // The copy leaves a trace: a REPLAY record naming the parked row it was kept on.
    List<Map<String, Object>> quarantined = StoredRecords.quarantine(data);
    assertEquals(1, quarantined.size(), quarantined.toString());
    assertEquals("REPLAY", quarantined.get(0).get("reason"));
    assertTrue(String.valueOf(quarantined.get(0).get("detail")).contains("a copy of a message parked already (parked"
        + " message " + id + ")"), quarantined.toString());
  }

  @Test
  void aParkedPayloadIsDeletedWithItsQuarantineAndWithARefusedReplay() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    ActorRef<Printer.Command> printer = printer(data);
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    printer.tell(new Printer.Park(ALICE, new byte[] {7}, Instant.now(), probe.ref()));
    long refused = ((Printer.ParkedAs) probe.receiveMessage()).id();
    printer.tell(new Printer.Deliver(message("r1"), true, new byte[] {8}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    printer.tell(new Printer.Park(ALICE, new byte[] {8}, Instant.now(), probe.ref()));
    long replayed = ((Printer.ParkedAs) probe.receiveMessage()).id();

    printer.tell(new Printer.Quarantine(new Refusal(Refusal.SENDER_DNS_UNAVAILABLE, "gave up", ALICE),
        new byte[] {7}, refused, probe.ref()));
    assertTrue(probe.receiveMessage() instanceof Printer.Quarantined);
    printer.tell(new Printer.Deliver(message("r1"), true, new byte[] {8}, replayed, probe.ref()));
    assertTrue(isReplay(probe.receiveMessage()));
    try (ParkedMessages parked = new ParkedMessages(data)) {
      assertEquals(List.of(), parked.list());
    }
  }

  @Test
  void aParkedRowWithoutASenderGetsTheSenderLearnedForIt() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    ActorRef<Printer.Command> printer = printer(data);
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    printer.tell(new Printer.Park(null, new byte[] {9}, Instant.now(), probe.ref()));
    long id = ((Printer.ParkedAs) probe.receiveMessage()).id();
    try (ParkedMessages parked = new ParkedMessages(data)) {
      assertNull(parked.list().get(0).sender());
      printer.tell(new Printer.SetParkedSender(id, ALICE, probe.ref()));
      probe.expectMessage(new Printer.ParkedAs(id));
      assertEquals(ALICE, parked.list().get(0).sender());
    }
  }
}
