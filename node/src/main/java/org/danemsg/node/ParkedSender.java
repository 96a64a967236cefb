package org.danemsg.node;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
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
 * The parked messages of one sender whose DNS could not answer, as a child of the {@link ParkingLot}.
 * It asks the sender's keys again with exponential backoff ({@code parking.min-backoff} doubling to
 * {@code parking.max-backoff}, its own timer), and once DNS answers it works the messages off, started
 * in the order they were parked, {@value #SETTLE_AT_ONCE} at a time (so thousands never sit on the heap
 * at once): read from disk, decrypted ({@link Decryptor}), verified ({@link Authenticator}) and handed to
 * the {@link Printer}, which deletes its parked row in the same transaction as the record; the lot is
 * told it was released. When DNS says
 * the sender has no usable key, or after {@code parking.give-up-after} without an answer, they are
 * quarantined instead. Messages that arrive meanwhile join the queue. When nothing is left it tells the
 * lot it is idle, and the lot stops it.
 *
 * <p>A record the Printer could not write (disk) keeps the message: it is retried after
 * {@code parking.max-backoff}.
 */
public final class ParkedSender extends AbstractBehavior<ParkedSender.Command> {

  /** What a parked sender does. */
  public sealed interface Command {}

  /** One more message of this sender was parked. */
  public record Add(ParkedMessages.Parked entry) implements Command {}

  private record Retry() implements Command {}

  private record Answered(LookupResult result) implements Command {}

  private record Decrypted(ParkedMessages.Parked entry, byte[] payload, Envelope.DecryptResult result)
      implements Command {}

  private record Verified(ParkedMessages.Parked entry, byte[] payload, InboundPipeline.Step step)
      implements Command {}

  private record Recorded(ParkedMessages.Parked entry, Printer.Outcome outcome) implements Command {}

  private record Claimed(ParkedMessages.Parked entry, byte[] payload, InboundPipeline.Authentic authentic,
      ClaimBucket.Answer answer) implements Command {}

  /** Messages read, decrypted, verified and recorded at once: the payloads on the heap. */
  static final int SETTLE_AT_ONCE = 4;
  private static final Duration ASK = Duration.ofSeconds(30);

  private final DnsName sender;
  private final ParkingLot.Services services;
  private final ParkingLot.Settings settings;
  private final ActorRef<ParkingLot.Command> lot;
  private final TimerScheduler<Command> timers;
  /** Waiting for DNS, in parking order. */
  private final ArrayDeque<ParkedMessages.Parked> waiting = new ArrayDeque<>();
  /** Being worked off with {@link #keys} or {@link #refusal}. */
  private final ArrayDeque<ParkedMessages.Parked> settling = new ArrayDeque<>();
  private Instant since;
  private int attempt;
  private LookupResult keys;
  private Refusal refusal;
  private int inFlight;
  private boolean lookingUp;
  /** Claims not decided in a row ({@link ClaimBucket.Undecided}, {@link ClaimBucket.Unavailable}): the retry backs off. */
  private int claimFailuresInARow;
  /** The longest wait between two claims of a parked message: the cluster comes back in seconds. */
  private static final Duration CLAIM_RETRY_AT_MOST = Duration.ofSeconds(10);

