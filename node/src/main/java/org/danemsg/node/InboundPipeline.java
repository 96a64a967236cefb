package org.danemsg.node;

import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.connectors.mqtt.javadsl.MqttMessageWithAck;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceWithContext;
import org.apache.pekko.stream.typed.javadsl.ActorFlow;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.OpenedMessage;
import org.danemsg.protocol.Rejection;
import org.danemsg.protocol.SignedMessage;
import org.danemsg.protocol.dns.LookupResult;
import org.danemsg.protocol.dns.TlsaCache;

/**
 * The path of an arriving message, as one Pekko stream whose context is the MQTT message to ack:
 * <pre>
 *   admit        size guard's verdict, topic = this node's name, size       (function)
 *   decrypt      against the KeyRing snapshot, on the crypto executor         (function)
 *   sender keys  TlsaCache (validated, cached, one query per name); a sender
 *                whose DNS cannot answer now is to be parked                  (function)
 *   verify       signature and claims, on the crypto executor                 (function)
 *                (a sender whose keys the cache holds: keys and verify run in the decrypt
 *                stage's task, one trip to the crypto executor a message; a sender whose keys a
 *                lookup just brought: verified on the thread that completed the lookup)
 *   park         room from the ParkingLot (messages to park only)             (ask)
 *   record       print, quarantine or park: the Printer, the one writer       (ActorFlow.askWithContext)
 *   ack          in arrival order, only after the record is on disk
 * </pre>
 * Each stage takes a {@link Step} and gives the next; a message refused at any stage is a
 * {@link Refused} value that the later stages pass on to the record stage, which quarantines it. No
 * stage throws for a message, so one message can never restart the stream or hold up the ones behind
 * it. What does restart it is a condition of the node: the Printer not answering, a record that cannot
 * be written ({@link Printer.Failed}: the message is not acked, and the broker sends it again after the
 * reconnect), the connection itself.
 */
final class InboundPipeline {

  /** A message between two stages. */
  sealed interface Step {}

  /** Admitted: its payload, to decrypt. */
  record Arrived(byte[] payload) implements Step {}

  /**
   * Decrypted: the still unverified signed message, and the lookup of its claimed sender when the decrypt
   * stage started it (a sender not in the cache), else null.
   */
  record Decrypted(SignedMessage signed, byte[] payload, CompletableFuture<LookupResult> lookup) implements Step {}

  /** The claimed sender's validated keys are known. */
  record Keyed(SignedMessage signed, LookupResult keys, byte[] payload) implements Step {}

  /** Verified: to print. */
  record Authentic(OpenedMessage message, boolean dnssecValidated, byte[] payload) implements Step {}

  /** Refused at some stage: to quarantine. */
  record Refused(Refusal refusal, byte[] payload) implements Step {}

  /** The parking lot has room for it: the Printer is to write it, then the lot takes it from there. */
  record Admitted(ToPark message, ParkingLot.Reservation reservation, java.time.Instant parkedAt) implements Step {}

  /** The sender's DNS cannot answer now: to park until it does. */
  record ToPark(DnsName sender, byte[] payload, String why, boolean lookupPending) implements Step {}

  /** How many messages came in and were acked (read by the gateway for its counters). */
  static final class Counters {
    final LongAdder received = new LongAdder();
    final LongAdder acked = new LongAdder();
  }

  /** Cached and healthy lookups answer in microseconds to milliseconds; a timeout takes seconds. */
  static final Duration PARK_SLOW_LOOKUP_AFTER = Duration.ofMillis(500);
  private static final Duration ASK = Duration.ofSeconds(30);

  private final NodeSettings settings;
  private final Envelope envelope;
  private final KeyRing keys;
  private final TlsaCache cache;
  private final Executor crypto;
  private final ActorRef<TlsaResolver.Command> resolver;
  private final ActorRef<Printer.Command> printer;
  private final ActorRef<ParkingLot.Command> parking;
  private final ParkedSenders parked;
  private final OversizedPublishes oversized;
  private final Scheduler scheduler;
  private final Counters counters = new Counters();
  /** The cluster's replay window (cluster mode), or null when the node runs alone. */
  private final ReplayClaims claims;

