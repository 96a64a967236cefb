package org.danemsg.node;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import org.sqlite.SQLiteConfig;

/**
 * A read-only connection to a node's database ({@code DATA_PATH/danemsg.db}) for an actor that reads it
 * beside the Printer (SQLite's WAL: it reads the last commit while the Printer writes): opened read-only
 * and {@code query_only}, waiting up to 10 s for a lock.
 */
public final class ReadOnlyDatabase {

  private ReadOnlyDatabase() {}

  /** Opens {@code file} read-only. */
  public static Connection open(Path file) throws SQLException {
    SQLiteConfig config = new SQLiteConfig();
    config.setReadOnly(true);
    config.setBusyTimeout(10_000);
    Connection db = DriverManager.getConnection("jdbc:sqlite:" + file.toAbsolutePath(), config.toProperties());
    try (Statement s = db.createStatement()) {
      s.execute("PRAGMA query_only=1");
    } catch (SQLException e) {
      close(db);
      throw e;
    }
    return db;
  }

  /** Closes {@code db} (null: nothing); a read-only connection has nothing to lose. */
  public static void close(Connection db) {
    if (db != null) {
      try {
        db.close();
      } catch (SQLException e) {
        // read-only: nothing to lose
      }
    }
  }
}
