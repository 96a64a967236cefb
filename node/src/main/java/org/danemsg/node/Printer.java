package org.danemsg.node;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.OpenedMessage;
import org.danemsg.protocol.Profile;
import org.danemsg.protocol.SafeText;

/**
 * The node's output, the point where a message counts as delivered, and the one writer of the node's
 * database ({@link MessageStore}, {@code DATA_PATH/danemsg.db}).
 *
 * <p>For an authenticated message: refuses it as a {@link Refusal#REPLAY} when its sender + id was
 * delivered before (a captured payload sent again, or a QoS 1 redelivery after a lost ack; legacy
 * messages by the digest of their signed content, for {@code legacy-replay-window}), else writes its
 * {@code seen} row and its {@code inbox} row in the open transaction. Replies are held: after the
 * messages waiting in the mailbox have been written, one commit puts them all on disk (group commit),
 * and only after that commit are the {@code <sender> says: <text>} lines printed on stdout
 * ({@linkplain SafeText#line made safe}) and the replies sent, so the ack the broker gets promises
 * only what is on disk. "Seen" and "printed" are one transaction: a crash before the commit leaves
 * nothing (the redelivered copy is printed then), a crash after it leaves the {@code seen} row (a
 * redelivered copy is refused as a replay), so no crash can print a message twice.
 *
 * <p>For a refused message: counts it per reason, logs it at WARN (at most
 * {@code warnLinesPerMinute} lines per reason a minute, then one line with the count of the others,
 * so a flood of garbage cannot flood the log) and writes its {@code quarantine} row with the first
 * {@code quarantinePayloadLimit} bytes of the payload.
 *
 * <p>Parked payloads (messages whose sender's DNS cannot be asked yet) are written here too
 * ({@link Park}, answered {@link ParkedAs} after the commit), and deleted in the same transaction as
 * the delivery or refusal that settles them ({@code parkedId} of {@link Deliver} and
 * {@link Quarantine}); {@link ParkedMessages} reads them.
 *
 * <p>Retention: the inbox and quarantine are kept within their bytes and age
 * ({@code danemsg.records}), checked at start, after a commit that took a table over its bytes, and
 * every hour; each deletion is logged. A write that fails for a condition of the node (disk full) is
 * answered with {@link Failed}: the message is not acked and comes again; one that SQLite refuses for
 * the values of the message is quarantined as {@link Refusal#UNRECORDABLE}. Runs on the file
 * dispatcher.
 */
public final class Printer extends AbstractBehavior<Printer.Command> {

  /** What the printer does. */
  public sealed interface Command {}

  /**
   * Deliver an authenticated message.
   *
   * @param dnssecValidated false in the DNSSEC-off lab mode: the output says so
   * @param payload the MQTT payload, quarantined if the message turns out to be a replay
   * @param parkedId the id of the message's {@code parked} row, deleted in the same transaction (0: none)
   */
  public record Deliver(OpenedMessage message, boolean dnssecValidated, byte[] payload, long parkedId,
      ActorRef<Outcome> replyTo) implements Command {

    /** A message that was not parked. */
    public Deliver(OpenedMessage message, boolean dnssecValidated, byte[] payload, ActorRef<Outcome> replyTo) {
      this(message, dnssecValidated, payload, 0, replyTo);
    }
  }

  /**
   * Record a refused message.
   *
   * @param parkedId the id of the message's {@code parked} row, deleted in the same transaction (0: none)
   */
  public record Quarantine(Refusal refusal, byte[] payload, long parkedId, ActorRef<Outcome> replyTo)
      implements Command {

    /** A message that was not parked. */
    public Quarantine(Refusal refusal, byte[] payload, ActorRef<Outcome> replyTo) {
      this(refusal, payload, 0, replyTo);
    }
  }

