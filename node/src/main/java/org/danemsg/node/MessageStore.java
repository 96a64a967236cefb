package org.danemsg.node;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.OpenedMessage;
import org.danemsg.protocol.SafeText;

/**
 * The node's durable state: one SQLite database, {@code DATA_PATH/danemsg.db} (WAL,
 * {@code synchronous=FULL}, mode 0600, {@code auto_vacuum=INCREMENTAL}), with the tables
 * <ul>
 *   <li>{@code seen}: the replay window, the ids of delivered messages (sender + id) until they can no
 *       longer be accepted (a native message's {@code exp} plus the clock skew, a legacy message's
 *       digest id for {@code legacy-replay-window}); also removes QoS 1 duplicates. Expired rows are
 *       deleted at start and every {@value #PRUNE_SEEN_EVERY} deliveries; retention never cuts it;
 *   <li>{@code inbox}: every delivered message, numbered by {@code cursor} (autoincrement: stable
 *       across restarts, never reused, so a reader can follow the table by it);
 *   <li>{@code quarantine}: every refused message with the first {@code quarantine-payload-limit}
 *       bytes of its payload, numbered the same way;
 *   <li>{@code parked}: payloads waiting for their claimed sender's DNS ({@code sender} is NULL for a
 *       payload an older node parked without its sender's folder); one row per payload (by its
 *       SHA-256), so a redelivered copy parks onto the row already there and keeps its time.
 * </ul>
 * Times are INTEGER microseconds since 1970-01-01 UTC. {@code size} is what a row counts against
 * the retention bounds: the UTF-8 bytes of its strings and payload plus 8 per number column.
 *
 * <p>One writer. The {@link Printer} owns an instance and is its only user (not thread-safe). Every
 * write goes into one open transaction that {@link #commit} ends: the Printer's group commit, after
 * which it prints and acks. A delivery writes its {@code seen} and {@code inbox} rows (and deletes
 * its {@code parked} row) together, so "seen" and "printed" are one event: until the commit nothing
 * of it exists, after it all of it does. Each write is a savepoint of its own: a failed one is undone
 * alone ({@link IOException}, a condition of the node, or {@link Unrecordable}, one of the message),
 * unless SQLite had to drop the whole transaction ({@link BatchLost}).
 *
 * <p>The schema's version is {@code PRAGMA user_version} ({@value #SCHEMA_VERSION}); a database of a
 * newer version is refused with one line. A database of the node before (only {@code seen}) is
 * upgraded in place, and the files of older nodes are imported once ({@link OlderNodeFiles}).
 * Readers (the node's {@link ParkedMessages}, {@code tools inbox}) use connections of their own:
 * WAL lets them read while this one writes.
 */
final class MessageStore implements AutoCloseable {

  /** The database's file name in {@code DATA_PATH}. */
  static final String FILE = "danemsg.db";
  /** The version this node writes, in {@code PRAGMA user_version}. */
  static final int SCHEMA_VERSION = 1;
  static final long SKEW_SECONDS = 60;
  private static final int PRUNE_SEEN_EVERY = 10_000;
  /** Bytes trimming deletes down to this fraction below the bound, so that deletions come in batches. */
  private static final int TRIM_SLACK_DIVISOR = 16;
  private static final long NUMBER_BYTES = 8;

  /** A write failed for a reason of the message itself (SQLite refused the values): not worth retrying. */
  static final class Unrecordable extends Exception {
    private static final long serialVersionUID = 1L;

    Unrecordable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** SQLite rolled back the whole open transaction: every write since the last commit is gone. */
  static final class BatchLost extends IOException {
    private static final long serialVersionUID = 1L;

