package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.OpenedMessage;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.ManualClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The node's database: retention in bytes and age, the schema's version, cursors. Real SQLite, a manual clock. */
@ExtendWith(TestKitJUnit5Extension.class)
class MessageStoreTest {

  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final DnsName ALICE = DnsName.parse("alice._device.example.test");
  private static final DnsName BOB = DnsName.parse("bob._device.example.test");
  private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");

  private static NodeSettings.Records records(long inboxBytes, Duration inboxAge, long quarantineBytes,
      Duration quarantineAge) {
    return new NodeSettings.Records(inboxBytes, inboxAge, quarantineBytes, quarantineAge, Duration.ofDays(7), 20);
  }

  private static OpenedMessage message(String id, Instant at, Duration lifetime) {
    return new OpenedMessage(ALICE, BOB, "text of " + id, at, id, at.plus(lifetime), Profile.NATIVE);
  }

  private static List<Long> cursors(Path data, String table) {
    return StoredRecords.query(data, "SELECT cursor FROM " + table + " ORDER BY cursor", row -> row.getLong(1));
  }

  private static long sizes(Path data, String table) {
    return StoredRecords.query(data, "SELECT COALESCE(SUM(size), 0) FROM " + table, row -> row.getLong(1)).get(0);
  }

  @Test
  void theSeenRowIsTheReplayCheckAndAnExpiredOneIsRenewed(@TempDir Path data) throws Exception {
    ManualClock clock = new ManualClock(START);
    try (MessageStore store = MessageStore.open(data, records(0, Duration.ZERO, 0, Duration.ZERO), 4096, clock)) {
      OpenedMessage m = message("once", clock.instant(), Duration.ofMinutes(5));
      assertEquals(MessageStore.Delivery.RECORDED, store.recordDelivery(m, true, clock.instant(), 0));
      assertEquals(MessageStore.Delivery.REPLAY, store.recordDelivery(m, true, clock.instant(), 0),
          "the same id earlier in the open batch");
      store.commit();
      assertEquals(MessageStore.Delivery.REPLAY, store.recordDelivery(m, true, clock.instant(), 0));
      assertThrows(MessageStore.Stopped.class, () -> store.recordDelivery(message("stopped", clock.instant(),
          Duration.ofMinutes(5)), true, clock.instant(), 0, stopping -> {
            throw new IllegalStateException("stopped here");
          }));
      assertFalse(store.seen(ALICE.toString(), "stopped"), "a stopped delivery left its seen row");
      store.commit();
      assertEquals(1, StoredRecords.count(data, "inbox"), "a replay or a stopped delivery wrote an inbox row");
      clock.advance(Duration.ofMinutes(5).plusSeconds(MessageStore.SKEW_SECONDS + 1));
      assertFalse(store.seen(ALICE.toString(), "once"));
      OpenedMessage later = message("once", clock.instant(), Duration.ofMinutes(5));
      assertEquals(MessageStore.Delivery.RECORDED, store.recordDelivery(later, true, clock.instant(), 0),
          "an id whose window had passed");
      assertEquals(MessageStore.Delivery.REPLAY, store.recordDelivery(later, true, clock.instant(), 0));
      store.commit();
    }
    assertEquals(2, StoredRecords.count(data, "inbox"));
    assertEquals(1, StoredRecords.count(data, "seen"));
  }

  @Test
  void theOldestQuarantineRowsAreDeletedUntilTheSumOfSizesIsUnderTheBound(@TempDir Path data) throws Exception {
    ManualClock clock = new ManualClock(START);
    long bound = 20_000;
    try (MessageStore store = MessageStore.open(data, records(0, Duration.ZERO, bound, Duration.ZERO), 4096, clock)) {
      for (int i = 0; i < 100; i++) {
        store.recordRefusal(new Refusal("NOT_A_JWE", "garbage " + i, null), new byte[500], clock.instant(), 0);
      }
      store.commit();
      assertTrue(store.overBytes());
      List<MessageStore.Trim> trims = store.enforceRetention();
      assertEquals(1, trims.size(), trims.toString());
      MessageStore.Trim trim = trims.get(0);
      assertFalse(trim.byAge());
      assertEquals(100, trim.rows() + trim.rowsLeft());
      assertFalse(store.overBytes());
    }
    long kept = sizes(data, "quarantine");
    assertTrue(kept <= bound && kept > bound / 2, "kept " + kept);
    List<Long> left = cursors(data, "quarantine");
    assertEquals(100L, left.get(left.size() - 1), "the newest rows are the ones kept");
    assertEquals(left.get(0) + left.size() - 1, (long) left.get(left.size() - 1), "the oldest went first");
  }

