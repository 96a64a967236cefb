package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.OpenedMessage;
import org.danemsg.protocol.Profile;
import org.jose4j.json.JsonUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The import of a data folder the node before the message store left, written as that node wrote it. */
class OlderNodeFilesTest {

  private static final DnsName ALICE = DnsName.parse("alice._device.example.test");
  private static final DnsName BOB = DnsName.parse("bob._device.example.test");

  private static MessageStore open(Path data) throws Exception {
    return MessageStore.open(data, NodeSettings.Records.defaults(), 4096, Clock.systemUTC());
  }

  private static OpenedMessage message(String id, String text) {
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    return new OpenedMessage(ALICE, BOB, text, now, id, now.plusSeconds(3600), Profile.NATIVE);
  }

  /** The JSON objects of a file's lines. */
  private static List<Map<String, Object>> lines(Path file) throws Exception {
    List<Map<String, Object>> all = new ArrayList<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      if (line.startsWith("{") && line.endsWith("}")) {
        all.add(JsonUtil.parseJson(line));
      }
    }
    return all;
  }

  private static List<Map<String, Object>> withoutCursor(List<Map<String, Object>> rows) {
    return rows.stream().map(row -> {
      Map<String, Object> copy = new LinkedHashMap<>(row);
      copy.remove("cursor");
      return copy;
    }).toList();
  }

  @Test
  void theInboxLinesBecomeRowsInOrderWithTheSameMembers(@TempDir Path data) throws Exception {
    OlderNodeFolder older = new OlderNodeFolder(data, 0);
    Instant received = Instant.parse("2026-02-03T04:05:06.123456Z");
    older.delivered(message("i1", "first"), true, received);
    older.delivered(message("i2", "second \u202e\u001b[2J"), false, received.plusSeconds(1));
    older.delivered(new OpenedMessage(ALICE, BOB, "legacy one", null, "sha256-l1", null, Profile.LEGACY), true,
        received.plusSeconds(2));
    older.close();
    List<Map<String, Object>> written = lines(data.resolve("inbox.jsonl"));

    open(data).close();

    assertEquals(written, withoutCursor(StoredRecords.inbox(data)));
    assertFalse(Files.exists(data.resolve("inbox.jsonl")));
    assertEquals(written, lines(data.resolve("inbox.jsonl.migrated")));
    assertFalse(LogRecorder.linesWith("INFO", "migrated [inbox.jsonl]: 3 message(s) into danemsg.db (table inbox),"
        + " 0 unreadable line(s) skipped").isEmpty());
  }

  @Test
  void anImportedMessageRedeliveredAfterTheUpgradeIsAReplay(@TempDir Path data) throws Exception {
    // The node before could die between its inbox line and its replay window: the line carries the id.
    OlderNodeFolder older = new OlderNodeFolder(data, 0);
    older.delivered(message("late-1", "only in the inbox"), true, Instant.now());
    older.close();
    try (MessageStore store = open(data)) {
      assertTrue(store.seen(ALICE.toString(), "late-1"));
    }
  }

  @Test
  void aTornLastLineIsSkippedAndCounted(@TempDir Path data) throws Exception {
    OlderNodeFolder older = new OlderNodeFolder(data, 0);
    older.delivered(message("t1", "whole"), true, Instant.now());
    older.close();
    older.tornInboxLine();
    open(data).close();
    assertEquals(1, StoredRecords.inbox(data).size());
    assertFalse(LogRecorder.linesWith("INFO", "migrated [inbox.jsonl]: 1 message(s)", "1 unreadable line(s) skipped")
        .isEmpty());
  }

  @Test
  void bothQuarantineGenerationsBecomeRowsOldestFirst(@TempDir Path data) throws Exception {
    OlderNodeFolder older = new OlderNodeFolder(data, 600); // small: the file is moved aside to .1
    Instant at = Instant.parse("2026-02-03T04:05:06.789Z");
    boolean rotated = false;
    for (int i = 0; i < 6; i++) {
      rotated |= older.refused(new Refusal("NOT_A_JWE", "garbage " + i, i % 2 == 0 ? ALICE : null),
          ("payload " + i).getBytes(StandardCharsets.UTF_8), 4, at.plusSeconds(i));
    }
    older.refused(new Refusal("TOO_LARGE", "has 99 bytes", null), null, 4, at.plusSeconds(6));
    older.close();
    assertTrue(rotated, "the older node's quarantine was never moved aside");
    List<Map<String, Object>> written = new ArrayList<>(lines(data.resolve("quarantine.jsonl.1")));
    written.addAll(lines(data.resolve("quarantine.jsonl")));

    open(data).close();

    assertEquals(written, withoutCursor(StoredRecords.quarantine(data)));
    assertEquals("garbage 0", StoredRecords.quarantine(data).get(0).get("detail"));
    assertTrue(Files.exists(data.resolve("quarantine.jsonl.1.migrated")));
    assertTrue(Files.exists(data.resolve("quarantine.jsonl.migrated")));
    assertFalse(LogRecorder.linesWith("INFO", "migrated [quarantine.jsonl.1, quarantine.jsonl]: 7 refused message(s)")
        .isEmpty());
  }

  @Test
  void filesImportedByAStartThatDiedBeforeRenamingThemAreNotImportedTwice(@TempDir Path data) throws Exception {
    OlderNodeFolder older = new OlderNodeFolder(data, 0);
    older.delivered(message("d1", "once"), true, Instant.now());
    older.refused(new Refusal("EMPTY", "empty", null), new byte[0], 4096, Instant.now());
    older.close();
    open(data).close();
    // As if the start had died after its commit and before the renames.
    Files.move(data.resolve("inbox.jsonl.migrated"), data.resolve("inbox.jsonl"));
    Files.move(data.resolve("quarantine.jsonl.migrated"), data.resolve("quarantine.jsonl"));
    open(data).close();
    assertEquals(1, StoredRecords.count(data, "inbox"));
    assertEquals(1, StoredRecords.count(data, "quarantine"));
    assertTrue(Files.exists(data.resolve("inbox.jsonl.migrated")));
  }

  @Test
  void parkedFilesBecomeRowsWithTheirSenderAndTimeAndAreDeleted(@TempDir Path data) throws Exception {
    OlderNodeFolder older = new OlderNodeFolder(data, 0);
    Instant first = Instant.parse("2026-02-03T04:05:06Z");
    older.parked(ALICE, new byte[] {1, 2}, first);
    older.parked(null, new byte[] {3}, first.plusSeconds(5)); // the flat form of a still older node
    Files.writeString(data.resolve("parked").resolve(ALICE.canonical()).resolve(".123.tmp"), "half written");
    older.close();

    open(data).close();

    try (ParkedMessages parked = new ParkedMessages(data)) {
      List<ParkedMessages.Parked> rows = parked.list();
      assertEquals(2, rows.size(), rows.toString());
      ParkedMessages.Parked withSender = rows.stream().filter(p -> p.sender() != null).findFirst().orElseThrow();
      ParkedMessages.Parked flat = rows.stream().filter(p -> p.sender() == null).findFirst().orElseThrow();
      assertEquals(ALICE, withSender.sender());
      assertEquals(first, withSender.parkedAt());
      assertArrayEquals(new byte[] {1, 2}, parked.read(withSender.id()));
      assertNull(flat.sender());
      assertEquals(first.plusSeconds(5), flat.parkedAt());
      assertEquals(1, flat.size());
    }
    assertFalse(Files.exists(data.resolve("parked")), "the parked folder is left behind");
    assertFalse(LogRecorder.linesWith("INFO", "migrated parked/: 2 parked payload(s)", "1 of them without a sender")
        .isEmpty());
  }

  @Test
  void aDataFolderWithoutOlderFilesLogsNoMigration(@TempDir Path data) throws Exception {
    int before = LogRecorder.linesWith("migrated").size();
    open(data).close();
    open(data).close();
    assertEquals(before, LogRecorder.linesWith("migrated").size());
  }
}