  /**
   * A sender whose first parked message is {@code first}; its first lookup is after {@code firstRetry}
   * (zero when a lookup is running already: the cache shares its answer).
   */
  public static Behavior<Command> create(ParkedMessages.Parked first, Duration firstRetry,
      ParkingLot.Services services, ParkingLot.Settings settings, ActorRef<ParkingLot.Command> lot) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      ParkedSender parked = new ParkedSender(context, timers, first.sender(), first.parkedAt(), services, settings,
          lot);
      parked.waiting.add(first); // here, not by a message: the first retry may come before any message
      timers.startSingleTimer(new Retry(), firstRetry);
      return parked;
    }));
  }

  private ParkedSender(ActorContext<Command> context, TimerScheduler<Command> timers, DnsName sender,
      Instant since, ParkingLot.Services services, ParkingLot.Settings settings, ActorRef<ParkingLot.Command> lot) {
    super(context);
    this.timers = timers;
    this.sender = sender;
    this.since = since;
    this.services = services;
    this.settings = settings;
    this.lot = lot;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Add.class, this::onAdd)
        .onMessage(Retry.class, this::onRetry)
        .onMessage(Answered.class, this::onAnswered)
        .onMessage(Decrypted.class, this::onDecrypted)
        .onMessage(Verified.class, this::onVerified)
        .onMessage(Recorded.class, this::onRecorded)
        .onMessage(Claimed.class, this::onClaimed)
        .build();
  }

  private Behavior<Command> onAdd(Add add) {
    if (add.entry().parkedAt().isBefore(since)) {
      since = add.entry().parkedAt(); // the give-up clock runs from the first parking, across restarts
    }
    if (keys != null || refusal != null) {
      settling.add(add.entry()); // DNS answered already: behind the ones being worked off
      pump();
    } else {
      waiting.add(add.entry());
      if (!lookingUp && !timers.isTimerActive(Retry.class)) {
        timers.startSingleTimer(new Retry(), settings.parking().minBackoff()); // never wait without a retry
      }
    }
    return this;
  }

  private Behavior<Command> onRetry(Retry retry) {
    if (!lookingUp) {
      lookingUp = true;
      getContext().pipeToSelf(services.lookup().apply(sender), (result, error) -> new Answered(result != null
          ? result : new LookupResult.TransientFailure(null, sender, LookupResult.TransientFailure.Kind.BAD_RESPONSE,
              "lookup failed: " + error)));
    }
    return this;
  }

  private Behavior<Command> onAnswered(Answered answered) {
    lookingUp = false;
    LookupResult result = answered.result();
    services.report().accept(sender, result);
    if (waiting.isEmpty()) {
      return idleIfDone();
    }
    if (result.isTransient()) {
      attempt++;
      Duration waited = Duration.between(since, settings.clock().instant());
      if (waited.compareTo(settings.parking().giveUpAfter()) >= 0) {
        note("given up", "giving up on " + waiting.size() + " parked message(s) from " + sender + " after "
            + waited.toSeconds() + " s: " + result.describe() + "; rejected");
        settleWith(null, new Refusal(Refusal.SENDER_DNS_UNAVAILABLE, "no DNS answer for the sender within "
            + settings.parking().giveUpAfter().toSeconds() + " s: " + result.describe(), sender));
        return this;
      }
      Duration delay = backoff(attempt);
      timers.startSingleTimer(new Retry(), delay);
      note("still parked", waiting.size() + " message(s) from " + sender + " still parked: " + result.describe()
          + "; retry at " + at(delay) + " (attempt " + (attempt + 1) + ")");
      return this;
    }
    if (result.usableKeys().isEmpty()) {
      settleWith(null, Authenticator.unavailable(sender, result));
    } else {
      note("delivering", "DNS answers for " + sender + " again: delivering " + waiting.size()
          + " parked message(s)");
      settleWith(result, null);
    }
    return this;
  }

  private void settleWith(LookupResult found, Refusal refused) {
    keys = found;
    refusal = refused;
    settling.addAll(waiting);
    waiting.clear();
    pump();
  }

  /** Starts work on the next messages, {@value #SETTLE_AT_ONCE} at most in flight. */
  private void pump() {
    while (inFlight < SETTLE_AT_ONCE && !settling.isEmpty()) {
      ParkedMessages.Parked entry = settling.poll();
      byte[] payload;
      try {
        payload = services.store().read(entry.id());
      } catch (IOException e) {
        getContext().getLog().error("cannot read parked message {} from {}: {}; it stays for the next start",
            entry.id(), sender, SafeText.detail(e.toString()));
        lot.tell(new ParkingLot.Released(entry));
        continue;
      }
      if (payload == null) {
        lot.tell(new ParkingLot.Released(entry)); // settled already (a copy of it)
        continue;
      }
      inFlight++;
      if (refusal != null) {
        record(entry, ref -> new Printer.Quarantine(refusal, payload, entry.id(), ref));
      } else {
        getContext().ask(Envelope.DecryptResult.class, services.decryptor(), ASK,
            ref -> new Decryptor.Decrypt(payload, ref),
            (result, error) -> new Decrypted(entry, payload, result != null ? result
                : new Envelope.Rejected(Rejection.of(Rejection.Reason.NOT_A_JWE, "not decrypted: " + error))));
      }
    }
  }

  private Behavior<Command> onDecrypted(Decrypted decrypted) {
    if (decrypted.result() instanceof Envelope.Decrypted d && d.message().claimedSender().equals(sender)) {
      getContext().ask(InboundPipeline.Step.class, services.authenticator(), ASK,
          ref -> new Authenticator.Verify(d.message(), keys, decrypted.payload(), ref),
          (step, error) -> new Verified(decrypted.entry(), decrypted.payload(), step != null ? step
              : new InboundPipeline.Refused(new Refusal(Rejection.Reason.SIGNATURE_INVALID.name(),
                  "not verified: " + error, sender), decrypted.payload())));
    } else {
      Refusal refused = decrypted.result() instanceof Envelope.Rejected rejected
          ? Refusal.of(rejected.rejection())
          : new Refusal(Rejection.Reason.SENDER_URI_INVALID.name(), "the parked message no longer names the"
              + " sender it was parked for", sender);
      record(decrypted.entry(), ref -> new Printer.Quarantine(refused, decrypted.payload(), decrypted.entry().id(), ref));
    }
    return this;
  }

  private Behavior<Command> onVerified(Verified verified) {
    if (verified.step() instanceof InboundPipeline.Authentic a && services.claims() != null) {
      // Cluster mode: a replay of this message may have reached another member meanwhile.
      getContext().pipeToSelf(services.claims().claim(a.message()), (answer, error) -> new Claimed(verified.entry(),
          verified.payload(), a, answer != null ? answer : new ClaimBucket.Unavailable(String.valueOf(error))));
    } else if (verified.step() instanceof InboundPipeline.Authentic a) {
      record(verified.entry(), ref -> new Printer.Deliver(a.message(), a.dnssecValidated(), verified.payload(),
          verified.entry().id(), ref));
    } else {
      Refusal refused = verified.step() instanceof InboundPipeline.Refused r ? r.refusal()
          : new Refusal(Rejection.Reason.SIGNATURE_INVALID.name(), "not verified", sender);
      record(verified.entry(), ref -> new Printer.Quarantine(refused, verified.payload(), verified.entry().id(), ref));
    }
    return this;
  }

  private Behavior<Command> onClaimed(Claimed claimed) {
    InboundPipeline.Authentic a = claimed.authentic();
    if (claimed.answer() instanceof ClaimBucket.HeldBy held) {
      Refusal replay = InboundPipeline.heldBy(a.message(), held);
      record(claimed.entry(), ref -> new Printer.Quarantine(replay, claimed.payload(), claimed.entry().id(), ref));
    } else if (claimed.answer() instanceof ClaimBucket.Undecided undecided) {
      return claimLater(claimed.entry(), "the cluster cannot decide it yet: " + undecided.reason());
    } else if (claimed.answer() instanceof ClaimBucket.Unavailable unavailable) {
      return claimLater(claimed.entry(), "the cluster's replay window did not answer: " + unavailable.reason());
    } else {
      record(claimed.entry(), ref -> new Printer.Deliver(a.message(), a.dnssecValidated(), claimed.payload(),
          claimed.entry().id(), ref));
    }
    return this;
  }

  private void record(ParkedMessages.Parked entry,
      java.util.function.Function<ActorRef<Printer.Outcome>, Printer.Command> command) {
    getContext().ask(Printer.Outcome.class, services.printer(), ASK, command::apply,
        (outcome, error) -> new Recorded(entry, outcome != null ? outcome
            : new Printer.Failed("the printer did not answer: " + error)));
  }

  private Behavior<Command> onRecorded(Recorded recorded) {
    inFlight--;
    ParkedMessages.Parked entry = recorded.entry();
    if (recorded.outcome() instanceof Printer.Failed failed) {
      keepForLater(entry, failed.reason(), settings.parking().maxBackoff());
    } else {
      claimFailuresInARow = 0;
      lot.tell(new ParkingLot.Released(entry)); // the Printer deleted its row with the record
    }
    pump();
    return idleIfDone();
  }

  /** Keeps the message (and the ones after it) and tries again after {@code delay} rather than lose it. */
  private void keepForLater(ParkedMessages.Parked entry, String why, Duration delay) {
    waiting.add(entry);
    waiting.addAll(settling);
    settling.clear();
    keys = null;
    refusal = null;
    if (!timers.isTimerActive(Retry.class)) {
      note("not recorded", "a parked message from " + sender + " could not be recorded (" + why + "); retried at "
          + at(delay));
      timers.startSingleTimer(new Retry(), delay);
    }
  }

  private Behavior<Command> idleIfDone() {
    if (inFlight == 0 && settling.isEmpty() && waiting.isEmpty() && !lookingUp) {
      lot.tell(new ParkingLot.Idle(sender, getContext().getSelf()));
    }
    return this;
  }

  private void note(String kind, String line) {
    lot.tell(new ParkingLot.Note(kind, line));
  }

  /** Keeps a message whose claim was not decided; claimed again soon (a member may be back in seconds), then less often. */
  private Behavior<Command> claimLater(ParkedMessages.Parked entry, String why) {
    inFlight--;
    Duration delay = backoff(claimFailuresInARow++);
    keepForLater(entry, why, delay.compareTo(CLAIM_RETRY_AT_MOST) > 0 ? CLAIM_RETRY_AT_MOST : delay);
    pump();
    return idleIfDone();
  }

  private Duration backoff(int attempts) {
    Duration delay = settings.parking().minBackoff().multipliedBy(1L << Math.min(attempts, 20));
    return delay.compareTo(settings.parking().maxBackoff()) > 0 ? settings.parking().maxBackoff() : delay;
  }

  private String at(Duration delay) {
    return at(settings.clock(), delay);
  }

  /** The local time, to the second, {@code delay} from now: when a retry is due, for the log. */
  static String at(java.time.Clock clock, Duration delay) {
    return LocalTime.ofInstant(clock.instant().plus(delay), ZoneId.systemDefault())
        .truncatedTo(ChronoUnit.SECONDS).toString();
  }
}
