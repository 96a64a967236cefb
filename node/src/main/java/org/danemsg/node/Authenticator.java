package org.danemsg.node;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
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
import org.danemsg.protocol.SignedMessage;
import org.danemsg.protocol.dns.LookupResult;

/**
 * The second crypto stage: gets the claimed sender's validated keys from the {@link TlsaResolver},
 * verifies the signature and claims on the crypto executor, and answers with a {@link Verdict}.
 * (The replay check happens in the {@link Printer}, where "seen" and "printed" are one event.)
 *
 * <p><b>Parking.</b> When the sender's keys cannot be had <em>yet</em> (DNS timeout, SERVFAIL,
 * network), the message is parked rather than rejected:
 * <ol>
 *   <li>its payload is written to the node's database by the {@link Printer} ({@link Printer.Park},
 *       table {@code parked}) and only once that committed is the stream answered {@link Parked}, so
 *       the MQTT message is acked and the pipeline moves on; the payload is then on disk only: the
 *       authenticator keeps its row's id and size ({@link ParkedMessages} reads it back);
 *   <li>a message whose sender lookup has not answered within 500 ms is parked the same way while
 *       the lookup goes on (the stream answers in order, so a hanging lookup would otherwise hold
 *       every message behind it); that lookup's answer then settles the sender's group;
 *   <li>parked messages are grouped per sender; one lookup per sender is retried with exponential
 *       backoff ({@code parking.min-backoff} doubling to {@code parking.max-backoff}); later messages
 *       from a parked sender join the group without a lookup, so their order is kept;
 *   <li>when DNS answers, the group's payloads are read, decrypted, verified and handed to the
 *       {@link Printer} a few at a time (so a group of thousands never sits on the heap at once), which
 *       deletes each parked row in the transaction that delivers or quarantines it; after
 *       {@code parking.give-up-after} without an answer they are quarantined as
 *       {@link Refusal#SENDER_DNS_UNAVAILABLE} the same way;
 *   <li>if the node dies meanwhile, the rows remain; the next start lists them (ids and sizes only,
 *       no payload is read) and retries each sender's lookup, so nothing is lost. Rows an older node
 *       parked without their sender are decrypted one at a time to learn it
 *       ({@link Printer.SetParkedSender}).
 * </ol>
 * Parking is bounded in messages and bytes, in all ({@code parking.max-messages},
 * {@code parking.max-bytes}) and per claimed sender ({@code parking.max-bytes-per-sender}): a
 * message that finds no room is answered {@link Refused} as {@link Refusal#PARKING_FULL} (quarantined
 * with its payload, counted and logged), so a flood from made-up senders under a dead zone can neither
 * exhaust memory or disk nor crowd out the other senders' room. A message that cannot be written
 * (disk full) is answered {@link Settled} with {@link Printer.Failed}: it stays unacked.
 *
 * <p>Each failed retry round logs one line per sender: the DNS failure (name, server, kind, detail),
 * how many messages wait and when the next retry is.
 */
public final class Authenticator extends AbstractBehavior<Authenticator.Command> {

  /** What the authenticator does. */
  public sealed interface Command {}

  /** Authenticate a decrypted message; the reply is a {@link Verdict}. */
  public record Authenticate(SignedMessage signed, byte[] payload, ActorRef<Verdict> replyTo)
      implements Command {}

  /** Reply with the parking counters. */
  public record GetStats(ActorRef<Stats> replyTo) implements Command {}

  private record SenderKeys(Authenticate request, LookupResult result) implements Command {}

  private record Verified(Authenticate request, Envelope.OpenResult result, boolean dnssec)
      implements Command {}

  private record Retry(DnsName sender) implements Command {}

  private record SlowLookup(Authenticate request) implements Command {}

  private record RetryAnswered(DnsName sender, LookupResult result) implements Command {}

  private record ParkedDecrypted(Settling batch, ParkedMessages.Parked entry, byte[] payload,
      Envelope.DecryptResult result) implements Command {}

