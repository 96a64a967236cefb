package org.danemsg.tools;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.danemsg.protocol.SafeText;
import org.sqlite.SQLiteConfig;

/**
 * What a node recorded, read from its database {@code DATA_PATH/danemsg.db} over a read-only
 * connection: safe while the node runs and writes (SQLite's WAL lets readers read the last commit).
 * The tools do not depend on the node: this class knows the tables {@code inbox} and
 * {@code quarantine} as the node's schema version {@value #SCHEMA_VERSION} defines them (times in
 * microseconds since 1970 UTC), and gives each row as the members of the JSON lines the node wrote
 * before ({@code inbox.jsonl}, {@code quarantine.jsonl}) plus {@code cursor}, the row's number: it
 * only grows, is never reused, and survives restarts, so a reader follows a table by it.
 */
public final class NodeRecords implements AutoCloseable {

  /** The database's file name in the node's data folder. */
  public static final String FILE = "danemsg.db";
  /** The version of the node's schema these tools read ({@code PRAGMA user_version}). */
  public static final int SCHEMA_VERSION = 1;

  /** The records a reader can follow. */
  public enum Kind {
    /** Delivered messages. */
    INBOX("inbox", "SELECT cursor, received_at, sender, recipient, sent_at, expires_at, id, profile, dnssec, text"
        + " FROM inbox WHERE cursor > ? ORDER BY cursor LIMIT ?"),
    /** Refused messages, with the first bytes of their payloads. */
    QUARANTINE("quarantine", "SELECT cursor, at, reason, detail, sender, payload, payload_size FROM quarantine"
        + " WHERE cursor > ? ORDER BY cursor LIMIT ?");

    private final String table;
    private final String query;

    Kind(String table, String query) {
      this.table = table;
      this.query = query;
    }

    /** The table's name. */
    public String table() {
      return table;
    }
  }

  /** Why a data folder's records cannot be read: one line for the user. */
  public static final class Unreadable extends Exception {
    private static final long serialVersionUID = 1L;

    Unreadable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * A delivered message as the bench needs it.
   *
   * @param receivedAtMicros when the node handled it, in microseconds since 1970 UTC
   */
  public record Delivered(long cursor, long receivedAtMicros, String text) {}

  private final Path file;
  private final Connection db;
  /** The query of {@link #delivered}, once it was asked; closed with the connection. */
  private PreparedStatement deliveredQuery;

  private NodeRecords(Path file, Connection db) {
    this.file = file;
    this.db = db;
  }

  /**
   * Opens the database of the node whose data folder is {@code dataPath}, read-only, and checks it is
   * one of the version these tools read.
   *
   * @throws Unreadable when there is no such database, it is no node's, or a newer node's
   */
  public static NodeRecords open(Path dataPath) throws Unreadable {
    if (!Files.isDirectory(dataPath)) {
      throw new Unreadable("data folder " + dataPath + " does not exist (give the node's DATA_PATH)", null);
    }
    Path file = dataPath.resolve(FILE);
    if (!Files.exists(file)) {
      throw new Unreadable("no node database in " + dataPath + ": " + file.getFileName() + " does not exist (is it"
          + " the node's DATA_PATH? the node creates it at start)", null);
    }
    Connection db;
    try {
      SQLiteConfig config = new SQLiteConfig();
      config.setReadOnly(true);
      config.setBusyTimeout(10_000);
      db = DriverManager.getConnection("jdbc:sqlite:" + file.toAbsolutePath(), config.toProperties());
    } catch (SQLException e) {
      throw new Unreadable("cannot open " + file + ": " + describe(e) + " (is it readable by this user?)", e);
    }
    try {
      int version = intQuery(db, "PRAGMA user_version");
      if (version > SCHEMA_VERSION) {
        throw new Unreadable(file + " has schema version " + version + ", newer than these tools read ("
            + SCHEMA_VERSION + "): use the tools of the node that wrote it", null);
      }
      if (version < SCHEMA_VERSION || !hasTable(db, "inbox") || !hasTable(db, "quarantine")) {
        throw new Unreadable(file + " is not a node database these tools read (schema version " + version
            + ", no inbox table; a node from before the message store? starting the current node once imports"
            + " its files)", null);
      }
      return new NodeRecords(file, db);
    } catch (SQLException e) {
      close(db);
      throw new Unreadable(file + " is not a node database: " + describe(e), e);
    } catch (Unreadable e) {
      close(db);
      throw e;
    }
  }

  /** Whether {@code dataPath} holds a node database these tools read (for a reader that waits for it). */
  public static boolean readable(Path dataPath) {
    try (NodeRecords records = open(dataPath)) {
      return true;
    } catch (Unreadable e) {
      return false;
    }
  }

  /**
   * The rows of {@code kind} after {@code cursor}, oldest first, at most {@code limit}, each as the
   * members of the node's JSON lines plus {@code cursor}.
   */
  public List<Map<String, Object>> rows(Kind kind, long cursor, int limit) throws Unreadable {
    try (PreparedStatement s = db.prepareStatement(kind.query)) {
      s.setLong(1, cursor);
      s.setInt(2, limit);
      List<Map<String, Object>> rows = new ArrayList<>();
      try (ResultSet row = s.executeQuery()) {
        while (row.next()) {
          rows.add(kind == Kind.INBOX ? inboxRow(row) : quarantineRow(row));
        }
      }
      return rows;
    } catch (SQLException e) {
      throw new Unreadable("reading " + kind.table + " in " + file + ": " + describe(e), e);
    }
  }