  /**
   * Park a payload whose sender cannot be checked yet; answered {@link ParkedAs} once on disk (a
   * payload parked already answers its row's id and keeps its first time), or {@link Failed}.
   *
   * @param sender the claimed sender, or null when not known
   * @param reservation the parking lot's room for it, told {@link ParkingLot.Stored} once the row is
   *     committed (or {@link ParkingLot.NotStored}); null when nobody waits for the row
   */
  public record Park(DnsName sender, byte[] payload, Instant parkedAt, ParkingLot.Reservation reservation,
      ActorRef<Outcome> replyTo) implements Command {

    /** A park nobody but {@code replyTo} waits for. */
    public Park(DnsName sender, byte[] payload, Instant parkedAt, ActorRef<Outcome> replyTo) {
      this(sender, payload, parkedAt, null, replyTo);
    }
  }

  /**
   * Set the sender of a parked row that has none (an older node's file, whose sender was learned by
   * decrypting it); answered {@link ParkedAs} once on disk, or {@link Failed}.
   */
  public record SetParkedSender(long parkedId, DnsName sender, ActorRef<Outcome> replyTo) implements Command {}

  /** Reply with the counters. */
  public record GetStats(ActorRef<Stats> replyTo) implements Command {}

  /**
   * Everything written so far in batch {@code batch} goes to disk, then the lines are printed and the held
   * replies go out; a flush of a batch committed already is ignored.
   */
  private record Flush(long batch) implements Command {}

  /** The end of a minute in which rejection lines were held back. */
  private record LogWindowEnded() implements Command {}

  /** Time to delete what is older than the retention ages. */
  private record CheckRetention() implements Command {}

  /** Time to copy the write-ahead log into the database, on another thread ({@link WalCheckpoints}). */
  private record Checkpoint() implements Command {}

  /** The checkpoint of {@link WalCheckpoints} ended: how far it got, or null when it could not run. */
  private record CheckpointDone(WalCheckpoints.Progress progress) implements Command {}

  /** The end of a minute in which retention lines of a table and cause were summed up instead of logged. */
  private record RetentionLogWindowEnded(String table, boolean byAge) implements Command {
    String setting() {
      return "records." + table + (byAge ? "-max-age" : "-max-bytes");
    }
  }

  /** What became of a message. */
  public sealed interface Outcome {}

  /** Printed and written to the inbox. */
  public record Printed() implements Outcome {}

  /** Refused and written to the quarantine. */
  public record Quarantined(Refusal refusal) implements Outcome {}

  /** Parked (or its sender set) in the row {@code id}. */
  public record ParkedAs(long id) implements Outcome {}

  /** Could not be written; do not ack. */
  public record Failed(String reason) implements Outcome {}

  /**
   * Published on the actor system's event stream after a commit that delivered messages: the inbox
   * has rows a reader following it by cursor (the local API's long polls) has not seen.
   */
  public record InboxAdvanced() {}

  /**
   * Counters since start.
   *
   * @param deletedByRetention inbox and quarantine rows deleted to stay within the retention bounds
   * @param warnLinesHeldBack rejections counted but not logged one by one
   */
  public record Stats(long delivered, Map<String, Long> rejected, long deletedByRetention, long warnLinesHeldBack) {
    /** Copies the map. */
    public Stats {
      rejected = Map.copyOf(rejected);
    }

    /** All rejections. */
    public long rejectedTotal() {
      return rejected.values().stream().mapToLong(Long::longValue).sum();
    }
  }

  /**
   * Called around a delivery: before it is recorded and printed (tests use it to stop a node at that exact
   * point), and after its record is committed.
   */
  @FunctionalInterface
  public interface Hook {
    /** Runs after the replay check, before the message is kept; an exception: nothing of it is written (nor acked). */
    void beforePrint(OpenedMessage message) throws Exception;

    /** Runs once the message's record is committed (cluster mode: its claim is no longer pending). */
    default void recorded(OpenedMessage message) {}

    /** A hook that does nothing. */
    static Hook none() {
      return message -> { };
    }
  }

  /**
   * Where the printer writes and its bounds.
   *
   * @param quarantinePayloadLimit the most payload bytes kept per quarantined message
   * @param records retention, the legacy replay window and the rejection lines logged per minute
   */
  public record Settings(Path dataPath, int quarantinePayloadLimit, NodeSettings.Records records, PrintStream out,
      Clock clock, Hook hook) {

    /** Settings with the defaults of reference.conf for the bounds. */
    public static Settings of(Path dataPath, PrintStream out, Clock clock, Hook hook) {
      return new Settings(dataPath, 4096, NodeSettings.Records.defaults(), out, clock, hook);
    }
  }

