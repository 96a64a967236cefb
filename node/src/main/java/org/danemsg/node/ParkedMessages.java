package org.danemsg.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.danemsg.protocol.DnsName;
import org.sqlite.SQLiteConfig;

/**
 * Reads the payloads parked in the node's database (table {@code parked} of {@link MessageStore}):
 * messages whose claimed sender's DNS could not be asked yet. The {@link Printer} writes and deletes
 * them (commands {@link Printer.Park}, {@link Printer.SetParkedSender}, and the {@code parkedId} of
 * {@link Printer.Deliver} and {@link Printer.Quarantine}); this class only reads, over a read-only
 * connection of its own, so that a start after a flood lists rows without their payloads and a
 * payload is on the heap only while it is being settled. Thread-safe (its methods are synchronized).
 */
final class ParkedMessages implements AutoCloseable {

  /**
   * A parked payload, without the payload.
   *
   * @param id its row, stable until the row is deleted
   * @param sender the claimed sender, or null for a payload an older node parked without its sender
   * @param size the payload's bytes
   * @param parkedAt when it was first parked (a redelivered copy keeps the first time)
   */
  record Parked(long id, DnsName sender, long size, Instant parkedAt) {}

  private final Connection db;
  private final PreparedStatement list;
  private final PreparedStatement read;

  /** Reads the database in {@code dataPath}, which the node created at start. */
  ParkedMessages(Path dataPath) throws IOException {
    Path file = dataPath.resolve(MessageStore.FILE);
    if (!Files.exists(file)) {
      throw new IOException("no database " + file + " (the node creates it at start)");
    }
    try {
      SQLiteConfig config = new SQLiteConfig();
      config.setReadOnly(true);
      config.setBusyTimeout(10_000);
      this.db = DriverManager.getConnection("jdbc:sqlite:" + file.toAbsolutePath(), config.toProperties());
      this.list = db.prepareStatement("SELECT id, sender, size, parked_at FROM parked ORDER BY id");
      this.read = db.prepareStatement("SELECT payload FROM parked WHERE id = ?");
    } catch (SQLException e) {
      throw new IOException("reading parked messages in " + file + ": " + MessageStore.describe(e), e);
    }
  }

  /** Every parked payload's row (no payloads), oldest first. */
  synchronized List<Parked> list() throws IOException {
    List<Parked> all = new ArrayList<>();
    try (ResultSet row = list.executeQuery()) {
      while (row.next()) {
        String sender = row.getString(2);
        long micros = row.getLong(4);
        all.add(new Parked(row.getLong(1),
            sender == null || DnsName.problemWith(sender) != null ? null : DnsName.parse(sender), row.getLong(3),
            Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000)));
      }
    } catch (SQLException e) {
      throw new IOException("listing parked messages: " + MessageStore.describe(e), e);
    }
    return all;
  }

  /** The payload of row {@code id}, or null when the row is gone (settled meanwhile). */
  synchronized byte[] read(long id) throws IOException {
    try {
      read.setLong(1, id);
      try (ResultSet row = read.executeQuery()) {
        return row.next() ? row.getBytes(1) : null;
      }
    } catch (SQLException e) {
      throw new IOException("reading parked message " + id + ": " + MessageStore.describe(e), e);
    }
  }

  @Override
  public synchronized void close() {
    try {
      db.close();
    } catch (SQLException e) {
      // read-only: nothing to lose
    }
  }
}
