package org.danemsg.node;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jose4j.json.JsonUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ids of delivered messages (sender + id), each kept until it can no longer be accepted: a
 * native message's {@code exp} plus the clock skew (days, with the default lifetime of 7 days), a
 * legacy message's digest id for the configured legacy window. Also removes QoS 1 duplicates: a
 * redelivered message carries the same sender and id.
 *
 * <p>The window lives in the table {@code seen} of the node's SQLite database
 * ({@code DATA_PATH/danemsg.db}, WAL, mode 0600), not on the heap: a busy node with a week-long window
 * holds millions of ids, and memory stays flat. Rows are written in the Printer's group commit
 * ({@link #force} commits, which puts them on disk before the messages are acked); expired rows are
 * deleted at start and every {@value #PRUNE_EVERY} records.
 *
 * <p>An id is recorded right after the message is written to the inbox. A crash between the two
 * writes would leave the inbox line without its id, so at start the ids of the inbox's last lines are
 * recorded too. A {@code replay.log} of an older node is taken over once (its JSON lines, or the older
 * {@code <sender> <until> <id>} form) and renamed {@code replay.log.migrated}. Not thread-safe: owned by
 * the Printer.
 */
final class ReplayCache implements AutoCloseable {

  static final long SKEW_SECONDS = 60;
  static final String DATABASE = "danemsg.db";
  private static final int INBOX_TAIL_BYTES = 256 * 1024;
  private static final int PRUNE_EVERY = 10_000;
  private static final Logger LOG = LoggerFactory.getLogger(ReplayCache.class);

  private final Connection db;
  private final Clock clock;
  private final Duration legacyWindow;
  private final PreparedStatement select;
  private final PreparedStatement insert;
  private int sincePrune;

  ReplayCache(Path dataPath, Path inbox, Clock clock, Duration legacyWindow) throws IOException {
    this.clock = clock;
    this.legacyWindow = legacyWindow;
    try {
      this.db = open(dataPath.resolve(DATABASE));
      try (Statement s = db.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS seen (sender TEXT NOT NULL, id TEXT NOT NULL, until INTEGER NOT NULL,"
            + " PRIMARY KEY (sender, id)) WITHOUT ROWID");
        s.execute("CREATE INDEX IF NOT EXISTS seen_until ON seen (until)");
      }
      db.commit();
      this.select = db.prepareStatement("SELECT until FROM seen WHERE sender = ? AND id = ?");
      this.insert = db.prepareStatement("INSERT OR REPLACE INTO seen (sender, id, until) VALUES (?, ?, ?)");
      takeOver(dataPath.resolve("replay.log"));
      recoverFrom(inbox);
      prune();
      db.commit();
    } catch (SQLException e) {
      throw new IOException("the replay window in " + dataPath.resolve(DATABASE) + ": " + e.getMessage(), e);
    }
  }

  /** The node's database, created 0600, in WAL mode, with commits that reach the disk. */
  static Connection open(Path file) throws IOException, SQLException {
    if (!Files.exists(file)) {
      try {
        Files.createFile(file, OwnerOnly.fileAttribute()); // SQLite gives its -wal and -shm files this mode
      } catch (java.nio.file.FileAlreadyExistsException raced) {
        // created meanwhile
      }
    }
    OwnerOnly.narrowFile(file);
    Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file.toAbsolutePath());
    try (Statement s = connection.createStatement()) {
      s.execute("PRAGMA journal_mode=WAL");
      s.execute("PRAGMA synchronous=FULL");
      s.execute("PRAGMA busy_timeout=10000");
    }
    connection.setAutoCommit(false);
    return connection;
  }

  /** Whether {@code sender}'s message {@code id} was delivered and may still come again. */
  boolean seen(String sender, String id) throws IOException {
    try {
      select.setString(1, key(sender));
      select.setString(2, id);
      try (ResultSet row = select.executeQuery()) {
        return row.next() && row.getLong(1) >= clock.instant().getEpochSecond();
      }
    } catch (SQLException e) {
      throw new IOException("reading the replay window: " + e.getMessage(), e);
    }
  }

  /** Records a delivered message until {@code until} (its expiry, or the end of the legacy window). */
  void record(String sender, String id, Instant until) throws IOException {
    try {
      put(sender, id, until.getEpochSecond() + SKEW_SECONDS);
      if (++sincePrune >= PRUNE_EVERY) {
        prune();
      }
    } catch (SQLException e) {
      throw new IOException("writing the replay window: " + e.getMessage(), e);
    }
  }

  /** Puts the recorded ids on disk (commits). */
  void force() throws IOException {
    try {
      db.commit();
    } catch (SQLException e) {
      throw new IOException("committing the replay window: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() throws IOException {
    try {
      db.commit();
      db.close();
    } catch (SQLException e) {
      throw new IOException("closing the replay window: " + e.getMessage(), e);
    }
  }

  private void put(String sender, String id, long until) throws SQLException {
    insert.setString(1, key(sender));
    insert.setString(2, id);
    insert.setLong(3, until);
    insert.executeUpdate();
  }

  private void prune() throws SQLException {
    try (PreparedStatement delete = db.prepareStatement("DELETE FROM seen WHERE until < ?")) {
      delete.setLong(1, clock.instant().getEpochSecond());
      delete.executeUpdate();
    }
    sincePrune = 0;
  }

  /** Takes over an older node's replay.log once: its JSON lines, or the older space-separated form. */
  private void takeOver(Path log) throws IOException, SQLException {
    if (!Files.exists(log)) {
      return;
    }
    int taken = 0;
    try (BufferedReader reader = Files.newBufferedReader(log, StandardCharsets.UTF_8)) {
      String line;
      while ((line = reader.readLine()) != null) {
        if (line.startsWith("{") ? takeJsonLine(line) : takeOldLine(line)) {
          taken++;
        }
      }
    } catch (java.nio.charset.MalformedInputException e) {
      // written by an older node from a hostile id: what was read so far is kept
    }
    db.commit();
    Files.move(log, log.resolveSibling("replay.log.migrated"), StandardCopyOption.REPLACE_EXISTING);
    LOG.info("took over {} replay entries from {} (now in {}; the file is kept as replay.log.migrated)", taken, log,
        DATABASE);
  }

  private boolean takeJsonLine(String line) throws SQLException {
    try {
      Map<String, Object> record = JsonUtil.parseJson(line);
      if (record.get("sender") instanceof String sender && record.get("id") instanceof String id
          && record.get("until") instanceof Number until) {
        put(sender, id, until.longValue());
        return true;
      }
    } catch (org.jose4j.lang.JoseException e) {
      // a torn line: skip it
    }
    return false;
  }

  /** The older form; its ids could hold anything but a newline, so only whole, plain lines count. */
  private boolean takeOldLine(String line) throws SQLException {
    String[] parts = line.split(" ", 3);
    if (parts.length != 3) {
      return false;
    }
    try {
      put(parts[0], parts[2], Long.parseLong(parts[1]));
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  /** Records the ids of the inbox's last lines: a crash may have come between the inbox and the window. */
  private void recoverFrom(Path inbox) throws IOException, SQLException {
    for (String line : inboxTail(inbox)) {
      try {
        Map<String, Object> record = JsonUtil.parseJson(line);
        if (record.get("sender") instanceof String sender && record.get("id") instanceof String id) {
          Instant until = record.get("expires-at") instanceof String exp ? Instant.parse(exp)
              : record.get("received-at") instanceof String received ? Instant.parse(received).plus(legacyWindow)
              : null;
          if (until != null && !seen(sender, id)) {
            put(sender, id, until.getEpochSecond() + SKEW_SECONDS);
          }
        }
      } catch (org.jose4j.lang.JoseException | RuntimeException e) {
        // a torn or foreign line: skip it
      }
    }
  }

  private static List<String> inboxTail(Path inbox) throws IOException {
    if (inbox == null || !Files.exists(inbox)) {
      return List.of();
    }
    try (RandomAccessFile raf = new RandomAccessFile(inbox.toFile(), "r")) {
      long start = Math.max(0, raf.length() - INBOX_TAIL_BYTES);
      byte[] tail = new byte[(int) (raf.length() - start)];
      raf.seek(start);
      raf.readFully(tail);
      List<String> lines = List.of(new String(tail, StandardCharsets.UTF_8).split("\n"));
      return start == 0 ? lines : lines.subList(Math.min(1, lines.size()), lines.size());
    }
  }

  private static String key(String sender) {
    return sender.toLowerCase(Locale.ROOT); // names compare case-insensitively
  }
}