  /** Delivered messages after {@code cursor}, oldest first, at most {@code limit}: what the bench times. */
  public List<Delivered> delivered(long cursor, int limit) throws Unreadable {
    try {
      if (deliveredQuery == null) {
        // prepared once: the bench asks every millisecond, and preparing cost more than the query
        deliveredQuery = db.prepareStatement(
            "SELECT cursor, received_at, text FROM inbox WHERE cursor > ? ORDER BY cursor LIMIT ?");
      }
      PreparedStatement s = deliveredQuery;
      s.setLong(1, cursor);
      s.setInt(2, limit);
      List<Delivered> rows = new ArrayList<>();
      try (ResultSet row = s.executeQuery()) {
        while (row.next()) {
          rows.add(new Delivered(row.getLong(1), row.getLong(2), row.getString(3)));
        }
      }
      return rows;
    } catch (SQLException e) {
      throw new Unreadable("reading inbox in " + file + ": " + describe(e), e);
    }
  }

  /** The newest cursor of {@code kind} (0 when the table is empty). */
  public long lastCursor(Kind kind) throws Unreadable {
    try {
      return longQuery(db, "SELECT COALESCE(MAX(cursor), 0) FROM " + kind.table);
    } catch (SQLException e) {
      throw new Unreadable("reading " + kind.table + " in " + file + ": " + describe(e), e);
    }
  }

  /** The rows of {@code kind}. */
  public long count(Kind kind) throws Unreadable {
    try {
      return longQuery(db, "SELECT COUNT(*) FROM " + kind.table);
    } catch (SQLException e) {
      throw new Unreadable("reading " + kind.table + " in " + file + ": " + describe(e), e);
    }
  }

  /**
   * A row as one line a terminal can show safely ({@link SafeText#line}): {@code <received-at>
   * <sender> says: <text>} with the node's labels for DNSSEC off and the legacy format, or
   * {@code <at> <reason> <sender or -> <detail>}.
   */
  public static String textLine(Kind kind, Map<String, Object> row) {
    if (kind == Kind.INBOX) {
      return row.get("received-at") + " " + SafeText.line((String) row.get("sender")) + " says: "
          + SafeText.line((String) row.get("text"))
          + ("off".equals(row.get("dnssec")) ? " [UNAUTHENTICATED: DNSSEC off]" : "")
          + ("legacy".equals(row.get("profile")) ? " [legacy]" : "");
    }
    return row.get("at") + " " + safe((String) row.get("reason")) + " "
        + (row.get("sender") == null ? "-" : SafeText.line((String) row.get("sender"))) + " "
        + safe((String) row.get("detail"));
  }

  /** The node escaped reasons and details when it recorded them: shown as it logged them, escaped only if not safe. */
  private static String safe(String text) {
    return SafeText.isSafeLine(text) ? text : SafeText.line(text);
  }

  @Override
  public void close() {
    close(db);
  }

  private static Map<String, Object> inboxRow(ResultSet row) throws SQLException {
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
  }

  private static Map<String, Object> quarantineRow(ResultSet row) throws SQLException {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cursor", row.getLong(1));
    m.put("at", time(row, 2));
    m.put("reason", row.getString(3));
    m.put("detail", row.getString(4));
    m.put("sender", row.getString(5));
    byte[] payload = row.getBytes(6);
    long size = row.getLong(7);
    if (!row.wasNull()) { // a payload was kept; one of 0 bytes may read back as null
      byte[] kept = payload == null ? new byte[0] : payload;
      m.put("payload-size", size);
      m.put("payload", Base64.getEncoder().encodeToString(kept));
      m.put("payload-truncated", kept.length < size);
    }
    return m;
  }

  /** A time column as the node's JSON lines wrote it (ISO-8601, UTC). */
  private static String time(ResultSet row, int column) throws SQLException {
    long micros = row.getLong(column);
    if (row.wasNull()) {
      return null;
    }
    return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000)
        .toString();
  }

  private static boolean hasTable(Connection db, String name) throws SQLException {
    try (PreparedStatement s = db.prepareStatement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")) {
      s.setString(1, name);
      try (ResultSet row = s.executeQuery()) {
        return row.next();
      }
    }
  }

  private static int intQuery(Connection db, String sql) throws SQLException {
    return (int) longQuery(db, sql);
  }

  private static long longQuery(Connection db, String sql) throws SQLException {
    try (Statement s = db.createStatement(); ResultSet row = s.executeQuery(sql)) {
      return row.next() ? row.getLong(1) : 0;
    }
  }

  private static String describe(SQLException e) {
    return SafeText.detail(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
  }

  private static void close(Connection db) {
    try {
      db.close();
    } catch (SQLException e) {
      // read-only: nothing to lose
    }
  }
}
