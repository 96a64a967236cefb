package org.danemsg.node;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.Rejection;
import org.danemsg.protocol.SafeText;
import org.danemsg.protocol.dns.LookupResult;

/**
 * Messages whose sender cannot be checked <em>yet</em> (DNS timeout, SERVFAIL, too many lookups in
 * flight, a lookup slower than {@link InboundPipeline#PARK_SLOW_LOOKUP_AFTER}) wait here rather than
 * being rejected:
 * <ol>
 *   <li>the stream asks for room ({@link Reserve}); with room, its record stage has the {@link Printer}
 *       (the one writer; table {@code parked}) write the payload, and only once that is committed is
 *       the MQTT message acked and the lot told ({@link Stored}); the payload is then on disk only;
 *   <li>each sender with parked messages has one {@link ParkedSender} child, which retries the lookup
 *       with backoff and delivers (or quarantines) the sender's messages when DNS answers;
 *       while it exists, the stream parks the sender's next messages behind the waiting ones without
 *       asking DNS ({@link ParkedSenders}, the snapshot this actor keeps);
 *   <li>if the node dies meanwhile, the rows remain; at start the lot lists them (ids and sizes, no
 *       payload is read) and gives each sender a child, so nothing is lost. A row an older node
 *       parked without its sender is decrypted once to learn it ({@link Printer.SetParkedSender}).
 * </ol>
 * Parking is bounded in messages and bytes, in all ({@code parking.max-messages},
 * {@code parking.max-bytes}), per claimed sender ({@code parking.max-bytes-per-sender}) and per zone of
 * claimed senders ({@code parking.max-bytes-per-zone}): a message that finds no room is refused as
 * {@link Refusal#PARKING_FULL} (quarantined with its payload, counted, logged), so a flood from made-up
 * senders under a dead zone can neither exhaust memory or disk nor take the other senders' room. A
 * payload the Printer cannot write (disk full) stays unacked: the stream reconnects and the broker
 * sends it again.
 *
 * <p>The children's log lines pass through this actor's {@link LogBudget} (30 a kind a minute, then
 * one summary line), so thousands of made-up senders cannot flood the log with retry rounds.
 */
public final class ParkingLot extends AbstractBehavior<ParkingLot.Command> {

  /** What the parking lot does. */
  public sealed interface Command {}

  /**
   * Room for a message to park; the reply is {@link InboundPipeline.Admitted} (the Printer is to write
   * it, with the {@link Reservation}) or a {@link InboundPipeline.Refused} ({@link Refusal#PARKING_FULL}).
   */
  public record Reserve(InboundPipeline.ToPark message, ActorRef<InboundPipeline.Step> replyTo) implements Command {}

  /** The Printer committed the reserved message as row {@code id}. */
  public record Stored(long token, long id) implements Command {}

  /** The Printer could not write the reserved message (it stays unacked and comes again). */
  public record NotStored(long token) implements Command {}

  /** Room held for one message until the Printer has written it. */
  public record Reservation(ActorRef<Command> lot, long token) {}

  /** Reply with the parking counters. */
  public record GetStats(ActorRef<Stats> replyTo) implements Command {}

  /** A child is done with {@code entry}: recorded (its row deleted with the record), or left for the next start. */
  record Released(ParkedMessages.Parked entry) implements Command {}

  /** A child has nothing left to do. */
  record Idle(DnsName sender, ActorRef<ParkedSender.Command> child) implements Command {}

  /** A child's log line, logged within the budget of its kind. */
  record Note(String kind, String line) implements Command {}

  private record LogWindowEnded() implements Command {}

  /** What a reservation holds until the Printer answers. */
  private record Held(InboundPipeline.ToPark message, java.time.Instant at) {}

  private record Migrated(ParkedMessages.Parked old, byte[] payload, Envelope.DecryptResult result)
      implements Command {}

  private record MigrationRecorded(ParkedMessages.Parked old, DnsName sender, Printer.Outcome outcome)
      implements Command {}

  /** Parking counters. */
  public record Stats(int parkedMessages, int parkedSenders, long parkedBytes) {}

  /** Parking limits and the clock. */
  public record Settings(NodeSettings.Parking parking, Clock clock) {}