  /**
   * How often the write-ahead log is copied back. Each commit writes every page it changed into the log
   * again: at 1,500 msg/s in commits of a few messages about 15 MB of log a second, in commits of 32
   * about 1 MB.
   */
  private static final Duration CHECKPOINT_INTERVAL = Duration.ofSeconds(1);
  /**
   * A log longer than this (about 4 MB; SQLite's own bound for its automatic checkpoints) is started
   * over: after a checkpoint on the other thread, the Printer copies the rest itself between two commits
   * ({@link #startLogOver}). Without that the log grows for as long as commits keep coming.
   */
  private static final long START_LOG_OVER_AFTER_PAGES = 1_000;
  private static final Duration LOG_WINDOW = Duration.ofMinutes(1);
  private static final Duration RETENTION_CHECK_INTERVAL = Duration.ofHours(1);

  /**
   * Group commit under traffic. A commit's fsync and log writes cost more CPU than recording a message
   * (measured at 1,000 msg/s: 60 % of the Printer's time, one commit a message, as messages came one by
   * one); so when the batch's first message came soon after the last commit ({@link #TRAFFIC_GAP_NANOS}),
   * the commit waits {@link #GATHER_NANOS} once for more (or until the batch holds {@link #GATHER_UP_TO});
   * a reply waits at most that much longer; a quiet node commits at once. 2 ms rather than 1 (and batches of
   * up to 32, what the stream has in flight on 2 cores, rather than 16): node CPU per EC message -10 to -15 %
   * flat out and -15 % at 1,540 msg/s (3 alternating pairs flat out, 2 paced; 2026-11-28).
   *
   * <p>The Printer goes on recording while the commit waits: a message's received-at is when it came, and
   * it is not kept behind the wait. (Until 2026-11-29 the Printer's thread slept through the wait, and what
   * came meanwhile was recorded after it: median latency at 1,404 msg/s 2.0-2.1 ms against 1.2-1.3 ms now,
   * p99 9.1-35.7 ms against 7.9-9.0; node CPU flat out the same, paced 6.5 % more, the Printer waking for
   * each message; 2 alternating pairs each.) The wait is a JDK delayed executor's: Pekko's timers tick
   * every 10 ms.
   */
  private static final long GATHER_NANOS = 2_000_000;
  /** Runs a task {@link #GATHER_NANOS} from now, on the JDK's delay thread (a tell: nothing more). */
  private static final java.util.concurrent.Executor AFTER_GATHER = CompletableFuture.delayedExecutor(
      GATHER_NANOS, java.util.concurrent.TimeUnit.NANOSECONDS, Runnable::run);
  private static final long TRAFFIC_GAP_NANOS = 3_000_000;
  /** A batch this big is committed without waiting. */
  private static final int GATHER_UP_TO = 32;

  private final Settings settings;
  private final TimerScheduler<Command> timers;
  private final MessageStore store;
  /** Replies and lines of the open transaction: sent and printed after its commit. */
  private final List<Reply> held = new ArrayList<>();
  private final WalCheckpoints checkpoints;
  private boolean checkpointRunning;
  /** The log is long: started over after the open batch's commit. */
  private boolean logStartOverDue;
  private final List<String> toPrint = new ArrayList<>();
  /** {@link System#nanoTime()} at the end of the last commit, and when the open batch's first message came. */
  private long lastCommitEnded = System.nanoTime() - TRAFFIC_GAP_NANOS;
  private long batchOpened;
  /** The number of the open batch (or of the last one): a {@link Flush} names the batch it is for. */
  private long batch;
  /** The open batch waits for more messages, or did. */
  private boolean gathered;
  private long delivered;
  private long deletedByRetention;
  /** The hourly check came while a batch was open: done after its commit. */
  private boolean retentionDue;
  private final Map<String, Long> rejected = new TreeMap<>();
  private final LogBudget logBudget;
  /** Rows deleted per retention kind while its log window is open, logged as one line when it ends. */
  private final Map<RetentionLogWindowEnded, Long> trimsHeldBack = new java.util.HashMap<>();

