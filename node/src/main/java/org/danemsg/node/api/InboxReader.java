package org.danemsg.node.api;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.danemsg.node.ReadOnlyDatabase;
import org.danemsg.protocol.SafeText;

/**
 * Reads delivered messages for the API from the node's database ({@code DATA_PATH/danemsg.db}) over
 * a read-only connection of its own, which it owns: SQLite's WAL lets it read the last commit while
 * the Printer writes. Rows come by the {@code inbox} table's {@code cursor} (autoincrement: it only
 * grows, is never reused and survives restarts), oldest first. Queries block: the actor runs on the
 * API's dispatcher, never on the default one.
 */
public final class InboxReader extends AbstractBehavior<InboxReader.Command> {

  /** What the reader does. */
  public sealed interface Command {}

  /** Reply with at most {@code limit} messages after {@code cursor}, oldest first. */
  public record Read(long cursor, int limit, ActorRef<Result> replyTo) implements Command {}

  /** What a read gives. */
  public sealed interface Result {}

  /** The messages found (none when nothing came after the cursor). */
  public record Rows(List<InboxMessage> messages) implements Result {
    /** Copies the list. */
    public Rows {
      messages = List.copyOf(messages);
    }
  }

  /** The database could not be read; the reason, one line. */
  public record Unreadable(String reason) implements Result {}

  /** One delivered message as the API shows it. */
  public record InboxMessage(long cursor, String id, String sender, String recipient, String text, Instant sentAt,
      Instant receivedAt, String profile, String dnssec) {}

  /** The database's file name in {@code DATA_PATH} (the node's {@code MessageStore.FILE}). */
  static final String DATABASE = "danemsg.db";

  private static final String QUERY = "SELECT cursor, id, sender, recipient, text, sent_at, received_at, profile,"
      + " dnssec FROM inbox WHERE cursor > ? ORDER BY cursor LIMIT ?";

  private final Path file;
  private Connection db;
  private PreparedStatement query;

  /** A reader of the database in {@code dataPath}; the connection opens at the first read. */
  public static Behavior<Command> create(Path dataPath) {
    return Behaviors.setup(context -> new InboxReader(context, dataPath.resolve(DATABASE)));
  }

  private InboxReader(ActorContext<Command> context, Path file) {
    super(context);
    this.file = file;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Read.class, this::onRead)
        .onSignal(PreRestart.class, signal -> close())
        .onSignal(PostStop.class, signal -> close())
        .build();
  }

  private Behavior<Command> onRead(Read read) {
    try {
      if (db == null) {
        open();
      }
      query.setLong(1, read.cursor());
      query.setInt(2, read.limit());
      List<InboxMessage> messages = new ArrayList<>();
      try (ResultSet row = query.executeQuery()) {
        while (row.next()) {
          messages.add(new InboxMessage(row.getLong(1), row.getString(2), row.getString(3), row.getString(4),
              row.getString(5), time(row, 6), time(row, 7), row.getString(8), row.getString(9)));
        }
      }
      read.replyTo().tell(new Rows(messages));
    } catch (SQLException e) {
      String reason = SafeText.detail(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
      getContext().getLog().warn("API: cannot read the inbox in {}: {}", file, reason);
      read.replyTo().tell(new Unreadable(reason));
      close(); // opened afresh at the next read
    }
    return this;
  }

  private void open() throws SQLException {
    db = ReadOnlyDatabase.open(file);
    query = db.prepareStatement(QUERY);
  }

  private Behavior<Command> close() {
    ReadOnlyDatabase.close(db);
    db = null;
    query = null;
    return this;
  }

  private static Instant time(ResultSet row, int column) throws SQLException {
    long micros = row.getLong(column);
    if (row.wasNull()) {
      return null;
    }
    return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000);
  }
}
