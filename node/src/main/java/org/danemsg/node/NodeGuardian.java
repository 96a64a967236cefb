package org.danemsg.node;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.dns.DaneLookup;
import org.danemsg.protocol.dns.TlsaCache;

/**
 * The node's root actor: spawns the six actors of the node, each with the supervision that fits what
 * it protects (written next to the spawn, and logged by Pekko when it acts), and writes the periodic
 * health line.
 */
public final class NodeGuardian extends AbstractBehavior<NodeGuardian.Command> {

  /** What the guardian does. */
  public sealed interface Command {}

  /** Reply with the counters of all actors. */
  public record GetHealth(ActorRef<Health> replyTo) implements Command {}

  /** Reply with whether DNS publishes this node's key (the {@link IdentityKeeper}'s status). */
  public record GetIdentityStatus(ActorRef<IdentityKeeper.Status> replyTo) implements Command {}

  /** Stop taking messages and finish those in flight (SIGTERM). */
  public record Drain(ActorRef<Done> replyTo) implements Command {}

  /** Stop the pipeline at once (tests: a crash). */
  public record Abort() implements Command {}

  private record HealthTick() implements Command {}

  private record HealthGathered(Health health, Throwable error, ActorRef<Health> replyTo) implements Command {}

  /** The node's counters. */
  public record Health(boolean subscribed, long received, long acked, long delivered,
      Map<String, Long> rejected, int parked, long cacheHits, long cacheMisses) {

    /** All rejections. */
    public long rejectedTotal() {
      return rejected.values().stream().mapToLong(Long::longValue).sum();
    }

    /** The health log line. */
    public String line() {
      return "health: mqtt " + (subscribed ? "subscribed" : "NOT connected") + ", received " + received
          + ", delivered " + delivered + ", rejected " + rejectedTotal() + (rejected.isEmpty() ? "" : " " + rejected)
          + ", parked " + parked + ", acked " + acked + ", dns cache hits " + cacheHits + " misses "
          + cacheMisses;
    }
  }

  /** What a node is started with, besides its settings. */
  public record Options(PrintStream out, Clock clock, Printer.Hook printHook) {}

  private static final Duration STATS_TIMEOUT = Duration.ofSeconds(5);

  private final ActorRef<TlsaResolver.Command> resolver;
  private final ActorRef<Printer.Command> printer;
  private final ActorRef<Authenticator.Command> authenticator;
  private final ActorRef<MqttGateway.Command> gateway;
  private final ActorRef<IdentityKeeper.Command> keeper;
  private final Scheduler scheduler;
  /** The read side of parked messages (its own database connection), closed when the node stops. */
  private final ParkedMessages parkedMessages;

  /** The guardian of a node with {@code identity} (already loaded and checked). */
  public static Behavior<Command> create(NodeSettings settings, DeviceIdentity identity, Options options) {
    return Behaviors.setup(context -> {
      Duration every = settings.healthInterval();
      if (!every.isZero()) {
        // Not Behaviors.withTimers: timer messages never reached this behavior as the system's guardian
        // (seen with Pekko 1.7.0), so the system scheduler sends the tick instead.
        ActorRef<Command> self = context.getSelf();
        context.getSystem().scheduler().scheduleAtFixedRate(every, every, () -> self.tell(new HealthTick()),
            context.getExecutionContext());
      }
      return new NodeGuardian(context, settings, identity, options);
    });
  }

  private NodeGuardian(ActorContext<Command> context, NodeSettings settings, DeviceIdentity identity,
      Options options) {
    super(context);
    this.scheduler = context.getSystem().scheduler();
    DispatcherSelector files = DispatcherSelector.fromConfig("danemsg.file-dispatcher");
    Executor dns = context.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig("danemsg.dns-dispatcher"));
    Executor crypto = context.getSystem().dispatchers()
        .lookup(DispatcherSelector.fromConfig("danemsg.crypto-dispatcher"));