  @Test
  void inboxRowsOlderThanTheAgeAreDeletedButTheReplayWindowKeepsTheirIds(@TempDir Path data) throws Exception {
    ManualClock clock = new ManualClock(START);
    try (MessageStore store = MessageStore.open(data, records(0, Duration.ofDays(90), 0, Duration.ZERO), 4096,
        clock)) {
      // An expiry past the inbox's age: the id must stay seen after the row is gone.
      store.recordDelivery(message("old", clock.instant(), Duration.ofDays(120)), true, clock.instant(), 0);
      store.commit();
      clock.advance(Duration.ofDays(60));
      store.recordDelivery(message("young", clock.instant(), Duration.ofDays(7)), true, clock.instant(), 0);
      store.commit();
      clock.advance(Duration.ofDays(31));
      List<MessageStore.Trim> trims = store.enforceRetention();
      assertEquals(1, trims.size(), trims.toString());
      assertTrue(trims.get(0).byAge());
      assertEquals(1, trims.get(0).rows());
      assertEquals(List.of("young"), StoredRecords.query(data, "SELECT id FROM inbox", row -> row.getString(1)));
      assertTrue(store.seen(ALICE.toString(), "old"), "retention cut the replay window");
    }
  }

  @Test
  void aPrinterStartedLongAfterTheLastMessageDeletesWhatIsTooOldAndLogsIt(@TempDir Path data) throws Exception {
    ManualClock clock = new ManualClock(START);
    NodeSettings.Records records = records(256L << 20, Duration.ofDays(90), 16L << 20, Duration.ofDays(30));
    try (MessageStore store = MessageStore.open(data, records, 4096, clock)) {
      for (int i = 0; i < 3; i++) {
        store.recordDelivery(message("aged-" + i, clock.instant(), Duration.ofDays(7)), true, clock.instant(), 0);
        store.recordRefusal(new Refusal("EMPTY", "aged", null), new byte[0], clock.instant(), 0);
      }
      store.commit();
    }
    clock.advance(Duration.ofDays(100));
    ActorRef<Printer.Command> printer = testKit.spawn(Printer.create(new Printer.Settings(data, 4096, records,
        new PrintStream(new ByteArrayOutputStream(), true), clock, Printer.Hook.none())));
    TestProbe<Printer.Stats> stats = testKit.createTestProbe();
    printer.tell(new Printer.GetStats(stats.ref()));
    assertEquals(6L, stats.receiveMessage().deletedByRetention());
    assertEquals(0, StoredRecords.count(data, "inbox"));
    assertEquals(0, StoredRecords.count(data, "quarantine"));
    assertFalse(LogRecorder.linesWith("INFO", "retention: deleted 3 inbox record(s) older than 90 days",
        "records.inbox-max-age").isEmpty());
    assertFalse(LogRecorder.linesWith("INFO", "retention: deleted 3 quarantine record(s) older than 30 days").isEmpty());
  }

  @Test
  void aPrinterKeepsTheQuarantineUnderItsBytesAndSaysSoOnceAMinute(@TempDir Path data) throws Exception {
    ManualClock clock = new ManualClock(START);
    NodeSettings.Records records = records(0, Duration.ZERO, 30_000, Duration.ZERO);
    ActorRef<Printer.Command> printer = testKit.spawn(Printer.create(new Printer.Settings(data, 4096, records,
        new PrintStream(new ByteArrayOutputStream(), true), clock, Printer.Hook.none())));
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    String marker = "bytes-" + System.nanoTime();
    for (int i = 0; i < 300; i++) {
      printer.tell(new Printer.Quarantine(new Refusal("NOT_A_JWE", marker, null), new byte[1000], probe.ref()));
      probe.receiveMessage();
    }
    TestProbe<Printer.Stats> stats = testKit.createTestProbe();
    printer.tell(new Printer.GetStats(stats.ref())); // answered after the last commit's retention
    Printer.Stats counted = stats.receiveMessage();
    long kept = sizes(data, "quarantine");
    assertTrue(kept <= 30_000, "kept " + kept);
    assertEquals(300L, counted.rejected().get("NOT_A_JWE"));
    assertEquals(300L, counted.deletedByRetention() + StoredRecords.count(data, "quarantine"));
    assertEquals(1, LogRecorder.linesWith("WARN", "retention: deleted the", "oldest quarantine record(s)",
        "records.quarantine-max-bytes 30000 bytes").size(), "one line for the first trim, the rest summed up later");
  }