  InboundPipeline(NodeSettings settings, Envelope envelope, KeyRing keys, TlsaCache cache, Executor crypto,
      ActorRef<TlsaResolver.Command> resolver, ActorRef<Printer.Command> printer,
      ActorRef<ParkingLot.Command> parking, ParkedSenders parked, OversizedPublishes oversized,
      Scheduler scheduler, ReplayClaims claims) {
    this.claims = claims;
    this.settings = settings;
    this.envelope = envelope;
    this.keys = keys;
    this.cache = cache;
    this.crypto = crypto;
    this.resolver = resolver;
    this.printer = printer;
    this.parking = parking;
    this.parked = parked;
    this.oversized = oversized;
    this.scheduler = scheduler;
  }

  Counters counters() {
    return counters;
  }

  /** The whole path behind {@code mqtt}: one element per acked message. */
  <M> Source<Done, M> run(Source<MqttMessageWithAck, M> mqtt) {
    int parallelism = settings.parallelism();
    SourceWithContext<Step, MqttMessageWithAck, M> checked = SourceWithContext.fromPairs(mqtt.map(m -> {
          counters.received.increment();
          return Pair.create(admit(m), m);
        }))
        .mapAsync(parallelism * 2, this::decrypt)
        .mapAsync(parallelism * 16, this::senderKeys)
        .mapAsync(parallelism * 2, this::verify)
        .mapAsync(parallelism * 2, this::park);
    if (claims != null) {
      // as many as the broker has in flight: a claim is a round trip to another member or two
      checked = checked.mapAsync(parallelism * 16, this::claim);
    }
    return checked
        // as many as the broker has in flight: the Printer commits what it has together
        .via(ActorFlow.askWithContext(parallelism * 16, printer, ASK, InboundPipeline::record))
        .asSource()
        .mapAsync(parallelism * 16, this::ack)
        .map(done -> {
          counters.acked.increment();
          return done;
        });
  }

  /** The size guard's verdict, the topic and the size: refused here or admitted. */
  Step admit(MqttMessageWithAck m) {
    byte[] payload = m.message().payload().toArray();
    OptionalLong discarded = oversized.claim(payload);
    if (discarded.isPresent()) {
      // The guard dropped the payload as it arrived; the quarantine keeps no payload, only its size.
      return new Refused(tooLarge(discarded.getAsLong(),
          "; it was discarded as it arrived, never held in memory"), new byte[0]);
    }
    Refusal wrongTopic = MqttGateway.wrongTopic(m.message().topic(), settings.identityName());
    if (wrongTopic != null) {
      return new Refused(wrongTopic, payload);
    }
    if (payload.length > settings.maxMessageSize()) {
      return new Refused(tooLarge(payload.length, ""), payload);
    }
    return new Arrived(payload);
  }

  private Refusal tooLarge(long size, String how) {
    return Refusal.of(Rejection.of(Rejection.Reason.TOO_LARGE, "the payload has " + size
        + " bytes, the limit is " + settings.maxMessageSize() + " (MAX_MESSAGE_SIZE)" + how));
  }

  CompletionStage<Step> decrypt(Step step) {
    if (!(step instanceof Arrived arrived)) {
      return done(step);
    }
    return CompletableFuture.supplyAsync(() -> {
      Envelope.DecryptResult result = Decryptor.decrypt(envelope, keys, arrived.payload());
      return result instanceof Envelope.Decrypted d ? verifyIfKnown(new Decrypted(d.message(), arrived.payload(), null))
          : new Refused(Refusal.of(((Envelope.Rejected) result).rejection()), arrived.payload());
    }, crypto);
  }

  /**
   * Where the sender's keys are in the cache (and none of its messages are parked), its keys and the
   * verification in the same task as the decryption, so that a message takes one trip to the crypto pool;
   * otherwise the decrypted message, for the sender-keys stage.
   */
  private Step verifyIfKnown(Decrypted decrypted) {
    DnsName sender = decrypted.signed().claimedSender();
    if (parked.contains(sender)) {
      return decrypted;
    }
    java.util.Optional<LookupResult> known = cache.cached(sender);
    if (known.isEmpty()) {
      // A new sender: its lookup starts now, from this thread, rather than after the stream's next stage
      // takes the message; the sender-keys stage waits for this one (one call to the cache, counted once).
      return new Decrypted(decrypted.signed(), decrypted.payload(), cache.lookup(sender));
    }
    Step keyed = keyed(decrypted, known.get(), false);
    return keyed instanceof Keyed k ? Authenticator.verify(envelope, k.signed(), k.keys(), k.payload()) : keyed;
  }