  private record ParkedVerified(Settling batch, ParkedMessages.Parked entry, byte[] payload,
      Envelope.OpenResult result, boolean dnssec) implements Command {}

  private record ParkedSettled(Settling batch, ParkedMessages.Parked entry, Printer.Outcome outcome)
      implements Command {}

  private record LogWindowEnded() implements Command {}

  private record Migrated(ParkedMessages.Parked old, byte[] payload, Envelope.DecryptResult result)
      implements Command {}

  /** The Printer's answer to parking {@code request}'s payload, reserved in {@code group} meanwhile. */
  private record ParkAnswered(Authenticate request, Group group, Instant parkedAt, Printer.Outcome outcome)
      implements Command {}

  /** The Printer's answer to setting the sender of a row an older node parked without it. */
  private record SenderSet(ParkedMessages.Parked entry, Printer.Outcome outcome) implements Command {}

  /** The answer for one message. */
  public sealed interface Verdict {}

  /** Authentic: print it. */
  public record Authentic(org.danemsg.protocol.OpenedMessage message, boolean dnssecValidated)
      implements Verdict {}

  /** Refused: quarantine it. */
  public record Refused(Refusal refusal) implements Verdict {}

  /** Parked on disk: ack it, the authenticator takes it from here. */
  public record Parked(DnsName sender) implements Verdict {}

  /** Could not be parked for a reason of the node (disk): the outcome says why; do not ack. */
  public record Settled(Printer.Outcome outcome) implements Verdict {}

  /** Parking counters. */
  public record Stats(int parkedMessages, int parkedSenders, long parkedBytes) {}

  /** Parking limits and the services used. */
  public record Settings(NodeSettings.Parking parking, Duration lookupTimeout, boolean dnssecOff, Clock clock) {}

  /** The parked messages of one sender whose DNS is still down. */
  private static final class Group {
    Instant since;
    final Map<Long, ParkedMessages.Parked> files = new LinkedHashMap<>();
    long bytes;
    /** Payloads the Printer is parking for the group: counted in its bytes already. */
    int parking;
    int attempt;
    /** Parked while its first lookup still runs: that lookup's answer is the group's first retry. */
    boolean awaitingFirstAnswer;

    Group(Instant since) {
      this.since = since;
    }
  }

  /**
   * A group whose fate is known, being worked off a few files at a time: verified with {@code keys},
   * or quarantined with {@code refusal}.
   */
  private static final class Settling {
    final DnsName sender;
    final ArrayDeque<ParkedMessages.Parked> queue;
    final LookupResult keys;
    final Refusal refusal;
    int inFlight;

    Settling(DnsName sender, Collection<ParkedMessages.Parked> files, LookupResult keys, Refusal refusal) {
      this.sender = sender;
      this.queue = new ArrayDeque<>(files);
      this.keys = keys;
      this.refusal = refusal;
    }
  }

  /** Cached and healthy lookups answer in microseconds to milliseconds; a timeout takes seconds. */
  private static final Duration PARK_SLOW_LOOKUP_AFTER = Duration.ofMillis(500);
  /** Parked files read, verified and recorded at once per settling sender: the payloads on the heap. */
  private static final int SETTLE_AT_ONCE = 4;
  private static final Duration ASK = Duration.ofSeconds(30);
  private static final Duration LOG_WINDOW = Duration.ofMinutes(1);
  /** Parking lines logged per kind a minute (one per sender and retry round otherwise). */
  private static final int LOG_LINES_PER_MINUTE = 30;