  /** A reply held until the commit; {@code then} (may be null) is told whether the commit succeeded. */
  private record Reply(ActorRef<Outcome> to, Outcome outcome, java.util.function.Consumer<Boolean> then) {
    void send() {
      if (then != null) {
        then.accept(true);
      }
      to.tell(outcome);
    }

    void failed(String detail) {
      if (then != null) {
        then.accept(false);
      }
      to.tell(new Failed(detail));
    }
  }

  /** A printer writing under {@code settings.dataPath()}. */
  public static Behavior<Command> create(Settings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> new Printer(context, timers, settings)));
  }

  private Printer(ActorContext<Command> context, TimerScheduler<Command> timers, Settings settings)
      throws IOException {
    super(context);
    this.settings = settings;
    this.timers = timers;
    this.logBudget = new LogBudget(settings.records().warnLinesPerMinute());
    this.store = MessageStore.open(settings.dataPath(), settings.records(), settings.quarantinePayloadLimit(),
        settings.clock());
    enforceRetention();
    timers.startTimerWithFixedDelay(CheckRetention.class, new CheckRetention(), RETENTION_CHECK_INTERVAL);
    try {
      this.checkpoints = new WalCheckpoints(settings.dataPath());
    } catch (java.sql.SQLException e) {
      store.close();
      throw new IOException("the node's database: " + MessageStore.describe(e), e);
    }
    timers.startTimerWithFixedDelay(Checkpoint.class, new Checkpoint(), CHECKPOINT_INTERVAL);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Deliver.class, this::onDeliver)
        .onMessage(Quarantine.class, q -> recordRefusal(q.refusal(), q.payload(), q.parkedId(), q.replyTo()))
        .onMessage(Park.class, this::onPark)
        .onMessage(SetParkedSender.class, this::onSetParkedSender)
        .onMessage(Flush.class, this::onFlush)
        .onMessage(Checkpoint.class, this::onCheckpoint)
        .onMessage(CheckpointDone.class, this::onCheckpointDone)
        .onMessage(LogWindowEnded.class, end -> {
          endLogWindow();
          return this;
        })
        .onMessage(CheckRetention.class, check -> {
          enforceRetention();
          return this;
        })
        .onMessage(RetentionLogWindowEnded.class, this::onRetentionLogWindowEnded)
        .onMessage(GetStats.class, get -> {
          get.replyTo().tell(new Stats(delivered, rejected, deletedByRetention, logBudget.heldBackTotal()));
          return this;
        })
        .onSignal(PostStop.class, stop -> {
          checkpoints.close();
          store.close(); // what was not committed was neither printed nor acked: it comes again
          return this;
        })
        .build();
  }

  private Behavior<Command> onDeliver(Deliver deliver) {
    OpenedMessage m = deliver.message();
    String sender = m.sender().toString();
    MessageStore.Delivery delivery;
    try {
      // The replay check is the write of the seen row: one statement (MessageStore.recordDelivery).
      delivery = store.recordDelivery(m, deliver.dnssecValidated(), settings.clock().instant(), deliver.parkedId(),
          settings.hook()::beforePrint);
    } catch (MessageStore.Stopped e) {
      // The hook stands for the node itself stopping at this point (tests): nothing is written or acked.
      deliver.replyTo().tell(new Failed("stopped before printing: " + SafeText.detail(e.getCause().toString())));
      return this;
    } catch (IOException e) {
      return diskFailed(deliver.replyTo(), "cannot record a message from " + sender, e);
    } catch (MessageStore.Unrecordable e) {
      // Not a condition of the disk but of this message: it must not come back first forever.
      return recordRefusal(new Refusal(Refusal.UNRECORDABLE, "the message could not be recorded ("
          + e.getMessage() + ")", m.sender()), deliver.payload(), deliver.parkedId(), deliver.replyTo());
    }
    if (delivery == MessageStore.Delivery.REPLAY) {
      Refusal refusal = new Refusal(Refusal.REPLAY, "message id " + m.id()
          + " was delivered already (a replayed capture, or the broker redelivering after a lost ack)",
          m.sender());
      return recordRefusal(refusal, deliver.payload(), deliver.parkedId(), deliver.replyTo());
    }
    toPrint.add(sender + " says: " + SafeText.line(m.text())
        + (deliver.dnssecValidated() ? "" : " [UNAUTHENTICATED: DNSSEC off]")
        + (m.profile() == Profile.LEGACY ? " [legacy]" : ""));
    hold(deliver.replyTo(), new Printed(), committed -> {
      if (committed) {
        settings.hook().recorded(m);
      }
    });
    return this;
  }

  /**
   * A write or read of the records failed: a condition of the node; the message is not acked and
   * comes again. When SQLite dropped the whole open transaction, every message held in it fails too.
   */
  private Behavior<Command> diskFailed(ActorRef<Outcome> replyTo, String what, IOException e) {
    String detail = SafeText.detail(e.getMessage());
    getContext().getLog().error("{}: {}; the message stays unacknowledged and comes again", what, detail);
    replyTo.tell(new Failed(detail));
    if (e instanceof MessageStore.BatchLost) {
      failHeld(detail);
    }
    return this;
  }

  private void failHeld(String detail) {
    if (!held.isEmpty()) {
      getContext().getLog().error("the {} message(s) written with it since the last commit were undone too and"
          + " stay unacknowledged", held.size());
    }
    for (Reply reply : held) {
      reply.failed(detail);
    }
    held.clear();
    toPrint.clear();
  }

  private Behavior<Command> recordRefusal(Refusal refusal, byte[] payload, long parkedId,
      ActorRef<Outcome> replyTo) {
    try {
      store.recordRefusal(refusal, payload, settings.clock().instant(), parkedId);
    } catch (IOException e) {
      return diskFailed(replyTo, "cannot write to the quarantine", e);
    } catch (MessageStore.Unrecordable e) {
      // Refusals are the node's own strings and the payload a blob: SQLite refusing them is a bug.
      getContext().getLog().error("cannot write to the quarantine: {}; the message stays unacknowledged",
          SafeText.detail(e.getMessage()));
      replyTo.tell(new Failed(SafeText.detail(e.getMessage())));
      return this;
    }
    counted(refusal);
    hold(replyTo, new Quarantined(refusal));
    return this;
  }

  /** A refusal written to the quarantine: counted and logged (within the log's budget). */
  private void counted(Refusal refusal) {
    rejected.merge(refusal.reason(), 1L, Long::sum);
    logRejection(refusal);
  }

  private Behavior<Command> onPark(Park park) {
    ParkingLot.Reservation reservation = park.reservation();
    try {
      MessageStore.ParkedRow row = store.park(park.sender(), park.payload(), park.parkedAt());
      long id = row.id();
      if (row.copy()) {
        // A copy of a message waiting parked (a replay, or the broker's redelivery): it is kept once, on the
        // row there; the copy is recorded, so that no copy goes without a trace.
        Refusal copy = new Refusal(Refusal.REPLAY, "a copy of a message parked already (parked message "
            + id + "): it is delivered once, from there", park.sender());
        store.recordRefusal(copy, park.payload(), settings.clock().instant(), 0);
        counted(copy);
      }
      hold(park.replyTo(), new ParkedAs(id), reservation == null ? null : committed -> reservation.lot().tell(
          committed ? new ParkingLot.Stored(reservation.token(), id) : new ParkingLot.NotStored(reservation.token())));
    } catch (IOException e) {
      notStored(reservation);
      return diskFailed(park.replyTo(), "cannot park a message" + (park.sender() == null ? "" : " from "
          + park.sender()), e);
    } catch (MessageStore.Unrecordable e) {
      notStored(reservation);
      park.replyTo().tell(new Failed(SafeText.detail(e.getMessage())));
    }
    return this;
  }

  private static void notStored(ParkingLot.Reservation reservation) {
    if (reservation != null) {
      reservation.lot().tell(new ParkingLot.NotStored(reservation.token()));
    }
  }

  private Behavior<Command> onSetParkedSender(SetParkedSender set) {
    try {
      store.setParkedSender(set.parkedId(), set.sender());
      hold(set.replyTo(), new ParkedAs(set.parkedId()));
    } catch (IOException e) {
      return diskFailed(set.replyTo(), "cannot set a parked message's sender", e);
    } catch (MessageStore.Unrecordable e) {
      set.replyTo().tell(new Failed(SafeText.detail(e.getMessage())));
    }
    return this;
  }

  /** One WARN line per rejection, up to the limit per reason and minute; the rest are counted. */
  private void logRejection(Refusal refusal) {
    LogBudget.Verdict verdict = logBudget.take(refusal.reason());
    if (!timers.isTimerActive(LogWindowEnded.class)) {
      timers.startSingleTimer(LogWindowEnded.class, new LogWindowEnded(), LOG_WINDOW);
    }
    if (verdict != LogBudget.Verdict.HOLD) {
      getContext().getLog().warn("rejected message{}: {}: {}",
          refusal.sender() == null ? "" : " from " + refusal.sender(), refusal.reason(), refusal.detail());
    }
    if (verdict == LogBudget.Verdict.LOG_LAST) {
      getContext().getLog().warn("{} {} rejections this minute: further ones are counted and quarantined,"
          + " not logged one by one, until the minute is over", settings.records().warnLinesPerMinute(),
          refusal.reason());
    }
  }

  private void endLogWindow() {
    logBudget.endWindow().forEach((reason, count) -> getContext().getLog().warn(
        "rejected {} more message(s) as {} in the last minute (not logged one by one; see tools quarantine)",
        count, reason));
  }

  private void hold(ActorRef<Outcome> replyTo, Outcome outcome) {
    hold(replyTo, outcome, null);
  }

  private void hold(ActorRef<Outcome> replyTo, Outcome outcome, java.util.function.Consumer<Boolean> then) {
    if (held.isEmpty()) {
      batchOpened = System.nanoTime();
      batch++;
      gathered = false;
      getContext().getSelf().tell(new Flush(batch)); // after the messages already in the mailbox
    }
    held.add(new Reply(replyTo, outcome, then));
    if (held.size() == GATHER_UP_TO && gathered) {
      getContext().getSelf().tell(new Flush(batch)); // full: committed without waiting any longer
    }
  }

  /** Runs a checkpoint on another thread of the Printer's dispatcher, one at a time. */
  private Behavior<Command> onCheckpoint(Checkpoint tick) {
    if (!checkpointRunning) {
      checkpointRunning = true;
      WalCheckpoints wal = checkpoints;
      getContext().pipeToSelf(CompletableFuture.supplyAsync(wal::run, getContext().getExecutionContext()),
          (progress, error) -> new CheckpointDone(error == null ? progress : null));
    }
    return this;
  }

  private Behavior<Command> onCheckpointDone(CheckpointDone done) {
    checkpointRunning = false;
    if (done.progress() != null && done.progress().logPages() > START_LOG_OVER_AFTER_PAGES) {
      logStartOverDue = true;
      if (held.isEmpty()) {
        startLogOver(); // no batch is open
      }
    }
    return this;
  }

  /**
   * Copies what the last checkpoint left of a long log, through the Printer's own connection between two
   * commits: the pages committed while that checkpoint ran. With all of the log in the database file,
   * SQLite starts it over at the next write (unless a reader still reads an older state: then the next
   * round tries again).
   */
  private void startLogOver() {
    logStartOverDue = false;
    try {
      WalCheckpoints.Progress progress = store.checkpoint();
      if (progress != null) {
        getContext().getLog().debug("write-ahead log of {} pages copied{}", progress.logPages(),
            progress.copiedAll() ? "; it starts over" : " up to page " + progress.copiedPages());
      }
    } catch (IOException e) {
      // The log is then longer for a while; the commits themselves went through.
      getContext().getLog().warn("cannot copy the write-ahead log into the database: {}",
          SafeText.detail(e.getMessage()));
    }
  }

  private Behavior<Command> onFlush(Flush flush) {
    if (flush.batch() != batch || held.isEmpty()) {
      return this; // that batch was committed (full), or failed
    }
    if (!gathered && held.size() < GATHER_UP_TO && batchOpened - lastCommitEnded < TRAFFIC_GAP_NANOS) {
      // Messages that come meanwhile are recorded as they come; the commit waits (see GATHER_NANOS)
      gathered = true;
      ActorRef<Command> self = getContext().getSelf();
      Flush again = new Flush(batch);
      AFTER_GATHER.execute(() -> self.tell(again));
      return this;
    }
    try {
      store.commit();
    } catch (IOException e) {
      String detail = SafeText.detail(e.getMessage());
      getContext().getLog().error("cannot put the records on disk: {}; the {} message(s) written since the last"
          + " commit stay unacknowledged and come again", detail, held.size());
      for (Reply reply : held) {
        reply.failed(detail);
      }
      held.clear();
      toPrint.clear();
      return this;
    }
    // Only now: what is printed and acked is on disk, and a crash from here on cannot print it twice.
    if (!toPrint.isEmpty()) {
      getContext().getSystem().eventStream().tell(new EventStream.Publish<>(new InboxAdvanced()));
    }
    // One write for the batch: System.out flushes at every line, a system call each.
    StringBuilder lines = new StringBuilder();
    for (String line : toPrint) {
      lines.append(line).append(System.lineSeparator());
      delivered++;
    }
    settings.out().print(lines);
    settings.out().flush();
    for (Reply reply : held) {
      reply.send();
    }
    held.clear();
    toPrint.clear();
    lastCommitEnded = System.nanoTime();
    if (retentionDue || store.overBytes()) {
      enforceRetention();
    }
    if (logStartOverDue) {
      startLogOver();
    }
    return this;
  }

  /** Deletes what is past the retention bounds (between batches: nothing is held then) and logs it. */
  private void enforceRetention() {
    if (!held.isEmpty()) {
      retentionDue = true; // a batch is open: its commit (onFlush) does it
      return;
    }
    retentionDue = false;
    List<MessageStore.Trim> trims;
    try {
      trims = store.enforceRetention();
    } catch (IOException e) {
      getContext().getLog().error("retention: cannot delete old records: {}", SafeText.detail(e.getMessage()));
      return;
    }
    for (MessageStore.Trim trim : trims) {
      deletedByRetention += trim.rows();
      logTrim(trim);
    }
  }

  /**
   * The first deletion of a kind (table and cause) is logged at once; further ones within a minute
   * are summed up when the minute ends, so that a flood of rejections at the quarantine's bound does
   * not flood the log.
   */
  private void logTrim(MessageStore.Trim trim) {
    RetentionLogWindowEnded kind = new RetentionLogWindowEnded(trim.table(), trim.byAge());
    if (timers.isTimerActive(kind)) {
      trimsHeldBack.merge(kind, trim.rows(), Long::sum);
      return;
    }
    timers.startSingleTimer(kind, kind, LOG_WINDOW);
    if (trim.byAge()) {
      Duration age = trim.table().equals("inbox") ? settings.records().inboxMaxAge()
          : settings.records().quarantineMaxAge();
      getContext().getLog().info("retention: deleted {} {} record(s) older than {} ({}); {} record(s) remain",
          trim.rows(), trim.table(), describe(age), kind.setting(), trim.rowsLeft());
    } else {
      long max = trim.table().equals("inbox") ? settings.records().inboxMaxBytes()
          : settings.records().quarantineMaxBytes();
      getContext().getLog().warn("retention: deleted the {} oldest {} record(s) ({} bytes): the table held more"
          + " than {} {} bytes (the sum of its rows' sizes); {} record(s) of {} bytes remain", trim.rows(),
          trim.table(), trim.bytes(), kind.setting(), max, trim.rowsLeft(), trim.bytesLeft());
    }
  }

  private Behavior<Command> onRetentionLogWindowEnded(RetentionLogWindowEnded kind) {
    Long rows = trimsHeldBack.remove(kind);
    if (rows != null) {
      getContext().getLog().warn("retention: deleted {} more {} record(s) in the last minute ({})", rows,
          kind.table(), kind.setting());
      timers.startSingleTimer(kind, kind, LOG_WINDOW);
    }
    return this;
  }

  private static String describe(Duration age) {
    return age.toHours() % 24 == 0 && age.toDays() > 0 ? age.toDays() + " days" : age.toString();
  }

  /** The text as one safe line ({@link org.danemsg.protocol.SafeText#line}). */
  public static String escape(String text) {
    return org.danemsg.protocol.SafeText.line(text);
  }
}