  /**
   * The claimed sender's keys from the cache. A sender with messages parked already is parked behind
   * them without a lookup (their order is kept); a lookup that has not answered within
   * {@link #PARK_SLOW_LOOKUP_AFTER} parks the message while it goes on (the stream acks in order, and
   * a hanging lookup would otherwise hold every message behind it).
   */
  CompletionStage<Step> senderKeys(Step step) {
    if (!(step instanceof Decrypted decrypted)) {
      return done(step);
    }
    DnsName sender = decrypted.signed().claimedSender();
    if (parked.contains(sender)) {
      return done(new ToPark(sender, decrypted.payload(), "earlier messages of the sender wait for DNS",
          false));
    }
    // Started by the decrypt stage (after a cache miss: a query), or now
    boolean started = decrypted.lookup() != null;
    CompletableFuture<LookupResult> lookup = started ? decrypted.lookup() : cache.lookup(sender);
    if (lookup.isDone() && !lookup.isCompletedExceptionally()) {
      return done(keyed(decrypted, lookup.join(), started));
    }
    return lookup
        .completeOnTimeout(null, PARK_SLOW_LOOKUP_AFTER.toMillis(), TimeUnit.MILLISECONDS)
        .handle((result, error) -> {
          if (error != null) {
            return keyed(decrypted, new LookupResult.TransientFailure(null, sender,
                LookupResult.TransientFailure.Kind.BAD_RESPONSE, "lookup failed: " + error), true);
          }
          if (result == null) {
            return new ToPark(sender, decrypted.payload(), "no DNS answer for the sender within "
                + PARK_SLOW_LOOKUP_AFTER.toMillis() + " ms", true);
          }
          return verifyIfKeyed(keyed(decrypted, result, true));
        });
  }

  /**
   * A message whose sender's keys a lookup just brought, verified at once on the thread that completed
   * the lookup (a new sender's first message: two thread hand-overs fewer than through the verify stage).
   */
  private Step verifyIfKeyed(Step step) {
    return step instanceof Keyed k ? Authenticator.verify(envelope, k.signed(), k.keys(), k.payload()) : step;
  }

  /** The step after a lookup; the resolver hears of every queried answer and every failure (it logs them). */
  private Step keyed(Decrypted decrypted, LookupResult result, boolean queried) {
    DnsName sender = decrypted.signed().claimedSender();
    boolean usable = !result.usableKeys().isEmpty();
    if (queried || !usable) {
      resolver.tell(new TlsaResolver.Report(sender, result));
    }
    if (usable) {
      return new Keyed(decrypted.signed(), result, decrypted.payload());
    }
    if (result.isTransient()) {
      return new ToPark(sender, decrypted.payload(), result.describe(), false);
    }
    return new Refused(Authenticator.unavailable(sender, result), decrypted.payload());
  }

  CompletionStage<Step> verify(Step step) {
    if (!(step instanceof Keyed keyed)) {
      return done(step);
    }
    return CompletableFuture.supplyAsync(() -> Authenticator.verify(envelope, keyed.signed(), keyed.keys(),
        keyed.payload()), crypto);
  }

  /** A message to park asks the parking lot for room (the others pass at once). */
  CompletionStage<Step> park(Step step) {
    if (!(step instanceof ToPark toPark)) {
      return done(step);
    }
    return AskPattern.<ParkingLot.Command, Step>ask(parking, ref -> new ParkingLot.Reserve(toPark, ref), ASK,
        scheduler);
  }