    // DNS trouble is outside our control: restart with backoff (the cache survives, it is not the
    // actor's state but the TlsaCache's).
    TlsaCache cache = new TlsaCache(DaneLookup.create(settings.lookupSettings()), dns, settings.cacheSettings());
    resolver = context.spawn(Behaviors.supervise(TlsaResolver.create(cache, settings.dns().negativeTtl()))
        .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.1)),
        "tlsa-resolver");

    // The identity was checked before start, and unreadable or half-written files later are values
    // the keeper handles itself. Anything else that fails here is a bug: resume, because a restart
    // would lose the Decryptor's subscription and fall back to the key loaded at start (stale after
    // a rotation).
    keeper = context.spawn(Behaviors.supervise(IdentityKeeper.create(
            settings.identityFiles(), identity, resolver,
            new IdentityKeeper.Settings(settings.publicationCheckInterval(), settings.identityFileCheckInterval())))
        .onFailure(SupervisorStrategy.resume()),
        "identity-keeper", files);

    Envelope envelope = new Envelope(settings.envelopeSettings().withClock(options.clock()));
    // A bad message is a value, never an exception; should one escape anyway, skip it and keep the keys.
    ActorRef<Decryptor.Command> decryptor = context.spawn(Behaviors.supervise(Decryptor.create(envelope, crypto,
            new IdentityKeeper.Keys(identity.name(), java.util.List.of(identity)), keeper))
        .onFailure(SupervisorStrategy.resume()), "decryptor");

    // The printer owns the database connection: on failure, reopen it (restart) with backoff.
    printer = context.spawn(Behaviors.supervise(Printer.create(new Printer.Settings(settings.dataPath(),
            settings.quarantinePayloadLimit(), settings.records(), options.out(), options.clock(),
            options.printHook())))
        .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(500), Duration.ofSeconds(30), 0.2)),
        "printer", files);

    try {
      parkedMessages = new ParkedMessages(settings.dataPath());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ParkedMessages store = parkedMessages;
    // Parked messages live on disk; an unexpected failure must not forget the in-memory schedule:
    // resume.
    authenticator = context.spawn(Behaviors.supervise(Authenticator.create(resolver, decryptor, printer, envelope,
            crypto, store, new Authenticator.Settings(settings.parking(), settings.dns().timeout(),
                settings.dns().dnssecOff(), options.clock())))
        .onFailure(SupervisorStrategy.resume()), "authenticator", files);

    // The broker connection restarts itself inside the stream; should the actor fail, restart it with
    // backoff (a new stream, a new connection, unacked messages redelivered).
    gateway = context.spawn(Behaviors.supervise(MqttGateway.create(settings, decryptor, authenticator, printer))
        .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2)),
        "mqtt-gateway");
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(HealthTick.class, tick -> gather(null))
        .onMessage(GetHealth.class, get -> gather(get.replyTo()))
        .onMessage(HealthGathered.class, this::onHealthGathered)
        .onMessage(GetIdentityStatus.class, get -> {
          keeper.tell(new IdentityKeeper.GetStatus(get.replyTo()));
          return this;
        })
        .onMessage(Drain.class, drain -> {
          gateway.tell(new MqttGateway.Drain(drain.replyTo()));
          return this;
        })
        .onMessage(Abort.class, abort -> {
          gateway.tell(new MqttGateway.Abort());
          return this;
        })
        .onSignal(PostStop.class, stop -> {
          parkedMessages.close(); // the children, the Authenticator among them, stopped first
          return this;
        })
        .build();
  }

  private Behavior<Command> gather(ActorRef<Health> replyTo) {
    CompletableFuture<Printer.Stats> printed = AskPattern.<Printer.Command, Printer.Stats>ask(printer,
        Printer.GetStats::new, STATS_TIMEOUT, scheduler).toCompletableFuture();
    CompletableFuture<Authenticator.Stats> parked = AskPattern.<Authenticator.Command, Authenticator.Stats>ask(
        authenticator, Authenticator.GetStats::new, STATS_TIMEOUT, scheduler).toCompletableFuture();
    CompletableFuture<TlsaCache.Stats> cache = AskPattern.<TlsaResolver.Command, TlsaCache.Stats>ask(resolver,
        TlsaResolver.GetStats::new, STATS_TIMEOUT, scheduler).toCompletableFuture();
    CompletableFuture<MqttGateway.Stats> mqtt = AskPattern.<MqttGateway.Command, MqttGateway.Stats>ask(gateway,
        MqttGateway.GetStats::new, STATS_TIMEOUT, scheduler).toCompletableFuture();
    CompletableFuture<Health> health = CompletableFuture.allOf(printed, parked, cache, mqtt).thenApply(v ->
        new Health(mqtt.join().subscribed(), mqtt.join().received(), mqtt.join().acked(),
            printed.join().delivered(), printed.join().rejected(), parked.join().parkedMessages(),
            cache.join().hits(), cache.join().misses()));
    getContext().pipeToSelf(health, (h, error) -> new HealthGathered(h, error, replyTo));
    return this;
  }

  private Behavior<Command> onHealthGathered(HealthGathered gathered) {
    if (gathered.replyTo() != null) {
      if (gathered.health() != null) {
        gathered.replyTo().tell(gathered.health());
      }
    } else if (gathered.health() != null) {
      getContext().getLog().info(gathered.health().line());
    } else {
      getContext().getLog().warn("health: an actor did not answer in time: {}", gathered.error().toString());
    }
    return this;
  }
}