    BatchLost(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * What retention deleted from one table for one reason.
   *
   * @param table {@code inbox} or {@code quarantine}
   * @param byAge true when the rows were older than the age bound, false when the table was over its bytes
   * @param rows rows deleted
   * @param bytes their sizes' sum
   * @param rowsLeft rows remaining in the table
   * @param bytesLeft the remaining rows' sizes' sum
   */
  record Trim(String table, boolean byAge, long rows, long bytes, long rowsLeft, long bytesLeft) {}

  /** One row of {@code inbox}, as a delivery or an imported line gives it. */
  record InboxRow(Instant receivedAt, String sender, String recipient, Instant sentAt, Instant expiresAt,
      String id, String profile, String dnssec, String text) {}

  /** One row of {@code quarantine}; {@code payload} already cut to the limit, {@code payloadSize} its full size. */
  record QuarantineRow(Instant at, String reason, String detail, String sender, byte[] payload, Long payloadSize) {}

  private final Connection db;
  private final Clock clock;
  private final NodeSettings.Records records;
  private final int payloadLimit;
  private final PreparedStatement begin;
  private final PreparedStatement commit;
  private final PreparedStatement rollback;
  private final PreparedStatement savepoint;
  private final PreparedStatement release;
  private final PreparedStatement rollbackToSavepoint;
  private final PreparedStatement selectSeen;
  private final PreparedStatement insertSeen;
  private final PreparedStatement insertSeenIfAbsent;
  private final PreparedStatement claimSeen;
  private final PreparedStatement insertInbox;
  private final PreparedStatement insertQuarantine;
  private final PreparedStatement selectParkedByDigest;
  private final PreparedStatement insertParked;
  private final PreparedStatement deleteParked;
  private final PreparedStatement updateParkedSender;
  private final PreparedStatement lastRowid;
  private boolean inTransaction;
  private int sincePrune;
  private final Table inbox = new Table("inbox", "received_at");
  private final Table quarantine = new Table("quarantine", "at");

  /** Running totals of a table: {@code SUM(size)} and {@code COUNT(*)} as committed, and the open batch's part. */
  private static final class Table {
    final String name;
    final String timeColumn;
    long bytes;
    long rows;
    long batchBytes;
    long batchRows;

    Table(String name, String timeColumn) {
      this.name = name;
      this.timeColumn = timeColumn;
    }
  }

  private MessageStore(Connection db, Clock clock, NodeSettings.Records records, int payloadLimit)
      throws SQLException {
    this.db = db;
    this.clock = clock;
    this.records = records;
    this.payloadLimit = payloadLimit;
    this.begin = db.prepareStatement("BEGIN IMMEDIATE");
    this.commit = db.prepareStatement("COMMIT");
    this.rollback = db.prepareStatement("ROLLBACK");
    this.savepoint = db.prepareStatement("SAVEPOINT record");
    this.release = db.prepareStatement("RELEASE record");
    this.rollbackToSavepoint = db.prepareStatement("ROLLBACK TO record");
    this.selectSeen = db.prepareStatement("SELECT until FROM seen WHERE sender = ? AND id = ?");
    this.insertSeen = db.prepareStatement("INSERT OR REPLACE INTO seen (sender, id, until) VALUES (?, ?, ?)");
    this.insertSeenIfAbsent = db.prepareStatement("INSERT OR IGNORE INTO seen (sender, id, until) VALUES (?, ?, ?)");
    // A new row, or an expired one renewed; nothing changed (0 rows) when the id is in the window.
    this.claimSeen = db.prepareStatement("INSERT INTO seen (sender, id, until) VALUES (?, ?, ?) ON CONFLICT (sender, id)"
        + " DO UPDATE SET until = excluded.until WHERE seen.until < ?");
    this.insertInbox = db.prepareStatement("INSERT INTO inbox (received_at, sender, recipient, sent_at, expires_at,"
        + " id, profile, dnssec, text, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    this.insertQuarantine = db.prepareStatement("INSERT INTO quarantine (at, reason, detail, sender, payload,"
        + " payload_size, size) VALUES (?, ?, ?, ?, ?, ?, ?)");
    this.selectParkedByDigest = db.prepareStatement("SELECT id FROM parked WHERE digest = ?");
    this.insertParked = db.prepareStatement("INSERT INTO parked (sender, parked_at, payload, size, digest)"
        + " VALUES (?, ?, ?, ?, ?)");
    this.deleteParked = db.prepareStatement("DELETE FROM parked WHERE id = ?");
    this.updateParkedSender = db.prepareStatement("UPDATE parked SET sender = ? WHERE id = ?");
    this.lastRowid = db.prepareStatement("SELECT last_insert_rowid()");
  }

  /**
   * Opens (creating, upgrading, importing an older node's files as needed) the store in {@code dataPath}.
   *
   * @throws IOException with a one-line message when the database cannot be used (a newer schema,
   *     not a database, the disk)
   */
  static MessageStore open(Path dataPath, NodeSettings.Records records, int quarantinePayloadLimit, Clock clock)
      throws IOException {
    Path file = dataPath.resolve(FILE);
    Connection connection = null;
    try {
      connection = connect(file);
      prepareSchema(connection, file);
      MessageStore store = new MessageStore(connection, clock, records, quarantinePayloadLimit);
      store.loadTotals();
      OlderNodeFiles.importInto(store, dataPath);
      store.pruneSeen();
      store.commit();
      return store;
    } catch (SQLException e) {
      closeQuietly(connection);
      throw new IOException(describe(e), e);
    } catch (IOException | RuntimeException e) {
      closeQuietly(connection);
      throw e;
    }
  }

  /** The file created 0600 (SQLite gives its -wal and -shm files the same mode), in WAL mode, with commits that reach the disk. */
  private static Connection connect(Path file) throws IOException, SQLException {
    if (!Files.exists(file)) {
      try {
        Files.createFile(file, OwnerOnly.fileAttribute());
      } catch (java.nio.file.FileAlreadyExistsException raced) {
        // created meanwhile
      }
    }
    OwnerOnly.narrowFile(file);
    org.sqlite.SQLiteConfig config = new org.sqlite.SQLiteConfig();
    // Nothing here reads getGeneratedKeys (parking asks last_insert_rowid() itself); left on, the driver
    // would match every INSERT against a regex and prepare, run and finalize a "SELECT last_insert_rowid()"
    // after it: 3 % of the node's CPU a message (measured), for nothing.
    config.setGetGeneratedKeys(false);
    Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file.toAbsolutePath(), config.toProperties());
    try (Statement s = connection.createStatement()) {
      s.execute("PRAGMA busy_timeout=10000");
      if (Files.size(file) == 0) {
        s.execute("PRAGMA auto_vacuum=INCREMENTAL"); // only before the first table: the file can shrink
      }
      s.execute("PRAGMA journal_mode=WAL");
      s.execute("PRAGMA synchronous=FULL");
      // Checkpoints run off the writer's thread (WalCheckpoints), not inside a commit.
      s.execute("PRAGMA wal_autocheckpoint=0");
    } catch (SQLException e) {
      closeQuietly(connection);
      throw e;
    }
    return connection;
  }

  /** Creates the tables, or upgrades the database of the node before; refuses a newer one. */
  private static void prepareSchema(Connection db, Path file) throws SQLException, IOException {
    int version = intPragma(db, "user_version");
    if (version > SCHEMA_VERSION) {
      throw new IOException(file + " has schema version " + version + ", newer than this node's (" + SCHEMA_VERSION
          + "): it was written by a newer node; run that version, or move the file away to start afresh");
    }
    if (version == SCHEMA_VERSION) {
      return;
    }
    try (Statement s = db.createStatement()) {
      if (intPragma(db, "auto_vacuum") != 2) {
        // The node before wrote the replay window without auto-vacuum; it is set once, with a rewrite.
        s.execute("PRAGMA auto_vacuum=INCREMENTAL");
        s.execute("VACUUM");
      }
      s.execute("BEGIN IMMEDIATE");
      s.execute("CREATE TABLE IF NOT EXISTS seen (sender TEXT NOT NULL, id TEXT NOT NULL, until INTEGER NOT NULL,"
          + " PRIMARY KEY (sender, id)) WITHOUT ROWID");
      s.execute("CREATE INDEX IF NOT EXISTS seen_until ON seen (until)");
      s.execute("CREATE TABLE IF NOT EXISTS inbox (cursor INTEGER PRIMARY KEY AUTOINCREMENT,"
          + " received_at INTEGER NOT NULL, sender TEXT NOT NULL, recipient TEXT, sent_at INTEGER,"
          + " expires_at INTEGER, id TEXT, profile TEXT NOT NULL, dnssec TEXT NOT NULL, text TEXT NOT NULL,"
          + " size INTEGER NOT NULL)");
      s.execute("CREATE TABLE IF NOT EXISTS quarantine (cursor INTEGER PRIMARY KEY AUTOINCREMENT,"
          + " at INTEGER NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, sender TEXT, payload BLOB,"
          + " payload_size INTEGER, size INTEGER NOT NULL)");
      s.execute("CREATE TABLE IF NOT EXISTS parked (id INTEGER PRIMARY KEY AUTOINCREMENT, sender TEXT,"
          + " parked_at INTEGER NOT NULL, payload BLOB NOT NULL, size INTEGER NOT NULL, digest BLOB NOT NULL UNIQUE)");
      // Files of an older node imported in a transaction that committed, so a crash before they were
      // renamed does not import them twice.
      s.execute("CREATE TABLE IF NOT EXISTS imported_files (name TEXT PRIMARY KEY, bytes INTEGER NOT NULL,"
          + " imported_at INTEGER NOT NULL)");
      s.execute("PRAGMA user_version=" + SCHEMA_VERSION);
      s.execute("COMMIT");
    }
  }

  private static int intPragma(Connection db, String name) throws SQLException {
    try (Statement s = db.createStatement(); ResultSet row = s.executeQuery("PRAGMA " + name)) {
      return row.next() ? row.getInt(1) : 0;
    }
  }

  private void loadTotals() throws SQLException {
    for (Table table : List.of(inbox, quarantine)) {
      try (Statement s = db.createStatement();
          ResultSet row = s.executeQuery("SELECT COALESCE(SUM(size), 0), COUNT(*) FROM " + table.name)) {
        row.next();
        table.bytes = row.getLong(1);
        table.rows = row.getLong(2);
      }
    }
  }

  // ---- the Printer's writes ------------------------------------------------------------------------

  /** Whether {@code sender}'s message {@code id} was delivered (committed, or earlier in the open batch) and may still come again. */
  boolean seen(String sender, String id) throws IOException {
    try {
      selectSeen.setString(1, key(sender));
      selectSeen.setString(2, SafeText.wellFormed(id));
      try (ResultSet row = selectSeen.executeQuery()) {
        return row.next() && row.getLong(1) >= clock.instant().getEpochSecond();
      }
    } catch (SQLException e) {
      throw new IOException("reading the replay window: " + describe(e), e);
    }
  }

  /** What {@link #recordDelivery} did with a message. */
  enum Delivery {
    /** Its rows are written in the open transaction. */
    RECORDED,
    /** Its sender + id was delivered before and may still come again: nothing written. */
    REPLAY
  }

  /** Runs after a delivery's replay check, before its rows are kept; an exception undoes what was written. */
  @FunctionalInterface
  interface BeforeDelivery {
    void check(OpenedMessage m) throws Exception;
  }

  /** {@link BeforeDelivery} threw: nothing of the message was written. */
  static final class Stopped extends Exception {
    private static final long serialVersionUID = 1L;

    Stopped(Exception cause) {
      super(cause.toString(), cause);
    }
  }

  /** {@link #recordDelivery(OpenedMessage, boolean, Instant, long, BeforeDelivery)} with no check before. */
  Delivery recordDelivery(OpenedMessage m, boolean dnssecValidated, Instant receivedAt, long parkedId)
      throws IOException, Unrecordable {
    try {
      return recordDelivery(m, dnssecValidated, receivedAt, parkedId, message -> { });
    } catch (Stopped cannot) {
      throw new IllegalStateException(cannot);
    }
  }

  /**
   * Records a delivered message unless it is a replay, in one savepoint: its {@code seen} row (until its
   * expiry, or the legacy window), {@code before}, its {@code inbox} row and, when {@code parkedId} is not
   * 0, the deletion of its {@code parked} row. The {@code seen} row is the replay check too: one statement
   * inserts it (or renews an expired one) and changes nothing when the sender + id is in the window,
   * committed or earlier in the open batch ({@link Delivery#REPLAY}: the savepoint is undone). A message
   * without an id has no {@code seen} row and is never a replay.
   *
   * @throws Stopped when {@code before} threw: nothing of the message is written
   */
  Delivery recordDelivery(OpenedMessage m, boolean dnssecValidated, Instant receivedAt, long parkedId,
      BeforeDelivery before) throws IOException, Unrecordable, Stopped {
    InboxRow row = new InboxRow(receivedAt.truncatedTo(ChronoUnit.MICROS), m.sender().toString(),
        m.recipient().toString(), m.sentAt(), m.expiresAt(), m.id(), m.profile().name().toLowerCase(Locale.ROOT),
        dnssecValidated ? "validated" : "off", m.text());
    Object done = inSavepoint("recording a message from " + m.sender(), () -> {
      if (m.id() != null) {
        Instant until = m.expiresAt() != null ? m.expiresAt() : receivedAt.plus(records.legacyReplayWindow());
        if (!claimSeen(m.sender().toString(), m.id(), until.getEpochSecond() + SKEW_SECONDS)) {
          return Delivery.REPLAY;
        }
      }
      try {
        before.check(m);
      } catch (Exception e) {
        return new Stopped(e);
      }
      insertInbox(row);
      deleteParked(parkedId);
      return Delivery.RECORDED;
    }, Delivery.RECORDED::equals);
    if (done instanceof Stopped stopped) {
      throw stopped;
    }
    if (done == Delivery.RECORDED && m.id() != null && ++sincePrune >= PRUNE_SEEN_EVERY) {
      try {
        pruneSeen();
      } catch (SQLException e) {
        throw new IOException("pruning the replay window: " + describe(e), e);
      }
    }
    return (Delivery) done;
  }

  /** Records a refused message with the first bytes of its payload; deletes its {@code parked} row when {@code parkedId} is not 0. */
  void recordRefusal(Refusal refusal, byte[] payload, Instant at, long parkedId) throws IOException, Unrecordable {
    QuarantineRow row = new QuarantineRow(at.truncatedTo(ChronoUnit.MILLIS), refusal.reason(), refusal.detail(),
        refusal.sender() == null ? null : refusal.sender().toString(),
        payload == null ? null : Arrays.copyOf(payload, Math.min(payload.length, payloadLimit)),
        payload == null ? null : (long) payload.length);
    inSavepoint("recording a refused message", () -> {
      insertQuarantine(row);
      deleteParked(parkedId);
      return null;
    });
  }

  /** Parks {@code payload} (for {@code sender}, null when unknown) unless it is parked already; returns its row's id. */
  ParkedRow park(DnsName sender, byte[] payload, Instant parkedAt) throws IOException, Unrecordable {
    return inSavepoint("parking a message", () -> insertParked(sender == null ? null : sender.toString(), payload,
        parkedAt));
  }

  /** Sets the sender of a parked row (learned by decrypting a payload an older node parked without it). */
  void setParkedSender(long id, DnsName sender) throws IOException, Unrecordable {
    inSavepoint("setting a parked message's sender", () -> {
      updateParkedSender.setString(1, sender.toString());
      updateParkedSender.setLong(2, id);
      updateParkedSender.executeUpdate();
      return null;
    });
  }

  /** Ends the open transaction: what was written since the last commit is on disk. */
  void commit() throws IOException {
    if (!inTransaction) {
      return;
    }
    try {
      commit.execute();
      inTransaction = false;
      for (Table table : List.of(inbox, quarantine)) {
        table.bytes += table.batchBytes;
        table.rows += table.batchRows;
        table.batchBytes = 0;
        table.batchRows = 0;
      }
    } catch (SQLException e) {
      abandonBatch();
      throw new BatchLost("committing to " + FILE + ": " + describe(e), e);
    }
  }

  /**
   * A PASSIVE checkpoint through the writer's own connection, between two transactions: it copies what
   * the last checkpoint of {@link WalCheckpoints} left (the pages committed while it ran), so that the
   * next write starts the log over. Null when a transaction is open, or when it could not run.
   */
  WalCheckpoints.Progress checkpoint() throws IOException {
    if (inTransaction) {
      return null;
    }
    try {
      return WalCheckpoints.passive(db);
    } catch (SQLException e) {
      throw new IOException("checkpointing " + FILE + ": " + describe(e), e);
    }
  }

  /** Drops what was written since the last commit. */
  void rollback() {
    abandonBatch();
  }

  @Override
  public void close() {
    // Whatever was not committed was neither printed nor acked: it comes again.
    abandonBatch();
    closeQuietly(db);
  }

  // ---- retention -----------------------------------------------------------------------------------

  /** Whether a table holds more bytes than its bound (then {@link #enforceRetention} has work). */
  boolean overBytes() {
    return over(inbox, records.inboxMaxBytes()) || over(quarantine, records.quarantineMaxBytes());
  }

  private static boolean over(Table table, long max) {
    return max > 0 && table.bytes + table.batchBytes > max;
  }

  /**
   * Deletes the oldest rows (lowest cursor) of {@code inbox} and {@code quarantine} that are older
   * than their age bound, then as many more as it takes to bring a table over its bytes bound (the
   * sum of {@code size}) to 1/{@value #TRIM_SLACK_DIVISOR} below it, commits and gives the freed
   * pages back to the file system ({@code incremental_vacuum}). Runs between batches: the open
   * transaction is committed first.
   */
  List<Trim> enforceRetention() throws IOException {
    commit();
    List<Trim> trims = new ArrayList<>();
    try {
      begin();
      trim(inbox, records.inboxMaxAge(), records.inboxMaxBytes(), trims);
      trim(quarantine, records.quarantineMaxAge(), records.quarantineMaxBytes(), trims);
      commit();
    } catch (SQLException e) {
      abandonBatch();
      throw new IOException("deleting old records: " + describe(e), e);
    }
    if (!trims.isEmpty()) {
      try {
        giveSpaceBack();
      } catch (SQLException e) {
        abandonBatch();
        throw new IOException("giving deleted records' space back: " + describe(e), e);
      }
    }
    return trims;
  }

  /**
   * Moves the free pages to the end of the file and cuts them off ({@code incremental_vacuum}). Each
   * run of the pragma frees one page before it yields a row (which JDBC does not step past), so it
   * runs once per free page, in one transaction.
   */
  private void giveSpaceBack() throws SQLException {
    long free;
    try (Statement s = db.createStatement(); ResultSet row = s.executeQuery("PRAGMA freelist_count")) {
      free = row.next() ? row.getLong(1) : 0;
    }
    if (free == 0) {
      return;
    }
    begin();
    try (PreparedStatement step = db.prepareStatement("PRAGMA incremental_vacuum")) {
      for (long i = 0; i < free; i++) {
        step.execute();
      }
    }
    commit.execute();
    inTransaction = false;
  }

  private void trim(Table table, Duration maxAge, long maxBytes, List<Trim> trims) throws SQLException {
    if (!maxAge.isZero()) {
      long cutoff = micros(clock.instant().minus(maxAge));
      long firstYoung = Long.MAX_VALUE;
      try (PreparedStatement s = db.prepareStatement("SELECT cursor FROM " + table.name + " WHERE "
          + table.timeColumn + " >= ? ORDER BY cursor LIMIT 1")) {
        s.setLong(1, cutoff);
        try (ResultSet row = s.executeQuery()) {
          if (row.next()) {
            firstYoung = row.getLong(1);
          }
        }
      }
      deleteBefore(table, firstYoung, true, trims);
    }
    if (over(table, maxBytes)) {
      long toFree = table.bytes + table.batchBytes - (maxBytes - maxBytes / TRIM_SLACK_DIVISOR);
      long freed = 0;
      long last = 0;
      try (PreparedStatement s = db.prepareStatement("SELECT cursor, size FROM " + table.name + " ORDER BY cursor");
          ResultSet row = s.executeQuery()) {
        while (freed < toFree && row.next()) {
          last = row.getLong(1);
          freed += row.getLong(2);
        }
      }
      deleteBefore(table, last + 1, false, trims);
    }
  }

  /** Deletes the rows of {@code table} below {@code cursor}. */
  private void deleteBefore(Table table, long cursor, boolean byAge, List<Trim> trims) throws SQLException {
    long rows;
    long bytes;
    try (PreparedStatement s = db.prepareStatement("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM " + table.name
        + " WHERE cursor < ?")) {
      s.setLong(1, cursor);
      try (ResultSet row = s.executeQuery()) {
        row.next();
        rows = row.getLong(1);
        bytes = row.getLong(2);
      }
    }
    if (rows == 0) {
      return;
    }
    try (PreparedStatement s = db.prepareStatement("DELETE FROM " + table.name + " WHERE cursor < ?")) {
      s.setLong(1, cursor);
      s.executeUpdate();
    }
    table.batchRows -= rows;
    table.batchBytes -= bytes;
    trims.add(new Trim(table.name, byAge, rows, bytes, table.rows + table.batchRows, table.bytes + table.batchBytes));
  }

  // ---- what the import of an older node's files uses --------------------------------------------

  /** Whether {@code name} of {@code bytes} was imported in a transaction that committed. */
  boolean wasImported(String name, long bytes) throws IOException {
    try (PreparedStatement s = db.prepareStatement("SELECT 1 FROM imported_files WHERE name = ? AND bytes = ?")) {
      s.setString(1, name);
      s.setLong(2, bytes);
      try (ResultSet row = s.executeQuery()) {
        return row.next();
      }
    } catch (SQLException e) {
      throw new IOException(describe(e), e);
    }
  }

  /** Notes in the open transaction that {@code name} of {@code bytes} was imported. */
  void markImported(String name, long bytes) throws IOException {
    try {
      begin();
      try (PreparedStatement s = db.prepareStatement(
          "INSERT OR REPLACE INTO imported_files (name, bytes, imported_at) VALUES (?, ?, ?)")) {
        s.setString(1, name);
        s.setLong(2, bytes);
        s.setLong(3, micros(clock.instant()));
        s.executeUpdate();
      }
    } catch (SQLException e) {
      throw new IOException(describe(e), e);
    }
  }

  /** An entry of an older node's replay window, kept as it was. */
  void importSeen(String sender, String id, long until) throws IOException {
    try {
      begin();
      putSeen(insertSeen, sender, id, until);
    } catch (SQLException e) {
      throw new IOException(describe(e), e);
    }
  }

  /**
   * A line of an older node's inbox; its id joins the replay window (unless there) while it can
   * still come again, as the node before recovered the ids of its inbox's last lines.
   */
  void importInbox(InboxRow row) throws IOException {
    try {
      begin();
      insertInbox(row);
      if (row.id() != null) {
        Instant until = row.expiresAt() != null ? row.expiresAt()
            : row.receivedAt().plus(records.legacyReplayWindow());
        if (until.getEpochSecond() + SKEW_SECONDS >= clock.instant().getEpochSecond()) {
          putSeen(insertSeenIfAbsent, row.sender(), row.id(), until.getEpochSecond() + SKEW_SECONDS);
        }
      }
    } catch (SQLException e) {
      throw new IOException(describe(e), e);
    }
  }

  /** A line of an older node's quarantine. */
  void importQuarantine(QuarantineRow row) throws IOException {
    try {
      begin();
      insertQuarantine(row);
    } catch (SQLException e) {
      throw new IOException(describe(e), e);
    }
  }

  /** A payload an older node parked as a file. */
  void importParked(String sender, byte[] payload, Instant parkedAt) throws IOException {
    try {
      begin();
      insertParked(sender, payload, parkedAt);
    } catch (SQLException e) {
      throw new IOException(describe(e), e);
    }
  }

  // ---- statements ----------------------------------------------------------------------------------

  private void putSeen(PreparedStatement statement, String sender, String id, long until) throws SQLException {
    statement.setString(1, key(sender));
    statement.setString(2, SafeText.wellFormed(id));
    statement.setLong(3, until);
    statement.executeUpdate();
  }

  /** Writes {@code sender}'s {@code id} into the window unless it is there (and not expired): whether it was not. */
  private boolean claimSeen(String sender, String id, long until) throws SQLException {
    claimSeen.setString(1, key(sender));
    claimSeen.setString(2, SafeText.wellFormed(id));
    claimSeen.setLong(3, until);
    claimSeen.setLong(4, clock.instant().getEpochSecond());
    return claimSeen.executeUpdate() == 1;
  }

  private void insertInbox(InboxRow row) throws SQLException {
    String sender = SafeText.wellFormed(row.sender());
    String recipient = SafeText.wellFormed(row.recipient());
    String id = SafeText.wellFormed(row.id());
    String text = SafeText.wellFormed(row.text());
    long size = utf8(text) + utf8(sender) + utf8(recipient) + utf8(id) + 5 * NUMBER_BYTES;
    insertInbox.setLong(1, micros(row.receivedAt()));
    insertInbox.setString(2, sender);
    insertInbox.setString(3, recipient);
    setMicros(insertInbox, 4, row.sentAt());
    setMicros(insertInbox, 5, row.expiresAt());
    insertInbox.setString(6, id);
    insertInbox.setString(7, SafeText.wellFormed(row.profile()));
    insertInbox.setString(8, SafeText.wellFormed(row.dnssec()));
    insertInbox.setString(9, text);
    insertInbox.setLong(10, size);
    insertInbox.executeUpdate();
    inbox.batchBytes += size;
    inbox.batchRows++;
  }

  private void insertQuarantine(QuarantineRow row) throws SQLException {
    String reason = SafeText.wellFormed(row.reason());
    String detail = SafeText.wellFormed(row.detail());
    String sender = SafeText.wellFormed(row.sender());
    long size = utf8(reason) + utf8(detail) + utf8(sender) + (row.payload() == null ? 0 : row.payload().length)
        + 3 * NUMBER_BYTES;
    insertQuarantine.setLong(1, micros(row.at()));
    insertQuarantine.setString(2, reason);
    insertQuarantine.setString(3, detail == null ? "" : detail);
    insertQuarantine.setString(4, sender);
    insertQuarantine.setBytes(5, row.payload());
    if (row.payloadSize() == null) {
      insertQuarantine.setNull(6, java.sql.Types.INTEGER);
    } else {
      insertQuarantine.setLong(6, row.payloadSize());
    }
    insertQuarantine.setLong(7, size);
    insertQuarantine.executeUpdate();
    quarantine.batchBytes += size;
    quarantine.batchRows++;
  }

  /** The parked row of a payload: {@code copy} when the payload was parked there already. */
  record ParkedRow(long id, boolean copy) {}

  private ParkedRow insertParked(String sender, byte[] payload, Instant parkedAt) throws SQLException {
    byte[] digest = sha256(payload);
    selectParkedByDigest.setBytes(1, digest);
    try (ResultSet row = selectParkedByDigest.executeQuery()) {
      if (row.next()) {
        return new ParkedRow(row.getLong(1), true); // a copy parks onto the row there, and keeps its time
      }
    }
    insertParked.setString(1, sender);
    insertParked.setLong(2, micros(parkedAt));
    insertParked.setBytes(3, payload);
    insertParked.setLong(4, payload.length);
    insertParked.setBytes(5, digest);
    insertParked.executeUpdate();
    try (ResultSet row = lastRowid.executeQuery()) {
      row.next();
      return new ParkedRow(row.getLong(1), false);
    }
  }

  private void deleteParked(long id) throws SQLException {
    if (id != 0) {
      deleteParked.setLong(1, id);
      deleteParked.executeUpdate();
    }
  }

  private void pruneSeen() throws SQLException {
    begin();
    try (PreparedStatement delete = db.prepareStatement("DELETE FROM seen WHERE until < ?")) {
      delete.setLong(1, clock.instant().getEpochSecond());
      delete.executeUpdate();
    }
    sincePrune = 0;
  }

  // ---- transactions --------------------------------------------------------------------------------

  @FunctionalInterface
  private interface Work<T> {
    T run() throws SQLException;
  }

  /** Runs {@code work} in the open transaction as a savepoint of its own: a failure undoes it alone. */
  private <T> T inSavepoint(String what, Work<T> work) throws IOException, Unrecordable {
    return inSavepoint(what, work, result -> true);
  }

  /**
   * Runs {@code work} in the open transaction as a savepoint of its own: a failure undoes it alone, and so
   * does a result that {@code keep} refuses.
   */
  private <T> T inSavepoint(String what, Work<T> work, java.util.function.Predicate<T> keep)
      throws IOException, Unrecordable {
    BatchTotals before = new BatchTotals(inbox.batchBytes, inbox.batchRows, quarantine.batchBytes,
        quarantine.batchRows);
    try {
      begin();
      savepoint.execute();
    } catch (SQLException e) {
      abandonBatch();
      throw new BatchLost(what + ": " + describe(e), e);
    }
    T result;
    try {
      result = work.run();
      if (keep.test(result)) {
        release.execute();
        return result;
      }
    } catch (SQLException | RuntimeException e) {
      undoSavepoint(what, e, before);
      if (!(e instanceof SQLException sql)) {
        throw new Unrecordable(what + ": " + SafeText.detail(e.toString()), e); // a value out of range
      }
      if (ofTheValues(sql)) {
        throw new Unrecordable(what + ": " + describe(sql), sql);
      }
      throw new IOException(what + ": " + describe(sql), sql);
    }
    undoSavepoint(what, null, before);
    return result;
  }

  /** The open batch's part of the tables' totals, as a savepoint began. */
  private record BatchTotals(long inboxBytes, long inboxRows, long quarantineBytes, long quarantineRows) {}

  /** Undoes the open savepoint ({@code cause}: why, null when its result was not to be kept). */
  private void undoSavepoint(String what, Exception cause, BatchTotals before) throws BatchLost {
    try {
      rollbackToSavepoint.execute();
      release.execute();
    } catch (SQLException gone) {
      // SQLite rolled back the whole transaction (disk full, I/O error): the batch is lost.
      abandonBatch();
      Exception why = cause != null ? cause : gone;
      throw new BatchLost(what + ": " + SafeText.detail(why.getMessage()), why);
    }
    inbox.batchBytes = before.inboxBytes();
    inbox.batchRows = before.inboxRows();
    quarantine.batchBytes = before.quarantineBytes();
    quarantine.batchRows = before.quarantineRows();
  }

  private void begin() throws SQLException {
    if (!inTransaction) {
      begin.execute();
      inTransaction = true;
    }
  }

  private void abandonBatch() {
    if (inTransaction) {
      try {
        rollback.execute();
      } catch (SQLException e) {
        // SQLite rolled it back itself already
      }
      inTransaction = false;
    }
    for (Table table : List.of(inbox, quarantine)) {
      table.batchBytes = 0;
      table.batchRows = 0;
    }
  }

  /** SQLite's result codes that blame the values written (too big, constraint, type), not the node. */
  private static boolean ofTheValues(SQLException e) {
    int primary = e.getErrorCode() & 0xff;
    return primary == 18 || primary == 19 || primary == 20 || primary == 25;
  }

  /** The exception's message, with its cause's (the native library's failure hides behind "Error opening connection"). */
  static String describe(SQLException e) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    if (e.getCause() != null && e.getCause().getMessage() != null) {
      message += " (" + e.getCause().getMessage() + ")";
    }
    return SafeText.detail(message);
  }

  private static void closeQuietly(Connection connection) {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException e) {
        // closing after a failure: the failure is what counts
      }
    }
  }

  // ---- values --------------------------------------------------------------------------------------

  /** Microseconds since 1970-01-01 UTC: the unit of every time column. */
  static long micros(Instant instant) {
    return Math.addExact(Math.multiplyExact(instant.getEpochSecond(), 1_000_000L), instant.getNano() / 1000);
  }

  private static void setMicros(PreparedStatement statement, int index, Instant instant) throws SQLException {
    if (instant == null) {
      statement.setNull(index, java.sql.Types.INTEGER);
    } else {
      statement.setLong(index, micros(instant));
    }
  }

  private static long utf8(String text) {
    return text == null ? 0 : text.getBytes(StandardCharsets.UTF_8).length;
  }

  private static String key(String sender) {
    return SafeText.wellFormed(sender).toLowerCase(Locale.ROOT); // names compare case-insensitively
  }

  static byte[] sha256(byte[] payload) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(payload);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 missing from the JDK", e);
    }
  }
}