  /**
   * Cluster mode: an authentic message's id is claimed for this member in the cluster's replay window
   * before it is recorded. Claimed by another member first: a replay, quarantined (the Printer's own
   * replay check still runs for ids this member holds: its own redeliveries). Undecided (a late message,
   * sent before the cluster's memory, while a member that may have delivered it is away): parked. No
   * answer (its bucket is
   * on a member that is gone and not yet downed, no majority reachable): the claim is asked again every
   * {@link #CLAIM_RETRY_AFTER} while the message waits unacked, the messages behind it too (acks are in
   * order). The stream is not failed for it: a reconnect would only bring the same messages back, and
   * failing it once a second for seconds lost messages (ClusterCrashTest, before: 41 of 2,100 after two
   * quick stream failures on each surviving member: the MQTT connector acked what the broker redelivered right
   * after CONNACK before it was recorded, fixed since by {@link ManualAckMqttSource}).
   */
  CompletionStage<Step> claim(Step step) {
    if (!(step instanceof Authentic authentic)) {
      return done(step);
    }
    return claims.claim(authentic.message()).thenCompose(answer -> {
      if (answer instanceof ClaimBucket.HeldBy held) {
        return done(new Refused(heldBy(authentic.message(), held), authentic.payload()));
      }
      if (answer instanceof ClaimBucket.Undecided undecided) {
        // A late message while a member is away: parked (acked once stored), claimed again by its sender's
        // ParkedSender; the messages behind it go on.
        return park(new ToPark(authentic.message().sender(), authentic.payload(), "the cluster cannot decide"
            + " whether another member delivered it yet (" + undecided.reason() + ")", false));
      }
      if (answer instanceof ClaimBucket.Unavailable unavailable) {
        long now = System.nanoTime();
        long last = claimWaitLogged.get();
        if (now - last > CLAIM_WAIT_LOG_EVERY.toNanos() && claimWaitLogged.compareAndSet(last, now)) {
          org.slf4j.LoggerFactory.getLogger(InboundPipeline.class).warn("the cluster's replay window did not answer"
              + " for a message from {} ({}); it waits unacked (and the messages behind it) and is claimed again"
              + " every {} ms (logged at most every {} s)", authentic.message().sender(), unavailable.reason(),
              CLAIM_RETRY_AFTER.toMillis(), CLAIM_WAIT_LOG_EVERY.toSeconds());
        }
        return CompletableFuture.supplyAsync(() -> step, CompletableFuture.delayedExecutor(
            CLAIM_RETRY_AFTER.toMillis(), TimeUnit.MILLISECONDS, crypto)).thenCompose(this::claim);
      }
      return done(step);
    });
  }

  static final Duration CLAIM_RETRY_AFTER = Duration.ofMillis(500);
  private static final Duration CLAIM_WAIT_LOG_EVERY = Duration.ofSeconds(10);
  private final java.util.concurrent.atomic.AtomicLong claimWaitLogged =
      new java.util.concurrent.atomic.AtomicLong(System.nanoTime() - CLAIM_WAIT_LOG_EVERY.toNanos() - 1);

  /** The refusal of a message whose id another member of the cluster claimed first. */
  static Refusal heldBy(OpenedMessage m, ClaimBucket.HeldBy held) {
    return new Refusal(Refusal.REPLAY, "message id " + m.id() + " was delivered already by cluster member "
        + held.member() + " (a replayed capture, sent to the group again)", m.sender());
  }

  /**
   * The Printer's command for a message at the end of the path: print, quarantine or park it. The reply
   * comes once the record is committed.
   */
  private static Printer.Command record(Step step, ActorRef<Printer.Outcome> replyTo) {
    if (step instanceof Authentic a) {
      return new Printer.Deliver(a.message(), a.dnssecValidated(), a.payload(), replyTo);
    }
    if (step instanceof Refused r) {
      return new Printer.Quarantine(r.refusal(), r.payload(), replyTo);
    }
    if (step instanceof Admitted p) {
      return new Printer.Park(p.message().sender(), p.message().payload(), p.parkedAt(), p.reservation(), replyTo);
    }
    throw new IllegalStateException("not a step to record: " + step.getClass().getSimpleName());
  }

  CompletionStage<Done> ack(Pair<Printer.Outcome, MqttMessageWithAck> recorded) {
    if (recorded.first() instanceof Printer.Failed failed) {
      return CompletableFuture.failedFuture(new NotRecordedException("a message could not be written ("
          + failed.reason() + "); reconnecting so that the broker delivers it again"));
    }
    return recorded.second().ack();
  }

  private static CompletionStage<Step> done(Step step) {
    return CompletableFuture.completedFuture(step);
  }

  /** Fails the stream when a message could not be recorded: it stays unacked and comes again. */
  static final class NotRecordedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NotRecordedException(String message) {
      super(message, null, false, false);
    }
  }
}
