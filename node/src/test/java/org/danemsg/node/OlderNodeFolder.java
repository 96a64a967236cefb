package org.danemsg.node;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.OpenedMessage;
import org.danemsg.protocol.Profile;

/**
 * A data folder as the node before the message store left it, written the way that node wrote it
 * (its Printer's lines through its {@link JsonLines}, its ReplayCache's table {@code seen}, its
 * ParkedMessages' files): for the tests of the import ({@link OlderNodeFiles}).
 */
final class OlderNodeFolder {

  private final Path data;
  private final JsonLines inbox;
  private final JsonLines quarantine;

  /** A folder whose quarantine file is moved to {@code quarantine.jsonl.1} at {@code quarantineMaxBytes}. */
  OlderNodeFolder(Path data, long quarantineMaxBytes) throws IOException {
    this.data = data;
    this.inbox = new JsonLines(data.resolve("inbox.jsonl"));
    this.quarantine = new JsonLines(data.resolve("quarantine.jsonl"), quarantineMaxBytes);
  }

  /** Appends a delivered message's line as that node's Printer did. */
  void delivered(OpenedMessage m, boolean dnssecValidated, Instant now) throws IOException {
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("received-at", now.truncatedTo(ChronoUnit.MICROS).toString());
    line.put("sender", m.sender().toString());
    line.put("recipient", m.recipient().toString());
    line.put("sent-at", m.sentAt() == null ? null : m.sentAt().toString());
    line.put("expires-at", m.expiresAt() == null ? null : m.expiresAt().toString());
    line.put("id", m.id());
    line.put("profile", m.profile().name().toLowerCase(java.util.Locale.ROOT));
    line.put("dnssec", dnssecValidated ? "validated" : "off");
    if (m.profile() == Profile.LEGACY) {
      line.put("replay-protection", "by digest: the legacy format carries no expiry or recipient binding");
    }
    line.put("text", m.text());
    inbox.append(line);
  }

  /** Appends a refused message's line as that node's Printer did; true when the file was moved aside first. */
  boolean refused(Refusal refusal, byte[] payload, int payloadLimit, Instant now) throws IOException {
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("at", now.truncatedTo(ChronoUnit.MILLIS).toString());
    line.put("reason", refusal.reason());
    line.put("detail", refusal.detail());
    line.put("sender", refusal.sender() == null ? null : refusal.sender().toString());
    if (payload != null) {
      int kept = Math.min(payload.length, payloadLimit);
      line.put("payload-size", payload.length);
      line.put("payload", Base64.getEncoder().encodeToString(Arrays.copyOf(payload, kept)));
      line.put("payload-truncated", kept < payload.length);
    }
    return quarantine.append(line);
  }

  /** Appends the start of a line, as a node that died in the middle of a write left it. */
  void tornInboxLine() throws IOException {
    Files.writeString(data.resolve("inbox.jsonl"), "{\"received-at\":\"2026-", StandardOpenOption.APPEND);
  }

  /** Parks a payload as that node's ParkedMessages did: {@code parked/<sender>/<sha256>.msg}, or flat without a sender. */
  Path parked(DnsName sender, byte[] payload, Instant parkedAt) throws Exception {
    Path dir = sender == null ? data.resolve("parked") : data.resolve("parked").resolve(sender.canonical());
    Files.createDirectories(dir);
    Path file = dir.resolve(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(payload)) + ".msg");
    try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      out.write(ByteBuffer.wrap(payload));
    }
    Files.setLastModifiedTime(file, FileTime.from(parkedAt));
    return file;
  }

  /** The replay window table of the node before: {@code seen} only, no auto-vacuum, no version. */
  void seen(String sender, String id, long until) throws Exception {
    try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("danemsg.db"));
        Statement s = db.createStatement()) {
      s.execute("PRAGMA journal_mode=WAL");
      s.execute("CREATE TABLE IF NOT EXISTS seen (sender TEXT NOT NULL, id TEXT NOT NULL, until INTEGER NOT NULL,"
          + " PRIMARY KEY (sender, id)) WITHOUT ROWID");
      s.execute("CREATE INDEX IF NOT EXISTS seen_until ON seen (until)");
      try (var insert = db.prepareStatement("INSERT OR REPLACE INTO seen (sender, id, until) VALUES (?, ?, ?)")) {
        insert.setString(1, sender);
        insert.setString(2, id);
        insert.setLong(3, until);
        insert.executeUpdate();
      }
    }
  }

  /** Puts what was appended on disk and closes the files. */
  void close() throws IOException {
    inbox.force();
    quarantine.force();
    inbox.close();
    quarantine.close();
  }
}
