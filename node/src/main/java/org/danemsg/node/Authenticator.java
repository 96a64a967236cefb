package org.danemsg.node;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
 *   <li>its payload is written to {@code DATA_PATH/parked/} and only then is the stream answered
 *       {@link Parked}, so the MQTT message is acked and the pipeline moves on: other senders' messages
 *       keep flowing, and the broker's in-flight window is not held by a DNS outage;
 *   <li>a message whose sender lookup has not answered within 500 ms is parked the same way while
 *       the lookup goes on (the stream answers in order, so a hanging lookup would otherwise hold
 *       every message behind it); that lookup's answer then settles the sender's group;
 *   <li>parked messages are grouped per sender; one lookup per sender is retried with exponential
 *       backoff ({@code parking.min-backoff} doubling to {@code parking.max-backoff}); later messages
 *       from a parked sender join the group without a lookup, so their order is kept;
 *   <li>when DNS answers, each is verified and handed to the {@link Printer} (delivered or
 *       quarantined), then its file is deleted; after {@code parking.give-up-after} without an answer
 *       they are quarantined as {@link Refusal#SENDER_DNS_UNAVAILABLE};
 *   <li>if the node dies meanwhile, the files remain and are taken up at the next start (decrypted
 *       again and retried), so nothing is lost; a message delivered just before dying is caught by
 *       the replay cache when its file is retried.
 * </ol>
 * Parking is bounded ({@code parking.max-messages}): beyond it a message is kept in memory and the
 * stream is answered only once it is settled ({@link Settled}); until then it stays unacked, which
 * back-pressures the broker instead of growing without limit.
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

  private record ParkedVerified(Entry entry, Envelope.OpenResult result, boolean dnssec) implements Command {}

  private record ParkedSettled(Entry entry, Printer.Outcome outcome) implements Command {}

  private record Restored(ParkedMessages.Parked parked, Envelope.DecryptResult result) implements Command {}

  /** The answer for one message. */
  public sealed interface Verdict {}

  /** Authentic: print it. */
  public record Authentic(org.danemsg.protocol.OpenedMessage message, boolean dnssecValidated)
      implements Verdict {}

  /** Refused: quarantine it. */
  public record Refused(Refusal refusal) implements Verdict {}

  /** Parked on disk: ack it, the authenticator takes it from here. */
  public record Parked(DnsName sender) implements Verdict {}

  /** A message that had to wait in memory was settled by the authenticator (printed or quarantined). */
  public record Settled(Printer.Outcome outcome) implements Verdict {}

  /** Parking counters. */
  public record Stats(int parkedMessages, int parkedSenders) {}

  /** Parking limits and the services used. */
  public record Settings(NodeSettings.Parking parking, Duration lookupTimeout, boolean dnssecOff, Clock clock) {}

  /** A parked message: on disk ({@code file}) or waiting in memory for its {@code replyTo}. */
  private record Entry(SignedMessage signed, byte[] payload, Path file, ActorRef<Verdict> replyTo) {}

  private static final class Group {
    Instant since;
    final List<Entry> entries = new ArrayList<>();
    int attempt;
    /** Parked while its first lookup still runs: that lookup's answer is the group's first retry. */
    boolean awaitingFirstAnswer;

    Group(Instant since) {
      this.since = since;
    }
  }

  /** Cached and healthy lookups answer in microseconds to milliseconds; a timeout takes seconds. */
  private static final Duration PARK_SLOW_LOOKUP_AFTER = Duration.ofMillis(500);

  private final ActorRef<TlsaResolver.Command> resolver;
  private final ActorRef<Printer.Command> printer;
  private final Envelope envelope;
  private final Executor crypto;
  private final ParkedMessages store;
  private final Settings settings;
  private final TimerScheduler<Command> timers;
  private final Map<DnsName, Group> parked = new HashMap<>();
  /** Requests whose sender lookup has not answered yet and that were not parked meanwhile. */
  private final java.util.Set<Authenticate> awaitingKeys =
      java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
  private int onDisk;

  /** An authenticator; parked messages left by an earlier run are decrypted by {@code decryptor}. */
  public static Behavior<Command> create(ActorRef<TlsaResolver.Command> resolver,
      ActorRef<Decryptor.Command> decryptor, ActorRef<Printer.Command> printer, Envelope envelope,
      Executor crypto, ParkedMessages store, Settings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      List<ParkedMessages.Parked> left = store.all();
      if (!left.isEmpty()) {
        context.getLog().info("taking up {} message(s) parked by an earlier run", left.size());
      }
      for (ParkedMessages.Parked p : left) {
        context.ask(Envelope.DecryptResult.class, decryptor, Duration.ofSeconds(30),
            ref -> new Decryptor.Decrypt(p.payload(), ref),
            (result, error) -> new Restored(p, result != null ? result
                : new Envelope.Rejected(Rejection.of(Rejection.Reason.NOT_A_JWE, "not decrypted: " + error))));
      }
      return new Authenticator(context, timers, resolver, printer, envelope, crypto, store, settings);
    }));
  }

  private Authenticator(ActorContext<Command> context, TimerScheduler<Command> timers,
      ActorRef<TlsaResolver.Command> resolver, ActorRef<Printer.Command> printer, Envelope envelope,
      Executor crypto, ParkedMessages store, Settings settings) {
    super(context);
    this.timers = timers;
    this.resolver = resolver;
    this.printer = printer;
    this.envelope = envelope;
    this.crypto = crypto;
    this.store = store;
    this.settings = settings;
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
        .onMessage(ParkedVerified.class, this::onParkedVerified)
        .onMessage(ParkedSettled.class, this::onParkedSettled)
        .onMessage(Restored.class, this::onRestored)
        .onMessage(GetStats.class, get -> {
          int count = parked.values().stream().mapToInt(g -> g.entries.size()).sum();
          get.replyTo().tell(new Stats(count, parked.size()));
          return this;
        })
        .build();
  }

  private Behavior<Command> onAuthenticate(Authenticate request) {
    DnsName sender = request.signed().claimedSender();
    Group group = parked.get(sender);
    if (group != null) {
      park(group, request.signed(), request.payload(), request.replyTo());
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
      getContext().getLog().warn("parked message from {}: no DNS answer for the sender within {} ms;"
          + " delivered when the lookup answers, else retried", sender, PARK_SLOW_LOOKUP_AFTER.toMillis());
    }
    park(group, request.signed(), request.payload(), request.replyTo());
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
      if (group == null) {
        group = new Group(settings.clock().instant());
        parked.put(sender, group);
        Duration delay = settings.parking().minBackoff();
        timers.startSingleTimer(sender, new Retry(sender), delay);
        getContext().getLog().warn("parked message from {}: {}; retry at {} (attempt 1)", sender,
            result.describe(), at(delay));
      }
      park(group, request.signed(), request.payload(), request.replyTo());
    } else {
      request.replyTo().tell(new Refused(unavailable(sender, result)));
    }
    return this;
  }

  private void park(Group group, SignedMessage signed, byte[] payload, ActorRef<Verdict> replyTo) {
    if (onDisk < settings.parking().maxMessages()) {
      try {
        Path file = store.park(payload);
        onDisk++;
        group.entries.add(new Entry(signed, payload, file, null));
        replyTo.tell(new Parked(signed.claimedSender()));
        return;
      } catch (IOException e) {
        getContext().getLog().error("cannot write a parked message to disk ({}); keeping it unacked in memory",
            e.toString());
      }
    }
    group.entries.add(new Entry(signed, payload, null, replyTo));
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
    LookupResult result = answer.result();
    if (result.isTransient()) {
      group.attempt++;
      Duration waited = Duration.between(group.since, settings.clock().instant());
      if (waited.compareTo(settings.parking().giveUpAfter()) >= 0) {
        parked.remove(sender);
        getContext().getLog().warn("giving up on {} parked message(s) from {} after {} s: {}; rejected",
            group.entries.size(), sender, waited.toSeconds(), result.describe());
        Refusal refusal = new Refusal(Refusal.SENDER_DNS_UNAVAILABLE, "no DNS answer for the sender within "
            + settings.parking().giveUpAfter().toSeconds() + " s: " + result.describe(), sender);
        group.entries.forEach(entry -> quarantine(entry, refusal));
        return this;
      }
      Duration delay = backoff(group.attempt);
      timers.startSingleTimer(sender, new Retry(sender), delay);
      getContext().getLog().warn("{} message(s) from {} still parked: {}; retry at {} (attempt {})",
          group.entries.size(), sender, result.describe(), at(delay), group.attempt + 1);
      return this;
    }
    parked.remove(sender);
    if (result.usableKeys().isEmpty()) {
      Refusal refusal = unavailable(sender, result);
      group.entries.forEach(entry -> quarantine(entry, refusal));
      return this;
    }
    getContext().getLog().info("DNS answers for {} again: delivering {} parked message(s)", sender,
        group.entries.size());
    for (Entry entry : group.entries) {
      verify(entry.signed(), result, (open, dnssec) -> new ParkedVerified(entry, open, dnssec));
    }
    return this;
  }

  private Behavior<Command> onParkedVerified(ParkedVerified verified) {
    Entry entry = verified.entry();
    if (verified.result() instanceof Envelope.Opened opened) {
      getContext().ask(Printer.Outcome.class, printer, Duration.ofSeconds(30),
          ref -> new Printer.Deliver(opened.message(), verified.dnssec(), entry.payload(), ref),
          (outcome, error) -> new ParkedSettled(entry, outcome != null ? outcome
              : new Printer.Failed("the printer did not answer: " + error)));
    } else {
      quarantine(entry, Refusal.of(((Envelope.Rejected) verified.result()).rejection()));
    }
    return this;
  }

  private void quarantine(Entry entry, Refusal refusal) {
    getContext().ask(Printer.Outcome.class, printer, Duration.ofSeconds(30),
        ref -> new Printer.Quarantine(refusal, entry.payload(), ref),
        (outcome, error) -> new ParkedSettled(entry, outcome != null ? outcome
            : new Printer.Failed("the printer did not answer: " + error)));
  }

  private Behavior<Command> onParkedSettled(ParkedSettled settled) {
    Entry entry = settled.entry();
    if (settled.outcome() instanceof Printer.Failed && entry.file() != null && entry.signed() == null) {
      return this; // the file stays for the next start
    }
    if (settled.outcome() instanceof Printer.Failed && entry.file() != null) {
      // Keep the file and try again later rather than lose the message.
      DnsName sender = entry.signed().claimedSender();
      Group group = parked.computeIfAbsent(sender, s -> new Group(settings.clock().instant()));
      group.entries.add(entry);
      timers.startSingleTimer(sender, new Retry(sender), settings.parking().maxBackoff());
      return this;
    }
    if (entry.file() != null) {
      onDisk--;
      try {
        store.remove(entry.file());
      } catch (IOException e) {
        getContext().getLog().warn("cannot delete parked file {}: {}", entry.file(), e.toString());
      }
    }
    if (entry.replyTo() != null) {
      entry.replyTo().tell(new Settled(settled.outcome()));
    }
    return this;
  }

  private Behavior<Command> onRestored(Restored restored) {
    ParkedMessages.Parked p = restored.parked();
    if (restored.result() instanceof Envelope.Decrypted decrypted) {
      DnsName sender = decrypted.message().claimedSender();
      Group group = parked.get(sender);
      if (group == null) {
        // The give-up clock runs from when the message was first parked, across restarts.
        group = new Group(p.parkedAt());
        parked.put(sender, group);
        timers.startSingleTimer(sender, new Retry(sender), Duration.ZERO);
      } else if (p.parkedAt().isBefore(group.since)) {
        group.since = p.parkedAt();
      }
      onDisk++;
      group.entries.add(new Entry(decrypted.message(), p.payload(), p.file(), null));
    } else {
      onDisk++;
      quarantine(new Entry(null, p.payload(), p.file(), null),
          Refusal.of(((Envelope.Rejected) restored.result()).rejection()));
    }
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
    return new Refusal(Rejection.Reason.SENDER_KEYS_UNAVAILABLE.name(),
        "no validated key for " + sender + ": " + result.describe(), sender);
  }
}
