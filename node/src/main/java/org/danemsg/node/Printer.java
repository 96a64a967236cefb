package org.danemsg.node;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.danemsg.protocol.OpenedMessage;
import org.danemsg.protocol.Profile;

/**
 * The node's output, and the point where a message counts as delivered. For an authenticated
 * message: refuses it as a {@link Refusal#REPLAY} when its sender + id was delivered before (a
 * captured payload sent again, or a QoS 1 redelivery after a lost ack), else prints
 * {@code <sender> says: <text>} on stdout (control characters escaped), appends a JSON line to
 * {@code inbox.jsonl} (flushed) and records the id in the {@link ReplayCache}; only then does it reply
 * {@link Printed}, after which the MQTT message is acked. Checking and recording in this one actor makes
 * "seen" and "printed" the same event, so two copies of a message in flight at once cannot both print.
 *
 * <p>For a refused message: logs it once at WARN with its reason (and sender when known), counts it
 * per reason and appends it to {@code quarantine.jsonl} with the payload (base64, capped).
 *
 * <p>A write that fails (disk full) is answered with {@link Failed}: the message is not acked, the
 * pipeline restarts with backoff and the broker delivers it again. Runs on the file dispatcher.
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

  /** What became of a message. */
  public sealed interface Outcome {}

  /** Printed and written to the inbox. */
  public record Printed() implements Outcome {}

  /** Refused and written to the quarantine file. */
  public record Quarantined(Refusal refusal) implements Outcome {}

  /** Could not be written; do not ack. */
  public record Failed(String reason) implements Outcome {}

  /** Counters since start. */
  public record Stats(long delivered, Map<String, Long> rejected) {
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

  /** Where the printer writes. */
  public record Settings(Path dataPath, int quarantinePayloadLimit, PrintStream out, Clock clock, Hook hook) {}

  private final Settings settings;
  private final JsonLines inbox;
  private final JsonLines quarantine;
  private final ReplayCache replays;
  private long delivered;
  private final Map<String, Long> rejected = new TreeMap<>();

  /** A printer writing under {@code settings.dataPath()}. */
  public static Behavior<Command> create(Settings settings) {
    return Behaviors.setup(context -> new Printer(context, settings));
  }

  private Printer(ActorContext<Command> context, Settings settings) throws IOException {
    super(context);
    this.settings = settings;
    Path inboxFile = settings.dataPath().resolve("inbox.jsonl");
    this.inbox = new JsonLines(inboxFile);
    this.quarantine = new JsonLines(settings.dataPath().resolve("quarantine.jsonl"));
    this.replays = new ReplayCache(settings.dataPath().resolve("replay.log"), inboxFile, settings.clock());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Deliver.class, this::onDeliver)
        .onMessage(Quarantine.class, this::onQuarantine)
        .onMessage(GetStats.class, get -> {
          get.replyTo().tell(new Stats(delivered, rejected));
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
    if (m.replayCheckable() && replays.seen(sender, m.id())) {
      Refusal refusal = new Refusal(Refusal.REPLAY, "message id " + m.id()
          + " was delivered already (a replayed capture, or the broker redelivering after a lost ack)",
          m.sender());
      try {
        quarantine(refusal, deliver.payload());
      } catch (RuntimeException e) {
        getContext().getLog().error("cannot write to the quarantine file: {}", e.toString());
        deliver.replyTo().tell(new Failed(e.toString()));
        return this;
      }
      deliver.replyTo().tell(new Quarantined(refusal));
      return this;
    }
    try {
      settings.hook().beforePrint(m);
      // Microseconds: end-to-end latencies on loopback are around a millisecond (tools bench reads this).
      Instant now = settings.clock().instant().truncatedTo(ChronoUnit.MICROS);
      settings.out().println(sender + " says: " + escape(m.text())
          + (deliver.dnssecValidated() ? "" : " [UNAUTHENTICATED: DNSSEC off]")
          + (m.profile() == Profile.LEGACY ? " [legacy]" : ""));
      settings.out().flush();
      Map<String, Object> line = new LinkedHashMap<>();
      line.put("received-at", now.toString());
      line.put("sender", sender);
      line.put("recipient", m.recipient().toString());
      line.put("sent-at", m.sentAt() == null ? null : m.sentAt().toString());
      line.put("expires-at", m.expiresAt() == null ? null : m.expiresAt().toString());
      line.put("id", m.id());
      line.put("profile", m.profile().name().toLowerCase(java.util.Locale.ROOT));
      line.put("dnssec", deliver.dnssecValidated() ? "validated" : "off");
      if (!m.replayCheckable()) {
        line.put("replay-protection", "none: the legacy format carries no id or expiry");
      }
      line.put("text", m.text());
      inbox.append(line);
      if (m.replayCheckable()) {
        replays.record(sender, m.id(), m.expiresAt());
      }
    } catch (Exception e) {
      getContext().getLog().error("cannot deliver a message from {}: {}; it stays unacknowledged", sender,
          e.toString());
      deliver.replyTo().tell(new Failed(e.toString()));
      return this;
    }
    delivered++;
    deliver.replyTo().tell(new Printed());
    return this;
  }

  private Behavior<Command> onQuarantine(Quarantine q) {
    try {
      quarantine(q.refusal(), q.payload());
    } catch (Exception e) {
      getContext().getLog().error("cannot write to the quarantine file: {}", e.toString());
      q.replyTo().tell(new Failed(e.toString()));
      return this;
    }
    q.replyTo().tell(new Quarantined(q.refusal()));
    return this;
  }

  private void quarantine(Refusal refusal, byte[] payload) {
    getContext().getLog().warn("rejected message{}: {}: {}",
        refusal.sender() == null ? "" : " from " + refusal.sender(), refusal.reason(), refusal.detail());
    rejected.merge(refusal.reason(), 1L, Long::sum);
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
      quarantine.append(line);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
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
