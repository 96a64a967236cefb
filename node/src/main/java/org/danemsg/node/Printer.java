package org.danemsg.node;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.danemsg.protocol.OpenedMessage;
import org.danemsg.protocol.Profile;
import org.danemsg.protocol.SafeText;

/**
 * The node's output, and the point where a message counts as delivered. For an authenticated
 * message: refuses it as a {@link Refusal#REPLAY} when its sender + id was delivered before (a
 * captured payload sent again, or a QoS 1 redelivery after a lost ack; legacy messages by the digest
 * of their signed content, for {@code legacy-replay-window}), else appends a JSON line to
 * {@code inbox.jsonl}, records the id in the {@link ReplayCache}, and only then prints
 * {@code <sender> says: <text>} on stdout ({@linkplain SafeText#line made safe}). Recording before
 * printing, in this one actor, makes "seen" and "printed" one event: a crash at any point cannot make
 * a message print twice (what was appended is in the OS's hands, and a redelivered copy is then found
 * in the replay cache, or in the inbox's tail at start).
 *
 * <p>For a refused message: counts it per reason, logs it at WARN (at most
 * {@code warnLinesPerMinute} lines per reason a minute, then one line with the count of the others,
 * so a flood of garbage cannot flood the log) and appends it to {@code quarantine.jsonl} with the
 * payload (base64, capped). The quarantine file is bounded in bytes: when full it is moved to
 * {@code quarantine.jsonl.1}, replacing the previous one, which is logged and counted.
 *
 * <p>Replies are held until the lines they promise are on disk: after the messages waiting in the
 * mailbox have been written, one fsync of each file answers them all (group commit), so the ack the
 * broker gets promises only what is on disk. A write that fails (disk full: a condition of the node,
 * not of the message) is answered with {@link Failed}: the message is not acked and comes again; no
 * content of a message can make a write fail ({@link JsonLines} writes any string). Runs on the file
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
   */
  public record Deliver(OpenedMessage message, boolean dnssecValidated, byte[] payload, ActorRef<Outcome> replyTo)
      implements Command {}

  /** Record a refused message. */
  public record Quarantine(Refusal refusal, byte[] payload, ActorRef<Outcome> replyTo) implements Command {}

  /** Reply with the counters. */
  public record GetStats(ActorRef<Stats> replyTo) implements Command {}

  /** Everything written so far goes to disk, then the held replies go out. */
  private record Flush() implements Command {}

  /** The end of a minute in which rejection lines were held back. */
  private record LogWindowEnded() implements Command {}

  /** What became of a message. */
  public sealed interface Outcome {}

  /** Printed and written to the inbox. */
  public record Printed() implements Outcome {}

  /** Refused and written to the quarantine file. */
  public record Quarantined(Refusal refusal) implements Outcome {}

  /** Parked on disk by the parking lot (not the Printer's doing): ack it. */
  public record Parked(org.danemsg.protocol.DnsName sender) implements Outcome {}

  /** Could not be written; do not ack. */
  public record Failed(String reason) implements Outcome {}

  /**
   * Counters since start.
   *
   * @param quarantineRotations how often the full quarantine file was moved aside
   * @param warnLinesHeldBack rejections counted but not logged one by one
   */
  public record Stats(long delivered, Map<String, Long> rejected, long quarantineRotations, long warnLinesHeldBack) {
    /** Copies the map. */
    public Stats {
      rejected = Map.copyOf(rejected);
    }

    /** All rejections. */
    public long rejectedTotal() {
      return rejected.values().stream().mapToLong(Long::longValue).sum();
    }
  }

  /** Called before a message is printed; tests use it to stop a node at that exact point. */
  @FunctionalInterface
  public interface Hook {
    /** Runs before the output is written; an exception means nothing is written. */
    void beforePrint(OpenedMessage message) throws Exception;

    /** A hook that does nothing. */
    static Hook none() {
      return message -> { };
    }
  }

  /**
   * Where the printer writes and its bounds.
   *
   * @param quarantinePayloadLimit the most payload bytes kept per quarantined message
   * @param quarantineMaxBytes the size at which quarantine.jsonl is moved aside (0: never)
   * @param legacyReplayWindow how long the digest of a delivered legacy message is remembered
   * @param warnLinesPerMinute rejection lines logged per reason a minute before they are only counted
   */
  public record Settings(Path dataPath, int quarantinePayloadLimit, long quarantineMaxBytes,
      Duration legacyReplayWindow, int warnLinesPerMinute, PrintStream out, Clock clock, Hook hook) {

    /** Settings with the defaults of reference.conf for the bounds. */
    public static Settings of(Path dataPath, PrintStream out, Clock clock, Hook hook) {
      return new Settings(dataPath, 4096, 16L << 20, Duration.ofDays(7), 20, out, clock, hook);
    }
  }

  private static final Duration LOG_WINDOW = Duration.ofMinutes(1);

  private final Settings settings;
  private final TimerScheduler<Command> timers;
  private final JsonLines inbox;
  private final JsonLines quarantine;
  private final ReplayCache replays;
  private final List<Reply> held = new ArrayList<>();
  private long delivered;
  private final Map<String, Long> rejected = new TreeMap<>();
  private final LogBudget logBudget;

  private record Reply(ActorRef<Outcome> to, Outcome outcome) {}

  /** A printer writing under {@code settings.dataPath()}. */
  public static Behavior<Command> create(Settings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> new Printer(context, timers, settings)));
  }

  private Printer(ActorContext<Command> context, TimerScheduler<Command> timers, Settings settings)
      throws IOException {
    super(context);
    this.settings = settings;
    this.timers = timers;
    this.logBudget = new LogBudget(settings.warnLinesPerMinute());
    Path inboxFile = settings.dataPath().resolve("inbox.jsonl");
    this.inbox = new JsonLines(inboxFile);
    this.quarantine = new JsonLines(settings.dataPath().resolve("quarantine.jsonl"), settings.quarantineMaxBytes());
    this.replays = new ReplayCache(settings.dataPath(), inboxFile, settings.clock(), settings.legacyReplayWindow());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Deliver.class, this::onDeliver)
        .onMessage(Quarantine.class, this::onQuarantine)
        .onMessage(Flush.class, this::onFlush)
        .onMessage(LogWindowEnded.class, end -> {
          endLogWindow();
          return this;
        })
        .onMessage(GetStats.class, get -> {
          get.replyTo().tell(new Stats(delivered, rejected, quarantine.rotations(), logBudget.heldBackTotal()));
          return this;
        })
        .onSignal(PostStop.class, stop -> {
          close();
          return this;
        })
        .build();
  }

  private Behavior<Command> onDeliver(Deliver deliver) {
    OpenedMessage m = deliver.message();
    String sender = m.sender().toString();
    String id = m.id();
    boolean seen;
    try {
      seen = id != null && replays.seen(sender, id);
    } catch (IOException e) {
      return diskFailed(deliver.replyTo(), "cannot read the replay window", e);
    }
    if (seen) {
      Refusal refusal = new Refusal(Refusal.REPLAY, "message id " + id
          + " was delivered already (a replayed capture, or the broker redelivering after a lost ack)",
          m.sender());
      return recordRefusal(refusal, deliver.payload(), deliver.replyTo());
    }
    Instant now = settings.clock().instant();
    try {
      settings.hook().beforePrint(m);
    } catch (Exception e) {
      // The hook stands for the node itself stopping at this point (tests): nothing is written or acked.
      deliver.replyTo().tell(new Failed("stopped before printing: " + SafeText.detail(e.toString())));
      return this;
    }
    try {
      inbox.append(inboxLine(m, deliver.dnssecValidated(), now));
      if (id != null) {
        replays.record(sender, id, m.expiresAt() != null ? m.expiresAt() : now.plus(settings.legacyReplayWindow()));
      }
    } catch (IOException e) {
      return diskFailed(deliver.replyTo(), "cannot record a message from " + sender, e);
    } catch (Exception e) {
      // Not a condition of the disk, so possibly of this message: it must not come back first forever.
      return recordRefusal(new Refusal(Refusal.UNRECORDABLE, "the message could not be recorded ("
          + e.getClass().getSimpleName() + ")", m.sender()), deliver.payload(), deliver.replyTo());
    }
    settings.out().println(sender + " says: " + SafeText.line(m.text())
        + (deliver.dnssecValidated() ? "" : " [UNAUTHENTICATED: DNSSEC off]")
        + (m.profile() == Profile.LEGACY ? " [legacy]" : ""));
    settings.out().flush();
    delivered++;
    hold(deliver.replyTo(), new Printed());
    return this;
  }

  /** A write or read of the records failed: a condition of the node; the message is not acked and comes again. */
  private Behavior<Command> diskFailed(ActorRef<Outcome> replyTo, String what, IOException e) {
    String detail = SafeText.detail(e.toString());
    getContext().getLog().error("{}: {}; the message stays unacknowledged and comes again", what, detail);
    replyTo.tell(new Failed(detail));
    return this;
  }

  private static Map<String, Object> inboxLine(OpenedMessage m, boolean dnssecValidated, Instant now) {
    Map<String, Object> line = new LinkedHashMap<>();
    // Microseconds: end-to-end latencies on loopback are around a millisecond (tools bench reads this).
    line.put("received-at", now.truncatedTo(ChronoUnit.MICROS).toString());
    line.put("sender", m.sender().toString());
    line.put("recipient", m.recipient().toString());
    line.put("sent-at", m.sentAt() == null ? null : m.sentAt().toString());
    line.put("expires-at", m.expiresAt() == null ? null : m.expiresAt().toString());
    line.put("id", m.id());
    line.put("profile", m.profile().name().toLowerCase(java.util.Locale.ROOT));
    line.put("dnssec", dnssecValidated ? "validated" : "off");
    if (m.profile() == Profile.LEGACY) {
      line.put("replay-protection", "by digest: the legacy format carries no expiry or recipient binding");
    }
    line.put("text", m.text());
    return line;
  }

  private Behavior<Command> onQuarantine(Quarantine q) {
    return recordRefusal(q.refusal(), q.payload(), q.replyTo());
  }

  private Behavior<Command> recordRefusal(Refusal refusal, byte[] payload, ActorRef<Outcome> replyTo) {
    rejected.merge(refusal.reason(), 1L, Long::sum);
    logRejection(refusal);
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("at", settings.clock().instant().truncatedTo(ChronoUnit.MILLIS).toString());
    line.put("reason", refusal.reason());
    line.put("detail", refusal.detail());
    line.put("sender", refusal.sender() == null ? null : refusal.sender().toString());
    if (payload != null) {
      int kept = Math.min(payload.length, settings.quarantinePayloadLimit());
      line.put("payload-size", payload.length);
      line.put("payload", Base64.getEncoder().encodeToString(Arrays.copyOf(payload, kept)));
      line.put("payload-truncated", kept < payload.length);
    }
    try {
      if (quarantine.append(line)) {
        getContext().getLog().warn("quarantine.jsonl reached its limit of {} bytes: moved to {} (the records"
            + " there before were dropped); {} time(s) since start", settings.quarantineMaxBytes(),
            quarantine.previous().getFileName(), quarantine.rotations());
      }
    } catch (IOException e) {
      return diskFailed(replyTo, "cannot write to the quarantine file", e);
    }
    hold(replyTo, new Quarantined(refusal));
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
          + " not logged one by one, until the minute is over", settings.warnLinesPerMinute(), refusal.reason());
    }
  }

  private void endLogWindow() {
    logBudget.endWindow().forEach((reason, count) -> getContext().getLog().warn(
        "rejected {} more message(s) as {} in the last minute (not logged one by one; see quarantine.jsonl)",
        count, reason));
  }

  private void hold(ActorRef<Outcome> replyTo, Outcome outcome) {
    if (held.isEmpty()) {
      getContext().getSelf().tell(new Flush()); // after the messages already in the mailbox
    }
    held.add(new Reply(replyTo, outcome));
  }

  private Behavior<Command> onFlush(Flush flush) {
    Outcome failure = null;
    try {
      inbox.force();
      replays.force();
      quarantine.force();
    } catch (IOException e) {
      getContext().getLog().error("cannot put the records on disk: {}; the messages stay unacknowledged",
          SafeText.detail(e.toString()));
      failure = new Failed(SafeText.detail(e.toString()));
    }
    for (Reply reply : held) {
      reply.to().tell(failure != null ? failure : reply.outcome());
    }
    held.clear();
    return this;
  }

  private void close() {
    try {
      inbox.close();
      quarantine.close();
      replays.close();
    } catch (IOException e) {
      getContext().getLog().warn("closing the output files: {}", e.toString());
    }
  }

  /** The text as one safe line ({@link org.danemsg.protocol.SafeText#line}). */
  public static String escape(String text) {
    return org.danemsg.protocol.SafeText.line(text);
  }
}
