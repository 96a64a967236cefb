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
 * copies what no reader still needs and the log is then reused from its start. Owns its connection;
 * {@link #run} and {@link #close} are called one at a time.
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

  /** One PASSIVE checkpoint; returns the log's pages that were copied (or -1 when it could not run). */
  synchronized long run() {
    try (Statement s = db.createStatement(); ResultSet row = s.executeQuery("PRAGMA wal_checkpoint(PASSIVE)")) {
      return row.next() ? row.getLong(3) : -1;
    } catch (SQLException e) {
      return -1; // busy or closing: the next round does it
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