  /**
   * What the lot and its children use: the parked files, the crypto actors, the Printer, the sender-key
   * lookup (the node's {@code TlsaCache}) and where to report its answers (the {@link TlsaResolver}, which
   * logs DNS trouble), and the snapshot of parked senders the stream reads.
   */
  public record Services(ParkedMessages store, ActorRef<Decryptor.Command> decryptor,
      ActorRef<Authenticator.Command> authenticator, ActorRef<Printer.Command> printer,
      Function<DnsName, CompletionStage<LookupResult>> lookup, BiConsumer<DnsName, LookupResult> report,
      ParkedSenders senders, ReplayClaims claims) {

    /** Services of a node that runs alone (no cluster-wide replay claims). */
    public Services(ParkedMessages store, ActorRef<Decryptor.Command> decryptor,
        ActorRef<Authenticator.Command> authenticator, ActorRef<Printer.Command> printer,
        Function<DnsName, CompletionStage<LookupResult>> lookup, BiConsumer<DnsName, LookupResult> report,
        ParkedSenders senders) {
      this(store, decryptor, authenticator, printer, lookup, report, senders, null);
    }
  }

  private static final Duration LOG_WINDOW = Duration.ofMinutes(1);
  private static final Duration ASK = Duration.ofSeconds(30);
  /** Parking lines logged per kind a minute (one per sender and retry round otherwise). */
  private static final int LOG_LINES_PER_MINUTE = 30;

  private final Services services;
  private final Settings settings;
  private final TimerScheduler<Command> timers;
  private final Map<DnsName, ActorRef<ParkedSender.Command>> children = new HashMap<>();
  /** Parked messages and bytes per claimed sender, and bytes per zone of claimed senders. */
  private final Map<DnsName, long[]> perSender = new HashMap<>();
  private final Map<DnsName, Long> bytesPerZone = new HashMap<>();
  /** Rows of an older node (no sender): decrypted one at a time to learn their sender. */
  private final ArrayDeque<ParkedMessages.Parked> toMigrate = new ArrayDeque<>();
  /** The rows counted in: a redelivered copy parks onto its row and is counted once. */
  private final java.util.Set<Long> known = new java.util.HashSet<>();
  /** Bytes of parks asked of the Printer and not answered yet, per sender: they count against the bounds. */
  private final Map<DnsName, Long> reserved = new HashMap<>();
  private final Map<DnsName, Long> reservedPerZone = new HashMap<>();
  private final LogBudget logBudget = new LogBudget(LOG_LINES_PER_MINUTE);
  private long spawned;
  private long tokens;
  private final Map<Long, Held> held = new HashMap<>();
  private int count;
  private long bytes;