  @Test
  void theDatabaseFileGivesTheSpaceOfDeletedRowsBack(@TempDir Path data) throws Exception {
    ManualClock clock = new ManualClock(START);
    try (MessageStore store = MessageStore.open(data, records(0, Duration.ofDays(1), 0, Duration.ZERO), 4096,
        clock)) {
      for (int i = 0; i < 2000; i++) {
        store.recordDelivery(new OpenedMessage(ALICE, BOB, "x".repeat(2000), clock.instant(), "big-" + i,
            clock.instant().plusSeconds(60), Profile.NATIVE), true, clock.instant(), 0);
      }
      store.commit();
      long before = pageCount(data);
      clock.advance(Duration.ofDays(2));
      store.enforceRetention();
      long after = pageCount(data);
      assertTrue(after < before / 4, "pages before " + before + ", after " + after);
    }
  }

  private static long pageCount(Path data) {
    return StoredRecords.query(data, "PRAGMA page_count", row -> row.getLong(1)).get(0);
  }

  @Test
  void aCursorIsNeverReusedEvenAfterEveryRowWasDeleted(@TempDir Path data) throws Exception {
    ManualClock clock = new ManualClock(START);
    NodeSettings.Records records = records(0, Duration.ofDays(1), 0, Duration.ZERO);
    try (MessageStore store = MessageStore.open(data, records, 4096, clock)) {
      for (int i = 0; i < 3; i++) {
        store.recordDelivery(message("c" + i, clock.instant(), Duration.ofMinutes(5)), true, clock.instant(), 0);
      }
      store.commit();
      clock.advance(Duration.ofDays(2));
      store.enforceRetention();
    }
    try (MessageStore store = MessageStore.open(data, records, 4096, clock)) {
      store.recordDelivery(message("c3", clock.instant(), Duration.ofMinutes(5)), true, clock.instant(), 0);
      store.commit();
    }
    assertEquals(List.of(4L), cursors(data, "inbox"));
  }

  @Test
  void aDatabaseOfANewerNodeIsRefusedWithOneLine(@TempDir Path data) throws Exception {
    try (MessageStore store = MessageStore.open(data, NodeSettings.Records.defaults(), 4096, new ManualClock(START))) {
      // created at this version
    }
    try (var db = StoredRecords.writable(data); Statement s = db.createStatement()) {
      s.execute("PRAGMA user_version=" + (MessageStore.SCHEMA_VERSION + 1));
    }
    IOException e = assertThrows(IOException.class,
        () -> MessageStore.open(data, NodeSettings.Records.defaults(), 4096, new ManualClock(START)));
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    assertTrue(e.getMessage().contains("schema version 2, newer than this node's (1)"), e.getMessage());
  }

  @Test
  void aFileThatIsNotADatabaseIsRefusedWithOneLine(@TempDir Path data) throws Exception {
    Files.writeString(data.resolve(MessageStore.FILE), "not a database, ".repeat(40));
    IOException e = assertThrows(IOException.class,
        () -> MessageStore.open(data, NodeSettings.Records.defaults(), 4096, new ManualClock(START)));
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    assertTrue(e.getMessage().contains("not a database"), e.getMessage());
  }

  @Test
  void theReplayWindowOfTheNodeBeforeIsUpgradedInPlaceAndCanShrink(@TempDir Path data) throws Exception {
    long until = START.plusSeconds(3600).getEpochSecond();
    new OlderNodeFolder(data, 0).seen("alice._device.example.test", "kept-1", until);
    ManualClock clock = new ManualClock(START);
    try (MessageStore store = MessageStore.open(data, NodeSettings.Records.defaults(), 4096, clock)) {
      assertTrue(store.seen(ALICE.toString(), "kept-1"));
    }
    assertEquals(List.of(2), StoredRecords.query(data, "PRAGMA auto_vacuum", row -> row.getInt(1)));
    assertEquals(List.of(MessageStore.SCHEMA_VERSION),
        StoredRecords.query(data, "PRAGMA user_version", row -> row.getInt(1)));
  }
}