  private final ActorRef<TlsaResolver.Command> resolver;
  private final ActorRef<Decryptor.Command> decryptor;
  private final ActorRef<Printer.Command> printer;
  private final Envelope envelope;
  private final Executor crypto;
  private final ParkedMessages store;
  private final Settings settings;
  private final TimerScheduler<Command> timers;
  private final Map<DnsName, Group> parked = new HashMap<>();
  /** Requests whose sender lookup has not answered yet and that were not parked meanwhile. */
  private final Set<Authenticate> awaitingKeys = Collections.newSetFromMap(new IdentityHashMap<>());
  /** Rows an older node parked without their sender: decrypted one at a time to learn it. */
  private final ArrayDeque<ParkedMessages.Parked> toMigrate = new ArrayDeque<>();
  /** Parked bytes per zone of the claimed senders (the name minus its first label). */
  private final Map<DnsName, Long> bytesPerZone = new HashMap<>();
  private final LogBudget logBudget = new LogBudget(LOG_LINES_PER_MINUTE);
  private int count;
  private long bytes;
  /** Of {@link #count} and {@link #bytes}: payloads the Printer is parking right now (not yet on disk). */
  private int parksInFlight;
  private long bytesInFlight;

  /** An authenticator; parked messages left by an earlier run are decrypted by {@code decryptor}. */
  public static Behavior<Command> create(ActorRef<TlsaResolver.Command> resolver,
      ActorRef<Decryptor.Command> decryptor, ActorRef<Printer.Command> printer, Envelope envelope,
      Executor crypto, ParkedMessages store, Settings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      Authenticator authenticator = new Authenticator(context, timers, resolver, decryptor, printer, envelope,
          crypto, store, settings);
      authenticator.takeUpLeftovers();
      return authenticator;
    }));
  }

  private Authenticator(ActorContext<Command> context, TimerScheduler<Command> timers,
      ActorRef<TlsaResolver.Command> resolver, ActorRef<Decryptor.Command> decryptor,
      ActorRef<Printer.Command> printer, Envelope envelope, Executor crypto, ParkedMessages store,
      Settings settings) {
    super(context);
    this.timers = timers;
    this.resolver = resolver;
    this.decryptor = decryptor;
    this.printer = printer;
    this.envelope = envelope;
    this.crypto = crypto;
    this.store = store;
    this.settings = settings;
  }

  /** Lists what an earlier run parked (names and sizes only) and schedules each sender's retry. */
  private void takeUpLeftovers() throws IOException {
    store.list().forEach(p -> {
      if (p.sender() == null) {
        toMigrate.add(p);
        return;
      }
      // The give-up clock runs from when the message was first parked, across restarts.
      Group group = parked.computeIfAbsent(p.sender(), s -> new Group(p.parkedAt()));
      if (p.parkedAt().isBefore(group.since)) {
        group.since = p.parkedAt();
      }
      add(group, p);
    });
    if (count + toMigrate.size() > 0) {
      getContext().getLog().info("taking up {} message(s) from {} sender(s) parked by an earlier run",
          count + toMigrate.size(), parked.size() + (toMigrate.isEmpty() ? 0 : 1));
    }
    parked.keySet().forEach(sender -> timers.startSingleTimer(sender, new Retry(sender), Duration.ZERO));
    migrateNext();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Authenticate.class, this::onAuthenticate)
        .onMessage(SenderKeys.class, this::onSenderKeys)
        .onMessage(Verified.class, this::onVerified)
        .onMessage(Retry.class, this::onRetry)
        .onMessage(SlowLookup.class, this::onSlowLookup)
        .onMessage(RetryAnswered.class, this::onRetryAnswered)
        .onMessage(ParkedDecrypted.class, this::onParkedDecrypted)
        .onMessage(ParkedVerified.class, this::onParkedVerified)
        .onMessage(ParkedSettled.class, this::onParkedSettled)
        .onMessage(Migrated.class, this::onMigrated)
        .onMessage(ParkAnswered.class, this::onParkAnswered)
        .onMessage(SenderSet.class, this::onSenderSet)
        .onMessage(LogWindowEnded.class, this::onLogWindowEnded)
        .onMessage(GetStats.class, get -> {
          get.replyTo().tell(new Stats(count - parksInFlight, parked.size(), bytes - bytesInFlight));
          return this;
        })
        .build();
  }

  private Behavior<Command> onAuthenticate(Authenticate request) {
    DnsName sender = request.signed().claimedSender();
    Group group = parked.get(sender);
    if (group != null) {
      park(sender, group, request, "earlier messages of the sender wait for DNS");
      return this;
    }
    awaitingKeys.add(request);
    askKeys(sender, result -> new SenderKeys(request, result));
    // The stream answers in order: a lookup that hangs (DNS timeout) would hold every message behind
    // this one. Past this, the message is parked and the lookup's answer settles it later.
    timers.startSingleTimer(request, new SlowLookup(request), PARK_SLOW_LOOKUP_AFTER);
    return this;
  }

  private Behavior<Command> onSlowLookup(SlowLookup slow) {
    Authenticate request = slow.request();
    if (!awaitingKeys.remove(request)) {
      return this; // answered meanwhile
    }
    DnsName sender = request.signed().claimedSender();
    Group group = parked.get(sender);
    if (group == null) {
      group = new Group(settings.clock().instant());
      group.awaitingFirstAnswer = true;
      parked.put(sender, group);
      logCounted("parked", "parked message from {}: no DNS answer for the sender within {} ms;"
          + " delivered when the lookup answers, else retried", sender, PARK_SLOW_LOOKUP_AFTER.toMillis());
    }
    park(sender, group, request, "no DNS answer for the sender within " + PARK_SLOW_LOOKUP_AFTER.toMillis() + " ms");
    return this;
  }

  private void askKeys(DnsName sender, java.util.function.Function<LookupResult, Command> then) {
    getContext().ask(LookupResult.class, resolver, settings.lookupTimeout().plusSeconds(5),
        ref -> new TlsaResolver.Lookup(sender, false, ref),
        (result, error) -> then.apply(result != null ? result
            : new LookupResult.TransientFailure(null, sender, LookupResult.TransientFailure.Kind.TIMEOUT,
                "the resolver did not answer: " + error)));
  }

  private Behavior<Command> onSenderKeys(SenderKeys answer) {
    LookupResult result = answer.result();
    Authenticate request = answer.request();
    DnsName sender = request.signed().claimedSender();
    boolean waiting = awaitingKeys.remove(request);
    if (waiting) {
      timers.cancel(request);
    }
    Group slowGroup = parked.get(sender);
    if (slowGroup != null && slowGroup.awaitingFirstAnswer) {
      slowGroup.awaitingFirstAnswer = false;
      onRetryAnswered(new RetryAnswered(sender, result));
    }
    if (!waiting) {
      return this; // this message was parked and is settled with its group
    }
    if (!result.usableKeys().isEmpty()) {
      verify(request.signed(), result, (open, dnssec) -> new Verified(request, open, dnssec));
    } else if (result.isTransient()) {
      Group group = parked.get(sender);
      boolean created = group == null;
      if (created) {
        group = new Group(settings.clock().instant());
        parked.put(sender, group);
      }
      park(sender, group, request, result.describe());
      if (created && parked.containsKey(sender)) {
        Duration delay = settings.parking().minBackoff();
        timers.startSingleTimer(sender, new Retry(sender), delay);
        logCounted("parked", "parked message from {}: {}; retry at {} (attempt 1)", sender,
            result.describe(), at(delay));
      }
    } else {
      request.replyTo().tell(new Refused(unavailable(sender, result)));
    }
    return this;
  }

  /** Parks the request's payload on disk if there is room, else refuses it; never keeps it in memory. */
  private void park(DnsName sender, Group group, Authenticate request, String why) {
    long size = request.payload().length;
    NodeSettings.Parking limits = settings.parking();
    String full = null;
    if (count >= limits.maxMessages() || bytes + size > limits.maxBytes()) {
      full = "parking is full (" + count + " messages, " + bytes + " of " + limits.maxBytes()
          + " bytes; parking.max-messages " + limits.maxMessages() + ")";
    } else if (group.bytes + size > limits.maxBytesPerSender()) {
      full = "this sender's share of parking is full (" + group.files.size() + " messages, " + group.bytes
          + " of " + limits.maxBytesPerSender() + " bytes, parking.max-bytes-per-sender)";
    } else if (bytesPerZone.getOrDefault(zone(sender), 0L) + size > limits.maxBytesPerZone()) {
      full = "the share of parking for senders under " + zone(sender) + " is full ("
          + bytesPerZone.get(zone(sender)) + " of " + limits.maxBytesPerZone() + " bytes, parking.max-bytes-per-zone)";
    }
    if (full != null) {
      request.replyTo().tell(new Refused(new Refusal(Refusal.PARKING_FULL, full + " while the sender's DNS"
          + " cannot be asked: " + why, sender)));
    } else {
      // Reserved until the Printer answers, so that parks in flight count against the bounds.
      reserve(group, sender, size, +1);
      Instant now = settings.clock().instant();
      getContext().ask(Printer.Outcome.class, printer, ASK, ref -> new Printer.Park(sender, request.payload(), now, ref),
          (outcome, error) -> new ParkAnswered(request, group, now, outcome != null ? outcome
              : new Printer.Failed("the printer did not answer: " + error)));
    }
    dropIfIdle(sender, group);
  }

  private void reserve(Group group, DnsName sender, long size, int sign) {
    parksInFlight += sign;
    bytesInFlight += sign * size;
    group.parking += sign;
    group.bytes += sign * size;
    count += sign;
    bytes += sign * size;
    bytesPerZone.merge(zone(sender), sign * size, Long::sum);
    bytesPerZone.remove(zone(sender), 0L);
  }

  /** A group with nothing parked or being parked, and no first lookup running, is forgotten. */
  private void dropIfIdle(DnsName sender, Group group) {
    if (group.files.isEmpty() && group.parking == 0 && !group.awaitingFirstAnswer && parked.get(sender) == group) {
      parked.remove(sender); // nothing waits: the next message of the sender asks DNS afresh
      timers.cancel(sender);
    }
  }

  private Behavior<Command> onParkAnswered(ParkAnswered answer) {
    Authenticate request = answer.request();
    DnsName sender = request.signed().claimedSender();
    reserve(answer.group(), sender, request.payload().length, -1);
    if (answer.outcome() instanceof Printer.ParkedAs parkedAs) {
      Group group = parked.get(sender);
      if (group == null) {
        // The group was settled while this payload was being parked: it starts a group of its own.
        group = new Group(answer.parkedAt());
        parked.put(sender, group);
        timers.startSingleTimer(sender, new Retry(sender), Duration.ZERO);
      }
      add(group, new ParkedMessages.Parked(parkedAs.id(), sender, request.payload().length, answer.parkedAt()));
      request.replyTo().tell(new Parked(sender));
    } else {
      String reason = answer.outcome() instanceof Printer.Failed failed ? failed.reason() : answer.outcome().toString();
      getContext().getLog().error("cannot park a message from {}: {}; it stays unacknowledged", sender,
          SafeText.detail(reason));
      request.replyTo().tell(new Settled(new Printer.Failed("cannot park: " + SafeText.detail(reason))));
      dropIfIdle(sender, answer.group());
    }
    return this;
  }

  private void add(Group group, ParkedMessages.Parked p) {
    if (group.files.putIfAbsent(p.id(), p) == null) { // a redelivered copy parks onto its row
      group.bytes += p.size();
      count(p, +1);
    }
  }

  /** Counts a parked file in (+1) or out (-1) of the totals. */
  private void count(ParkedMessages.Parked p, int sign) {
    count += sign;
    bytes += sign * p.size();
    if (p.sender() != null) {
      bytesPerZone.merge(zone(p.sender()), sign * p.size(), Long::sum);
      bytesPerZone.remove(zone(p.sender()), 0L);
    }
  }

  /** The zone a claimed sender's name is under, for its share of parking. */
  private static DnsName zone(DnsName sender) {
    DnsName parent = sender.parent();
    return parent != null ? parent : sender;
  }

  private void verify(SignedMessage signed, LookupResult keys,
      java.util.function.BiFunction<Envelope.OpenResult, Boolean, Command> then) {
    boolean dnssec = keys instanceof LookupResult.Secure;
    getContext().pipeToSelf(
        CompletableFuture.supplyAsync(() -> envelope.verify(signed, keys.usableKeys()), crypto),
        (result, error) -> then.apply(result != null ? result
            : new Envelope.Rejected(new Rejection(Rejection.Reason.SIGNATURE_INVALID,
                "verification failed unexpectedly: " + error, signed.claimedSender())), dnssec));
  }

  private Behavior<Command> onVerified(Verified verified) {
    ActorRef<Verdict> replyTo = verified.request().replyTo();
    if (verified.result() instanceof Envelope.Opened opened) {
      replyTo.tell(new Authentic(opened.message(), verified.dnssec()));
    } else {
      replyTo.tell(new Refused(Refusal.of(((Envelope.Rejected) verified.result()).rejection())));
    }
    return this;
  }

  private Behavior<Command> onRetry(Retry retry) {
    if (parked.containsKey(retry.sender())) {
      askKeys(retry.sender(), result -> new RetryAnswered(retry.sender(), result));
    }
    return this;
  }

  private Behavior<Command> onRetryAnswered(RetryAnswered answer) {
    DnsName sender = answer.sender();
    Group group = parked.get(sender);
    if (group == null) {
      return this;
    }
    if (group.files.isEmpty()) {
      parked.remove(sender); // its only message found no room and was refused meanwhile
      return this;
    }
    LookupResult result = answer.result();
    if (result.isTransient()) {
      group.attempt++;
      Duration waited = Duration.between(group.since, settings.clock().instant());
      if (waited.compareTo(settings.parking().giveUpAfter()) >= 0) {
        parked.remove(sender);
        logCounted("given up", "giving up on {} parked message(s) from {} after {} s: {}; rejected",
            group.files.size(), sender, waited.toSeconds(), result.describe());
        settle(new Settling(sender, group.files.values(), null, new Refusal(Refusal.SENDER_DNS_UNAVAILABLE,
            "no DNS answer for the sender within " + settings.parking().giveUpAfter().toSeconds() + " s: "
                + result.describe(), sender)));
        return this;
      }
      Duration delay = backoff(group.attempt);
      timers.startSingleTimer(sender, new Retry(sender), delay);
      logCounted("still parked", "{} message(s) from {} still parked: {}; retry at {} (attempt {})",
          group.files.size(), sender, result.describe(), at(delay), group.attempt + 1);
      return this;
    }
    parked.remove(sender);
    if (result.usableKeys().isEmpty()) {
      settle(new Settling(sender, group.files.values(), null, unavailable(sender, result)));
      return this;
    }
    logCounted("delivering", "DNS answers for {} again: delivering {} parked message(s)", sender,
        group.files.size());
    settle(new Settling(sender, group.files.values(), result, null));
    return this;
  }

  /** Starts (or continues) working off a settled group, {@value #SETTLE_AT_ONCE} files at a time. */
  private void settle(Settling batch) {
    while (batch.inFlight < SETTLE_AT_ONCE && !batch.queue.isEmpty()) {
      ParkedMessages.Parked entry = batch.queue.poll();
      byte[] payload;
      try {
        payload = store.read(entry.id());
      } catch (IOException e) {
        getContext().getLog().error("cannot read parked message {}: {}; it stays for the next start", entry.id(),
            SafeText.detail(e.getMessage()));
        forget(entry);
        continue;
      }
      if (payload == null) {
        forget(entry); // settled already (a redelivered copy parked onto a row being settled)
        continue;
      }
      batch.inFlight++;
      if (batch.refusal != null) {
        askPrinter(batch, entry, ref -> new Printer.Quarantine(batch.refusal, payload, entry.id(), ref));
      } else {
        getContext().ask(Envelope.DecryptResult.class, decryptor, ASK, ref -> new Decryptor.Decrypt(payload, ref),
            (result, error) -> new ParkedDecrypted(batch, entry, payload, result != null ? result
                : new Envelope.Rejected(Rejection.of(Rejection.Reason.NOT_A_JWE, "not decrypted: " + error))));
      }
    }
  }

  private Behavior<Command> onParkedDecrypted(ParkedDecrypted decrypted) {
    if (decrypted.result() instanceof Envelope.Decrypted d
        && d.message().claimedSender().equals(decrypted.batch().sender)) {
      verify(d.message(), decrypted.batch().keys, (open, dnssec) -> new ParkedVerified(decrypted.batch(),
          decrypted.entry(), decrypted.payload(), open, dnssec));
    } else {
      Refusal refusal = decrypted.result() instanceof Envelope.Rejected rejected
          ? Refusal.of(rejected.rejection())
          : new Refusal(Rejection.Reason.SENDER_URI_INVALID.name(), "the parked message no longer names the"
              + " sender it was parked for", decrypted.batch().sender);
      askPrinter(decrypted.batch(), decrypted.entry(),
          ref -> new Printer.Quarantine(refusal, decrypted.payload(), decrypted.entry().id(), ref));
    }
    return this;
  }

  private Behavior<Command> onParkedVerified(ParkedVerified verified) {
    if (verified.result() instanceof Envelope.Opened opened) {
      askPrinter(verified.batch(), verified.entry(), ref -> new Printer.Deliver(opened.message(), verified.dnssec(),
          verified.payload(), verified.entry().id(), ref));
    } else {
      Refusal refusal = Refusal.of(((Envelope.Rejected) verified.result()).rejection());
      askPrinter(verified.batch(), verified.entry(),
          ref -> new Printer.Quarantine(refusal, verified.payload(), verified.entry().id(), ref));
    }
    return this;
  }

  private void askPrinter(Settling batch, ParkedMessages.Parked entry,
      java.util.function.Function<ActorRef<Printer.Outcome>, Printer.Command> command) {
    getContext().ask(Printer.Outcome.class, printer, ASK, command::apply,
        (outcome, error) -> new ParkedSettled(batch, entry, outcome != null ? outcome
            : new Printer.Failed("the printer did not answer: " + error)));
  }

  private Behavior<Command> onParkedSettled(ParkedSettled settled) {
    Settling batch = settled.batch();
    ParkedMessages.Parked entry = settled.entry();
    batch.inFlight--;
    if (settled.outcome() instanceof Printer.Failed && batch.sender == null) {
      forget(entry); // a row of an older node that could not be recorded: it stays for the next start
    } else if (settled.outcome() instanceof Printer.Failed) {
      // Keep the row and try the sender again later rather than lose the message.
      Group group = parked.computeIfAbsent(batch.sender, s -> new Group(entry.parkedAt()));
      forget(entry);
      add(group, entry);
      timers.startSingleTimer(batch.sender, new Retry(batch.sender), settings.parking().maxBackoff());
    } else {
      forget(entry); // the Printer deleted its row with the delivery or refusal
    }
    settle(batch);
    return this;
  }

  private void forget(ParkedMessages.Parked entry) {
    count(entry, -1);
  }

  /** Rows of an older node: read and decrypted one at a time, then given their sender. */
  private void migrateNext() {
    ParkedMessages.Parked old = toMigrate.poll();
    if (old == null) {
      return;
    }
    byte[] payload;
    try {
      payload = store.read(old.id());
    } catch (IOException e) {
      getContext().getLog().error("cannot read parked message {}: {}", old.id(), SafeText.detail(e.getMessage()));
      migrateNext();
      return;
    }
    if (payload == null) {
      migrateNext();
      return;
    }
    getContext().ask(Envelope.DecryptResult.class, decryptor, ASK, ref -> new Decryptor.Decrypt(payload, ref),
        (result, error) -> new Migrated(old, payload, result != null ? result
            : new Envelope.Rejected(Rejection.of(Rejection.Reason.NOT_A_JWE, "not decrypted: " + error))));
  }

  private Behavior<Command> onMigrated(Migrated migrated) {
    ParkedMessages.Parked old = migrated.old();
    if (migrated.result() instanceof Envelope.Decrypted decrypted) {
      DnsName sender = decrypted.message().claimedSender();
      ParkedMessages.Parked withSender = new ParkedMessages.Parked(old.id(), sender, old.size(), old.parkedAt());
      getContext().ask(Printer.Outcome.class, printer, ASK, ref -> new Printer.SetParkedSender(old.id(), sender, ref),
          (outcome, error) -> new SenderSet(withSender, outcome != null ? outcome
              : new Printer.Failed("the printer did not answer: " + error)));
      return this; // the next one once this one's sender is set
    }
    count(old, +1);
    Settling batch = new Settling(null, java.util.List.of(old), null,
        Refusal.of(((Envelope.Rejected) migrated.result()).rejection()));
    settle(batch);
    migrateNext();
    return this;
  }

  private Behavior<Command> onSenderSet(SenderSet set) {
    ParkedMessages.Parked entry = set.entry();
    if (set.outcome() instanceof Printer.ParkedAs) {
      DnsName sender = entry.sender();
      Group group = parked.get(sender);
      if (group == null) {
        group = new Group(entry.parkedAt());
        parked.put(sender, group);
        timers.startSingleTimer(sender, new Retry(sender), Duration.ZERO);
      } else if (entry.parkedAt().isBefore(group.since)) {
        group.since = entry.parkedAt();
      }
      add(group, entry);
    } else {
      getContext().getLog().error("cannot set the sender of parked message {}: {}; it is tried again at the next"
          + " start", entry.id(), set.outcome());
    }
    migrateNext();
    return this;
  }

  /**
   * A WARN line per sender, within the budget of its kind a minute: made-up senders by the thousand
   * would otherwise write a line each per retry round. The rest are summed up when the minute ends.
   */
  private void logCounted(String kind, String format, Object... args) {
    if (!timers.isTimerActive(LogWindowEnded.class)) {
      timers.startSingleTimer(LogWindowEnded.class, new LogWindowEnded(), LOG_WINDOW);
    }
    if (logBudget.take(kind) != LogBudget.Verdict.HOLD) {
      getContext().getLog().warn(format, args);
    }
  }

  private Behavior<Command> onLogWindowEnded(LogWindowEnded end) {
    logBudget.endWindow().forEach((kind, held) -> getContext().getLog().warn("parking: {} more '{}' line(s) in the"
        + " last minute not logged one by one; {} message(s) from {} sender(s) parked ({} bytes)", held, kind,
        count, parked.size(), bytes));
    return this;
  }

  private Duration backoff(int attempt) {
    Duration delay = settings.parking().minBackoff().multipliedBy(1L << Math.min(attempt, 20));
    return delay.compareTo(settings.parking().maxBackoff()) > 0 ? settings.parking().maxBackoff() : delay;
  }

  private String at(Duration delay) {
    return LocalTime.ofInstant(settings.clock().instant().plus(delay), ZoneId.systemDefault())
        .truncatedTo(ChronoUnit.SECONDS).toString();
  }

  private static Refusal unavailable(DnsName sender, LookupResult result) {
    if (result instanceof LookupResult.NotAllowed) {
      return new Refusal(Refusal.SENDER_ZONE_NOT_ALLOWED, result.describe(), sender);
    }
    return new Refusal(Rejection.Reason.SENDER_KEYS_UNAVAILABLE.name(),
        "no validated key for " + sender + ": " + result.describe(), sender);
  }
}
