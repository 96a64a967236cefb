package org.danemsg.node;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Locale;
import java.util.function.Predicate;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.danemsg.protocol.SafeText;

/**
 * A cluster member's answer to "did you deliver this message?", asked by a {@link ClaimBucket} before it
 * grants a late claim (a message sent before the bucket's memory). Delivered means: a claim of it was
 * granted to this member and its record is not committed yet ({@link ReplayClaims#pendingHere}), or its id
 * is in this member's replay window (table {@code seen} of {@code DATA_PATH/danemsg.db}, which keeps it
 * until the message expires). The pending claims are checked first: a record committed between the two
 * checks is then in the database. Registered with the receptionist under {@link #KEY}; reads over a
 * read-only connection of its own (WAL: the last commit, while the Printer writes), on the file dispatcher.
 * A read that fails is not answered: the asking bucket then decides nothing (fail closed).
 */
public final class SeenLookup extends AbstractBehavior<SeenLookup.Command> {

  /** Every member's lookup is registered under this key. */
  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "danemsg-seen");

  /** What the lookup does. */
  public sealed interface Command {}

  /** Whether this member delivered {@code key} (sender, a space, message id). */
  public record Lookup(String key, ActorRef<Found> replyTo) implements Command, ClaimBucket.Wire {}

  /** The answer of member {@code member} (its claims' name), listening at {@code address} (host:port). */
  public record Found(String member, String address, String key, boolean delivered) implements ClaimBucket.Wire {}

  private static final String QUERY = "SELECT 1 FROM seen WHERE sender = ? AND id = ?";

  private final String member;
  private final String address;
  private final Predicate<String> pending;
  private final Path file;
  private Connection db;
  private PreparedStatement query;
  private int failuresInARow;

  /**
   * The lookup of member {@code member} at {@code address}, reading {@code dataPath}'s database, with
   * {@code pending} telling whether a key was granted to this member and not yet recorded.
   */
  public static Behavior<Command> create(String member, String address, Path dataPath, Predicate<String> pending) {
    return Behaviors.setup(context -> {
      context.getSystem().receptionist().tell(Receptionist.register(KEY, context.getSelf()));
      return new SeenLookup(context, member, address, dataPath.resolve(MessageStore.FILE), pending);
    });
  }

  private SeenLookup(ActorContext<Command> context, String member, String address, Path file,
      Predicate<String> pending) {
    super(context);
    this.member = member;
    this.address = address;
    this.file = file;
    this.pending = pending;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Lookup.class, this::onLookup)
        .onSignal(PreRestart.class, signal -> close())
        .onSignal(PostStop.class, signal -> close())
        .build();
  }

  private Behavior<Command> onLookup(Lookup lookup) {
    String key = lookup.key();
    int space = key.indexOf(' ');
    if (space <= 0 || space == key.length() - 1) {
      getContext().getLog().warn("a claim bucket asked about '{}', which is no sender and message id",
          SafeText.detail(key));
      return this;
    }
    try {
      boolean delivered = pending.test(key) || inDatabase(key.substring(0, space), key.substring(space + 1));
      if (failuresInARow > 0) {
        getContext().getLog().info("the replay window is readable again after {} failed lookup(s)", failuresInARow);
        failuresInARow = 0;
      }
      lookup.replyTo().tell(new Found(member, address, key, delivered));
    } catch (SQLException e) {
      failuresInARow++;
      if (failuresInARow % 60 == 1) {
        getContext().getLog().warn("cannot tell the cluster whether this member delivered a message: reading {}"
            + " failed ({}; {} in a row); messages sent before the cluster's memory wait until it can",
            file, MessageStore.describe(e), failuresInARow);
      }
      close(); // opened afresh at the next lookup
    }
    return this;
  }

  private boolean inDatabase(String sender, String id) throws SQLException {
    if (db == null) {
      db = ReadOnlyDatabase.open(file);
      query = db.prepareStatement(QUERY);
    }
    // As the Printer writes them (MessageStore: names compare case-insensitively).
    query.setString(1, SafeText.wellFormed(sender).toLowerCase(Locale.ROOT));
    query.setString(2, SafeText.wellFormed(id));
    try (ResultSet row = query.executeQuery()) {
      return row.next();
    }
  }

  private Behavior<Command> close() {
    ReadOnlyDatabase.close(db);
    db = null;
    query = null;
    return this;
  }
}
