package org.danemsg.node;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Copies the database's write-ahead log back into the database file, off the Printer's thread.
 * SQLite would otherwise do it inside a commit every 1,000 pages ({@code wal_autocheckpoint}), and the
 * Printer, and every message waiting for its commit, would wait for that copy and its fsync: the
 * latency spikes of a busy node. The Printer's connection turns automatic checkpoints off
 * ({@link MessageStore}) and schedules {@link #run} on another thread of its dispatcher. A PASSIVE
 * checkpoint never blocks the writer (WAL mode lets one writer and a checkpointer run together); it
 * copies what no reader still needs. SQLite reuses the log from its start only when a write begins
 * after all of it was copied, which a checkpoint on another thread never achieves while commits keep
 * coming: so once the log is long, the Printer finishes the copy itself between two commits
 * ({@link MessageStore#checkpoint}), a few pages by then. Owns its connection; {@link #run} and
 * {@link #close} are called one at a time.
 */
final class WalCheckpoints implements AutoCloseable {

  private final Connection db;

  WalCheckpoints(Path dataPath) throws SQLException {
    this.db = DriverManager.getConnection("jdbc:sqlite:" + dataPath.resolve(MessageStore.FILE).toAbsolutePath());
    try (Statement s = db.createStatement()) {
      s.execute("PRAGMA busy_timeout=10000");
      s.execute("PRAGMA synchronous=FULL");
    }
  }

  /**
   * How far a checkpoint got: the pages in the log, and how many of them are in the database file now.
   * When all are, the next write starts the log over.
   */
  record Progress(long logPages, long copiedPages) {

    boolean copiedAll() {
      return copiedPages >= logPages;
    }
  }

  /** One PASSIVE checkpoint; null when it could not run (busy, or closing: the next round does it). */
  synchronized Progress run() {
    try {
      return passive(db);
    } catch (SQLException e) {
      return null;
    }
  }

  /** A PASSIVE checkpoint through {@code db}, which must not be in a transaction. */
  static Progress passive(Connection db) throws SQLException {
    try (Statement s = db.createStatement(); ResultSet row = s.executeQuery("PRAGMA wal_checkpoint(PASSIVE)")) {
      if (!row.next() || row.getInt(1) != 0 || row.getLong(2) < 0) {
        return null; // not in WAL mode, or blocked
      }
      return new Progress(row.getLong(2), row.getLong(3));
    }
  }

  @Override
  public synchronized void close() {
    try {
      db.close();
    } catch (SQLException e) {
      // nothing was written through this connection but checkpoints
    }
  }
}
