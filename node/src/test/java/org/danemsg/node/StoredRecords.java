package org.danemsg.node;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.sqlite.SQLiteConfig;

/**
 * The inbox and quarantine of a node's database as tests read them: over a read-only connection (the
 * node may be writing), each row as the map of the JSON members {@code tools inbox|quarantine --json}
 * prints (those of the inbox.jsonl / quarantine.jsonl lines of the node before, plus {@code cursor}).
 */
final class StoredRecords {

  private StoredRecords() {}

  /** The inbox rows, oldest first; empty when the node has not created its database yet. */
  static List<Map<String, Object>> inbox(Path dataPath) {
    return query(dataPath, "SELECT cursor, received_at, sender, recipient, sent_at, expires_at, id, profile,"
        + " dnssec, text FROM inbox ORDER BY cursor", row -> {
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("cursor", row.getLong(1));
          m.put("received-at", time(row, 2));
          m.put("sender", row.getString(3));
          m.put("recipient", row.getString(4));
          m.put("sent-at", time(row, 5));
          m.put("expires-at", time(row, 6));
          m.put("id", row.getString(7));
          m.put("profile", row.getString(8));
          m.put("dnssec", row.getString(9));
          if ("legacy".equals(row.getString(8))) {
            m.put("replay-protection", "by digest: the legacy format carries no expiry or recipient binding");
          }
          m.put("text", row.getString(10));
          return m;
        });
  }

  /** The quarantine rows, oldest first. */
  static List<Map<String, Object>> quarantine(Path dataPath) {
    return query(dataPath, "SELECT cursor, at, reason, detail, sender, payload, payload_size FROM quarantine"
        + " ORDER BY cursor", row -> {
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("cursor", row.getLong(1));
          m.put("at", time(row, 2));
          m.put("reason", row.getString(3));
          m.put("detail", row.getString(4));
          m.put("sender", row.getString(5));
          byte[] payload = row.getBytes(6);
          long size = row.getLong(7);
          if (!row.wasNull()) { // a payload of 0 bytes may read back as null
            payload = payload == null ? new byte[0] : payload;
            m.put("payload-size", size);
            m.put("payload", Base64.getEncoder().encodeToString(payload));
            m.put("payload-truncated", payload.length < size);
          }
          return m;
        });
  }

  /** Rows of {@code table}. */
  static long count(Path dataPath, String table) {
    List<Long> n = query(dataPath, "SELECT COUNT(*) FROM " + table, row -> row.getLong(1));
    return n.isEmpty() ? 0 : n.get(0);
  }

  /** A read-only connection to the node's database. */
  static Connection readOnly(Path dataPath) throws SQLException {
    SQLiteConfig config = new SQLiteConfig();
    config.setReadOnly(true);
    config.setBusyTimeout(10_000);
    return DriverManager.getConnection("jdbc:sqlite:" + dataPath.resolve(MessageStore.FILE), config.toProperties());
  }

  /** A connection that may write (tests that change what a stopped node left). */
  static Connection writable(Path dataPath) throws SQLException {
    Connection db = DriverManager.getConnection("jdbc:sqlite:" + dataPath.resolve(MessageStore.FILE));
    try (Statement s = db.createStatement()) {
      s.execute("PRAGMA busy_timeout=10000");
    }
    return db;
  }

  @FunctionalInterface
  interface Row<T> {
    T read(ResultSet row) throws SQLException;
  }

  static <T> List<T> query(Path dataPath, String sql, Row<T> each) {
    List<T> rows = new ArrayList<>();
    if (!Files.exists(dataPath.resolve(MessageStore.FILE))) {
      return rows;
    }
    try (Connection db = readOnly(dataPath); Statement s = db.createStatement(); ResultSet row = s.executeQuery(sql)) {
      while (row.next()) {
        rows.add(each.read(row));
      }
    } catch (SQLException e) {
      if (e.getMessage() != null && e.getMessage().contains("no such table")) {
        return rows; // the node is creating its tables right now
      }
      throw new UncheckedIOException(new java.io.IOException(e));
    }
    return rows;
  }

  private static String time(ResultSet row, int column) throws SQLException {
    long micros = row.getLong(column);
    if (row.wasNull()) {
      return null;
    }
    return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000)
        .toString();
  }
}