  /** A lot that takes up what an earlier run parked, then parks what the stream sends. */
  public static Behavior<Command> create(Services services, Settings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      ParkingLot lot = new ParkingLot(context, timers, services, settings);
      lot.takeUpLeftovers();
      return lot;
    }));
  }

  private ParkingLot(ActorContext<Command> context, TimerScheduler<Command> timers, Services services,
      Settings settings) {
    super(context);
    this.timers = timers;
    this.services = services;
    this.settings = settings;
  }

  /** Lists what an earlier run parked (ids and sizes only) and gives each sender a child. */
  private void takeUpLeftovers() throws IOException {
    for (ParkedMessages.Parked p : services.store().list()) {
      if (p.sender() == null) {
        toMigrate.add(p);
      } else {
        admit(p, Duration.ZERO);
      }
    }
    if (count + toMigrate.size() > 0) {
      getContext().getLog().info("taking up {} message(s) from {} sender(s) parked by an earlier run",
          count + toMigrate.size(), children.size() + (toMigrate.isEmpty() ? 0 : 1));
    }
    migrateNext();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Reserve.class, this::onReserve)
        .onMessage(Stored.class, this::onStored)
        .onMessage(NotStored.class, notStored -> {
          release(held.remove(notStored.token()));
          return this;
        })
        .onMessage(Released.class, this::onReleased)
        .onMessage(Idle.class, this::onIdle)
        .onMessage(Note.class, note -> {
          logCounted(note.kind(), note.line());
          return this;
        })
        .onMessage(Migrated.class, this::onMigrated)
        .onMessage(MigrationRecorded.class, this::onMigrationRecorded)
        .onMessage(LogWindowEnded.class, this::onLogWindowEnded)
        .onMessage(GetStats.class, get -> {
          get.replyTo().tell(new Stats(count, children.size(), bytes));
          return this;
        })
        .build();
  }

  private Behavior<Command> onReserve(Reserve reserve) {
    InboundPipeline.ToPark message = reserve.message();
    DnsName sender = message.sender();
    dropStaleReservations();
    String full = full(sender, message.payload().length);
    if (full != null) {
      reserve.replyTo().tell(new InboundPipeline.Refused(new Refusal(Refusal.PARKING_FULL, full + " while the"
          + " sender's DNS cannot be asked: " + message.why(), sender), message.payload()));
      return this;
    }
    long token = ++tokens;
    java.time.Instant now = settings.clock().instant();
    held.put(token, new Held(message, now));
    reserved.merge(sender, (long) message.payload().length, Long::sum);
    reservedPerZone.merge(zone(sender), (long) message.payload().length, Long::sum);
    reserve.replyTo().tell(new InboundPipeline.Admitted(message, new Reservation(getContext().getSelf(), token), now));
    return this;
  }

  /** Gives back the room of a reservation the Printer answered (or never will). */
  private void release(Held reservation) {
    if (reservation == null) {
      return;
    }
    DnsName sender = reservation.message().sender();
    long size = reservation.message().payload().length;
    reserved.merge(sender, -size, Long::sum);
    reserved.remove(sender, 0L);
    reservedPerZone.merge(zone(sender), -size, Long::sum);
    reservedPerZone.remove(zone(sender), 0L);
  }

  /**
   * A Printer restarted in the middle of a batch answers neither Stored nor NotStored (the stream's ask
   * times out and it reconnects): such reservations are given back after twice the ask timeout.
   */
  private void dropStaleReservations() {
    if (held.isEmpty()) {
      return;
    }
    java.time.Instant stale = settings.clock().instant().minus(ASK.multipliedBy(2));
    held.values().removeIf(h -> {
      if (h.at().isBefore(stale)) {
        release(h);
        return true;
      }
      return false;
    });
  }

  private Behavior<Command> onStored(Stored stored) {
    Held reservation = held.remove(stored.token());
    if (reservation == null) {
      return this;
    }
    release(reservation);
    InboundPipeline.ToPark message = reservation.message();
    DnsName sender = message.sender();
    ParkedMessages.Parked entry = new ParkedMessages.Parked(stored.id(), sender, message.payload().length,
        reservation.at());
    if (!children.containsKey(sender)) {
      // A lookup still running: its answer (shared by the cache) is the first retry; a failed one is
      // kept a few seconds by the cache, so the first retry waits the minimum backoff.
      Duration first = message.lookupPending() ? Duration.ZERO : settings.parking().minBackoff();
      logCounted("parked", "parked message from " + sender + ": " + message.why() + "; retry at "
          + ParkedSender.at(settings.clock(), first) + " (attempt 1)");
      admit(entry, first);
    } else {
      admit(entry, null);
    }
    return this;
  }

  /** Why a payload of {@code size} from {@code sender} finds no room, or null when it does. */
  private String full(DnsName sender, long size) {
    NodeSettings.Parking limits = settings.parking();
    long[] own = perSender.getOrDefault(sender, new long[2]);
    long pending = reserved.values().stream().mapToLong(Long::longValue).sum();
    long pendingOwn = reserved.getOrDefault(sender, 0L);
    if (count + held.size() >= limits.maxMessages() || bytes + pending + size > limits.maxBytes()) {
      return "parking is full (" + count + " messages, " + bytes + " of " + limits.maxBytes()
          + " bytes; parking.max-messages " + limits.maxMessages() + ")";
    }
    if (own[1] + pendingOwn + size > limits.maxBytesPerSender()) {
      return "this sender's share of parking is full (" + own[0] + " messages, " + own[1] + " of "
          + limits.maxBytesPerSender() + " bytes, parking.max-bytes-per-sender)";
    }
    long zoneBytes = bytesPerZone.getOrDefault(zone(sender), 0L) + reservedPerZone.getOrDefault(zone(sender), 0L);
    if (zoneBytes + size > limits.maxBytesPerZone()) {
      return "the share of parking for senders under " + zone(sender) + " is full (" + zoneBytes + " of "
          + limits.maxBytesPerZone() + " bytes, parking.max-bytes-per-zone)";
    }
    return null;
  }

  /**
   * Counts {@code entry} in and hands it to its sender's child, spawned (first lookup after
   * {@code firstRetry}) if there is none. A redelivered copy parks onto its own file and is counted once.
   */
  private void admit(ParkedMessages.Parked entry, Duration firstRetry) {
    if (!known.add(entry.id())) {
      return;
    }
    DnsName sender = entry.sender();
    count(entry, +1);
    ActorRef<ParkedSender.Command> child = children.get(sender);
    if (child == null) {
      child = getContext().spawn(Behaviors.supervise(ParkedSender.create(entry,
              firstRetry == null ? Duration.ZERO : firstRetry, services, settings, getContext().getSelf()))
          // A bug in a child must not forget its sender's messages: resume keeps them.
          .onFailure(SupervisorStrategy.resume()), "sender-" + (++spawned), DispatcherSelector.sameAsParent());
      children.put(sender, child);
      services.senders().replace(children.keySet());
    } else {
      child.tell(new ParkedSender.Add(entry));
    }
  }

  private Behavior<Command> onReleased(Released released) {
    if (known.remove(released.entry().id())) {
      count(released.entry(), -1);
    }
    return this;
  }

  private Behavior<Command> onIdle(Idle idle) {
    long[] own = perSender.get(idle.sender());
    if (idle.child().equals(children.get(idle.sender())) && (own == null || own[0] == 0)) {
      children.remove(idle.sender());
      services.senders().replace(children.keySet());
      getContext().stop(idle.child());
    }
    return this; // else a message was handed to it meanwhile: it goes on
  }

  /** Counts a parked entry in (+1) or out (-1) of the totals. */
  private void count(ParkedMessages.Parked p, int sign) {
    count += sign;
    bytes += sign * p.size();
    if (p.sender() != null) {
      long[] own = perSender.computeIfAbsent(p.sender(), s -> new long[2]);
      own[0] += sign;
      own[1] += sign * p.size();
      if (own[0] <= 0) {
        perSender.remove(p.sender());
      }
      bytesPerZone.merge(zone(p.sender()), sign * p.size(), Long::sum);
      bytesPerZone.remove(zone(p.sender()), 0L);
    }
  }

  /** The zone a claimed sender's name is under, for its share of parking. */
  private static DnsName zone(DnsName sender) {
    DnsName parent = sender.parent();
    return parent != null ? parent : sender;
  }

  /** Rows of an older node: read and decrypted one at a time, then given their sender. */
  private void migrateNext() {
    ParkedMessages.Parked old = toMigrate.poll();
    if (old == null) {
      return;
    }
    byte[] payload;
    try {
      payload = services.store().read(old.id());
    } catch (IOException e) {
      getContext().getLog().error("cannot read parked message {}: {}", old.id(), SafeText.detail(e.toString()));
      migrateNext();
      return;
    }
    if (payload == null) {
      migrateNext(); // gone meanwhile
      return;
    }
    getContext().ask(Envelope.DecryptResult.class, services.decryptor(), ASK,
        ref -> new Decryptor.Decrypt(payload, ref),
        (result, error) -> new Migrated(old, payload, result != null ? result
            : new Envelope.Rejected(Rejection.of(Rejection.Reason.NOT_A_JWE, "not decrypted: " + error))));
  }

  private Behavior<Command> onMigrated(Migrated migrated) {
    ParkedMessages.Parked old = migrated.old();
    if (migrated.result() instanceof Envelope.Decrypted decrypted) {
      DnsName sender = decrypted.message().claimedSender();
      getContext().ask(Printer.Outcome.class, services.printer(), ASK,
          ref -> new Printer.SetParkedSender(old.id(), sender, ref),
          (outcome, error) -> new MigrationRecorded(old, sender, outcome != null ? outcome
              : new Printer.Failed("the printer did not answer: " + error)));
    } else {
      Refusal refusal = Refusal.of(((Envelope.Rejected) migrated.result()).rejection());
      getContext().ask(Printer.Outcome.class, services.printer(), ASK,
          ref -> new Printer.Quarantine(refusal, migrated.payload(), old.id(), ref),
          (outcome, error) -> new MigrationRecorded(old, null, outcome != null ? outcome
              : new Printer.Failed("the printer did not answer: " + error)));
    }
    return this;
  }

  private Behavior<Command> onMigrationRecorded(MigrationRecorded recorded) {
    if (recorded.sender() != null && recorded.outcome() instanceof Printer.ParkedAs) {
      ParkedMessages.Parked old = recorded.old();
      admit(new ParkedMessages.Parked(old.id(), recorded.sender(), old.size(), old.parkedAt()), Duration.ZERO);
    } else if (recorded.outcome() instanceof Printer.Failed failed) {
      getContext().getLog().warn("a message an older node parked could not be taken up ({}); it stays for the"
          + " next start", failed.reason());
    }
    migrateNext();
    return this;
  }

  /**
   * A WARN line, within the budget of its kind a minute: made-up senders by the thousand would
   * otherwise write a line each per retry round. The rest are summed up when the minute ends.
   */
  private void logCounted(String kind, String line) {
    if (!timers.isTimerActive(LogWindowEnded.class)) {
      timers.startSingleTimer(LogWindowEnded.class, new LogWindowEnded(), LOG_WINDOW);
    }
    if (logBudget.take(kind) != LogBudget.Verdict.HOLD) {
      getContext().getLog().warn(line);
    }
  }

  private Behavior<Command> onLogWindowEnded(LogWindowEnded end) {
    logBudget.endWindow().forEach((kind, held) -> getContext().getLog().warn("parking: {} more '{}' line(s) in the"
        + " last minute not logged one by one; {} message(s) from {} sender(s) parked ({} bytes)", held, kind,
        count, children.size(), bytes));
    return this;
  }
}
