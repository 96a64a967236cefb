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
import org.apache.pekko.actor.typed.ChildFailed;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.danemsg.node.api.ApiServer;
import org.danemsg.node.api.NodeMetrics;
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

  /** Reply with the counters of all actors, gathered by a {@link HealthQuery} child. */
  public record GetHealth(ActorRef<HealthAnswer> replyTo) implements Command {}

  /** Reply with whether DNS publishes this node's key (the {@link IdentityKeeper}'s status). */
  public record GetIdentityStatus(ActorRef<IdentityKeeper.Status> replyTo) implements Command {}

  /** Reply once the local API listens, or could not ({@code Node.start} waits for it). */
  public record GetApiBinding(ActorRef<ApiServer.BindingState> replyTo) implements Command {}

  /** Stop taking messages and finish those in flight (SIGTERM). */
  public record Drain(ActorRef<Done> replyTo) implements Command {}

  /** Stop the pipeline at once (tests: a crash). */
  public record Abort() implements Command {}

  private record HealthTick() implements Command {}

  /** Cluster mode: {@code danemsg.cluster.join-timeout} has passed since the start; stop unless Up. */
  private record JoinDeadline() implements Command {}

  private record HealthGathered(HealthAnswer answer) implements Command {}

  /** What a health question gives. */
  public sealed interface HealthAnswer {}

  /** Some actors did not answer in time (named in {@code silent}): the node is not healthy. */
  public record HealthUnknown(java.util.List<String> silent) implements HealthAnswer {}

  /** The node's counters. */
  public record Health(boolean subscribed, long received, long acked, long delivered,
      Map<String, Long> rejected, int parked, long cacheHits, long cacheMisses) implements HealthAnswer {

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

  /**
   * What a node is started with, besides its settings.
   *
   * @param startHook runs as each actor starts (tests make a start fail with it)
   * @param onFatal told why, when an actor stopped and the node stops with it
   */
  public record Options(PrintStream out, Clock clock, Printer.Hook printHook, StartHook startHook,
      java.util.function.Consumer<String> onFatal) {

    /** Options without a start hook. */
    public Options(PrintStream out, Clock clock, Printer.Hook printHook) {
      this(out, clock, printHook, StartHook.none(), reason -> { });
    }

    /** The same options telling {@code fatal} why the node stopped. */
    public Options withOnFatal(java.util.function.Consumer<String> fatal) {
      return new Options(out, clock, printHook, startHook, fatal);
    }
  }

  /** Runs as an actor starts, with the actor's name; an exception is a failure of that start. */
  @FunctionalInterface
  public interface StartHook {
    /** Called in the actor's set-up, before it is built. */
    void starting(String actor) throws Exception;

    /** A hook that does nothing. */
    static StartHook none() {
      return actor -> { };
    }
  }

  private static final Duration STATS_TIMEOUT = Duration.ofSeconds(5);

  private final ActorRef<TlsaResolver.Command> resolver;
  private final ActorRef<Printer.Command> printer;
  private final ActorRef<ParkingLot.Command> parking;
  private final Options options;
  /** Why an actor that is resumed after failures could not start (it stopped instead). */
  private final java.util.Map<String, Throwable> startFailures = new java.util.concurrent.ConcurrentHashMap<>();
  private final ActorRef<MqttGateway.Command> gateway;
  private final ActorRef<IdentityKeeper.Command> keeper;
  /** The local API, or null when it is off. */
  private final ActorRef<ApiServer.Command> apiServer;
  /** The read side of parked messages (its own database connection), closed when the node stops. */
  private final ParkedMessages parkedMessages;
  /** Completed once this member is Up in the cluster (at once when the node runs alone). */
  private final CompletableFuture<Done> selfUp;
  private final NodeSettings settings;

  /**
   * The guardian of a node with {@code identity} (already loaded and checked), whose {@link IdentityKeeper}
   * publishes the keys in {@code keys} (which holds {@code identity} until then; cluster remoting's TLS
   * reads it too).
   */
  public static Behavior<Command> create(NodeSettings settings, DeviceIdentity identity, KeyRing keys,
      Options options) {
    return Behaviors.setup(context -> {
      Duration every = settings.healthInterval();
      if (!every.isZero()) {
        // Not Behaviors.withTimers: timer messages never reached this behavior as the system's guardian
        // (seen with Pekko 1.7.0), so the system scheduler sends the tick instead.
        ActorRef<Command> self = context.getSelf();
        context.getSystem().scheduler().scheduleAtFixedRate(every, every, () -> self.tell(new HealthTick()),
            context.getExecutionContext());
      }
      return new NodeGuardian(context, settings, identity, keys, options);
    });
  }

  /**
   * Starts the threads of the pool of dispatcher {@code path} (a {@code thread-pool-executor} of a
   * {@code fixed-pool-size}) now, not on demand. Such a pool starts a new thread for each task it is
   * given until it has all of them, even while others are idle: the first eight new senders after a
   * start each waited for a thread to start before their lookups were sent (0.2-0.3 ms of their first
   * message, measured with the bench's probes). Each no-op task here starts one.
   */
  static void startThreads(Executor pool, com.typesafe.config.Config config, String path) {
    String size = path + ".thread-pool-executor.fixed-pool-size";
    if (!config.hasPath(size) || !config.hasPath(path + ".executor")
        || !"thread-pool-executor".equals(config.getString(path + ".executor"))) {
      return; // another kind of pool (a user's choice): it starts its threads as it does
    }
    for (int i = 0; i < config.getInt(size); i++) {
      pool.execute(() -> { });
    }
  }

  /** The warm-up's bound in time: about 1,000 rounds on x86, fewer on a Pi, few under emulation. */
  private static final Duration WARM_UP_AT_MOST = Duration.ofSeconds(2);

  /**
   * In the background on the DNS pool: the node's own name looked up once and its answers validated
   * {@code danemsg.dns.warm-up-rounds} more times from memory ({@link DaneLookup#warmUp}; for at most
   * {@link #WARM_UP_AT_MOST}), so that a new sender's first lookup runs compiled code. Not through the
   * metrics' wrapper: these are not lookups of peers. A failure only means the code stays cold.
   */
  private static void warmUpLookups(DaneLookup lookup, Executor dns, NodeSettings settings) {
    int rounds = settings.dnsWarmUpRounds();
    if (rounds <= 0) {
      return;
    }
    org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(NodeGuardian.class);
    dns.execute(() -> {
      long start = System.nanoTime();
      try {
        int done = lookup.warmUp(settings.identityName(), rounds, WARM_UP_AT_MOST);
        log.debug("DNS lookup code warmed up: {} of {} rounds of the lookup of {} in {} ms", done, rounds,
            settings.identityName(), (System.nanoTime() - start) / 1_000_000);
      } catch (RuntimeException e) {
        log.debug("DNS lookup warm-up failed (lookups still work, only slower at first): {}", e.toString());
      }
    });
  }

  private NodeGuardian(ActorContext<Command> context, NodeSettings settings, DeviceIdentity identity,
      KeyRing keys, Options options) {
    super(context);
    this.options = options;
    this.settings = settings;
    DispatcherSelector files = DispatcherSelector.fromConfig("danemsg.file-dispatcher");
    Executor dns = context.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig("danemsg.dns-dispatcher"));
    Executor crypto = context.getSystem().dispatchers()
        .lookup(DispatcherSelector.fromConfig("danemsg.crypto-dispatcher"));

    // DNS trouble is outside our control: restart with backoff (the cache survives, it is not the
    // actor's state but the TlsaCache's).
    // With the local API on, DNS lookups are counted and timed for its /metrics.
    NodeMetrics metrics = settings.api().enabled() ? new NodeMetrics() : null;
    DaneLookup lookup = DaneLookup.create(settings.lookupSettings());
    TlsaCache cache = new TlsaCache(metrics == null ? lookup : metrics.measured(lookup), dns, settings.cacheSettings());
    startThreads(dns, context.getSystem().settings().config(), "danemsg.dns-dispatcher");
    warmUpLookups(lookup, dns, settings);
    resolver = context.spawn(Behaviors.supervise(started("tlsa-resolver", TlsaResolver.create(cache, settings.dns().negativeTtl())))
        .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.1)),
        "tlsa-resolver");

    // The identity was checked before start, and unreadable or half-written files later are values
    // the keeper handles itself. Anything else that fails here is a bug: resume, because a restart
    // would start again from the key loaded at start (stale after a rotation).
    keeper = context.spawn(Behaviors.supervise(startedOrStopped("identity-keeper", IdentityKeeper.create(
            settings.identityFiles(), identity, resolver,
            new IdentityKeeper.Settings(settings.publicationCheckInterval(), settings.identityFileCheckInterval()),
            keys)))
        .onFailure(SupervisorStrategy.resume()),
        "identity-keeper", files);

    Envelope envelope = new Envelope(settings.envelopeSettings().withClock(options.clock()));
    // A bad message is a value, never an exception; should one escape anyway, skip it and keep the keys.
    ActorRef<Decryptor.Command> decryptor = context.spawn(Behaviors.supervise(startedOrStopped("decryptor", Decryptor.create(envelope, crypto,
            keys)))
        .onFailure(SupervisorStrategy.resume()), "decryptor");

    // Verification is a pure function on the crypto executor; should a bug escape anyway, skip that request.
    ActorRef<Authenticator.Command> authenticator = context.spawn(Behaviors.supervise(
        startedOrStopped("authenticator", Authenticator.create(envelope, crypto))).onFailure(SupervisorStrategy.resume()),
        "authenticator");

    // Cluster mode: the membership log, the replay claims' buckets (sharded) and this member's side of them.
    // The broker connection waits until this member is Up, so that every message it takes can be claimed.
    ReplayClaims claims = null;
    CompletableFuture<Done> up = new CompletableFuture<>();
    if (settings.clustered()) {
      ClusterSettings cluster = settings.cluster();
      // It only logs and counts: a bug in it restarts it with a fresh subscription (which replays the state).
      context.spawn(Behaviors.supervise(ClusterMembership.create(membersUp -> {
            if (metrics != null) {
              metrics.clusterMembersUp(membersUp);
            }
          })).onFailure(SupervisorStrategy.restart()), "cluster-membership");
      // Distributed Data's replicator starts with its extension: on every member at once, not when the member
      // first hosts a bucket, or the other members' majority reads and writes would wait for it in vain.
      org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData.get(context.getSystem());
      ClusterSharding sharding = ClusterSharding.get(context.getSystem());
      // A majority read or write must give up before the claim's own timeout, so that its answer arrives.
      Duration consistency = cluster.claimTimeout().multipliedBy(3).dividedBy(5);
      // A bucket's state is in Distributed Data: on a failure, restart it (it reads its claims back).
      java.util.Set<String> seeds = cluster.seeds().stream().map(Object::toString)
          .collect(java.util.stream.Collectors.toSet());
      sharding.init(Entity.of(ClaimBucket.TYPE, entity -> Behaviors.supervise(
          ClaimBucket.create(entity.getEntityId(), ClaimBucket.Settings.of(consistency, cluster.claimMemory(), seeds)))
          .onFailure(SupervisorStrategy.restart())));
      claims = new ReplayClaims(new ReplayClaims.Settings(ReplayClaims.memberOf(settings.mqtt().clientId()),
          cluster.buckets(), cluster.claimTimeout(), settings.records().legacyReplayWindow(), options.clock()),
          bucket -> sharding.entityRefFor(ClaimBucket.TYPE, bucket),
          metrics == null ? (answer, nanos) -> { } : metrics::claimAnswered);
      // Up only (not WeaklyUp), and only once a majority of the seeds are members (min-nr-of-members,
      // ClusterSettings.seedMajority). Not Up within join-timeout: the node stops (JoinDeadline).
      org.apache.pekko.cluster.Cluster.get(Adapter.toClassic(context.getSystem()))
          .registerOnMemberUp(() -> up.complete(Done.getInstance()));
      ActorRef<Command> self = context.getSelf();
      context.getSystem().scheduler().scheduleOnce(cluster.joinTimeout(), () -> self.tell(new JoinDeadline()),
          context.getExecutionContext());
      // Claim buckets ask every member whether it delivered a message they no longer hold in memory. It
      // reads the database: a failure reopens it (restart).
      ReplayClaims granted = claims;
      context.spawn(Behaviors.supervise(SeenLookup.create(claims.member(), cluster.listen().toString(),
              settings.dataPath(), granted::pendingHere))
          .onFailure(SupervisorStrategy.restart()), "seen-lookup", files);
      context.getLog().info("cluster member {} of identity {}: shared subscription {}, replay claims in {}"
          + " buckets as member {}, held in memory {} after sending", cluster.listen(), settings.identityName(),
          ClusterSettings.shownAs(cluster.topicFilter(settings.identityName())), cluster.buckets(), claims.member(),
          cluster.claimMemory());
    }

    // Cluster mode: a committed record ends its claim's pending state (SeenLookup).
    ReplayClaims recording = claims;
    Printer.Hook printHook = claims == null ? options.printHook() : new Printer.Hook() {
      @Override
      public void beforePrint(org.danemsg.protocol.OpenedMessage message) throws Exception {
        options.printHook().beforePrint(message);
      }

      @Override
      public void recorded(org.danemsg.protocol.OpenedMessage message) {
        options.printHook().recorded(message);
        recording.recorded(message);
      }
    };
    // The printer owns the database connection: on failure, reopen it (restart) with backoff.
    printer = context.spawn(Behaviors.supervise(started("printer", Printer.create(new Printer.Settings(
            settings.dataPath(), settings.quarantinePayloadLimit(), settings.records(), options.out(),
            options.clock(), printHook))))
        .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(500), Duration.ofSeconds(30), 0.2)),
        "printer", files);

    selfUp = settings.clustered() ? up : CompletableFuture.completedFuture(Done.getInstance());
    try {
      parkedMessages = new ParkedMessages(settings.dataPath());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // Parked messages are rows of the database and their children hold the schedule: resume, so that a
    // bug in one message's handling forgets no sender.
    ParkedSenders parkedSenders = new ParkedSenders();
    parking = context.spawn(Behaviors.supervise(startedOrStopped("parking-lot", ParkingLot.create(
            new ParkingLot.Services(parkedMessages, decryptor, authenticator, printer, cache::lookup,
                (name, result) -> resolver.tell(new TlsaResolver.Report(name, result)), parkedSenders, claims),
            new ParkingLot.Settings(settings.parking(), options.clock()))))
        .onFailure(SupervisorStrategy.resume()), "parking-lot", files);

    OversizedPublishes oversized = new OversizedPublishes();
    InboundPipeline pipeline = new InboundPipeline(settings, envelope, keys, cache, crypto, resolver, printer,
        parking, parkedSenders, oversized, context.getSystem().scheduler(), claims);
    gateway = context.spawn(Behaviors.supervise(started("mqtt-gateway", MqttGateway.create(settings, pipeline, oversized,
            selfUp)))
        .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2)),
        "mqtt-gateway");

    // The local API serves programs on the device and is no part of the message path: a failure
    // restarts it with backoff (it binds again). A bind that fails at start stops the node in Node.start.
    apiServer = !settings.api().enabled() ? null : context.spawn(Behaviors.supervise(ApiServer.create(
            new ApiServer.Services(settings, cache, keys, crypto, context.getSelf(), metrics)))
        .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2)),
        "api-server");

    // An actor that stops (a failure while it starts, where its supervision resumes rather than
    // restarts) would leave a half-dead node: subscribed, acking nothing or printing nothing. Watch
    // them all: one stopping stops the node (onSignal below).
    for (ActorRef<?> child : java.util.List.of(resolver, keeper, decryptor, printer, authenticator, parking,
        gateway)) {
      context.watch(child);
    }
  }

  /**
   * For an actor whose supervision resumes it after a failure (its state is worth keeping): a failure
   * while it starts cannot be resumed (Pekko would stop it with "cannot use Same as initial behavior"
   * and lose the cause), so it is caught here, remembered and the actor stops; the node then stops
   * with the real cause ({@link #stopNode}).
   */
  private <T> Behavior<T> startedOrStopped(String name, Behavior<T> behavior) {
    return Behaviors.setup(context -> {
      try {
        options.startHook().starting(name);
        return Behavior.validateAsInitial(Behavior.start(behavior, context));
      } catch (Exception e) {
        startFailures.put(name, e);
        return Behaviors.stopped();
      }
    });
  }

  /**
   * For an actor whose supervision restarts it: {@code behavior}, with the start hook run first in its
   * set-up (a failure there is a start failure, restarted with backoff like any other).
   */
  private <T> Behavior<T> started(String name, Behavior<T> behavior) {
    return Behaviors.setup(context -> {
      options.startHook().starting(name);
      return behavior;
    });
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(HealthTick.class, tick -> gather(null))
        .onMessage(JoinDeadline.class, deadline -> onJoinDeadline())
        .onMessage(GetHealth.class, get -> gather(get.replyTo()))
        .onMessage(HealthGathered.class, this::onHealthGathered)
        .onMessage(GetIdentityStatus.class, get -> {
          keeper.tell(new IdentityKeeper.GetStatus(get.replyTo()));
          return this;
        })
        .onMessage(GetApiBinding.class, get -> {
          if (apiServer == null) {
            get.replyTo().tell(new ApiServer.NotBound("the API is off (API_LISTEN=off)"));
          } else {
            apiServer.tell(new ApiServer.GetBinding(get.replyTo()));
          }
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
        .onSignal(ChildFailed.class, failed -> stopNode(failed.getRef().path().name(), failed.getCause()))
        .onSignal(Terminated.class, stopped -> stopNode(stopped.getRef().path().name(),
            startFailures.get(stopped.getRef().path().name())))
        .onSignal(PostStop.class, stop -> {
          parkedMessages.close(); // the children, the parking lot among them, stopped first
          return this;
        })
        .build();
  }

  private Behavior<Command> gather(ActorRef<HealthAnswer> replyTo) {
    ActorRef<HealthAnswer> to = replyTo != null ? replyTo
        : getContext().messageAdapter(HealthAnswer.class, HealthGathered::new);
    getContext().spawnAnonymous(HealthQuery.create(
        new HealthQuery.Targets(printer, parking, resolver, gateway), STATS_TIMEOUT, to));
    return this;
  }

  /**
   * One of the node's actors stopped: a failure while it started that its supervision does not
   * restart (see each spawn). The node stops with one clear line; {@code Main} exits with status 1 so
   * that systemd or the container runtime starts it again.
   */
  private Behavior<Command> stopNode(String actor, Throwable cause) {
    if (!actorNames.contains(actor)) {
      return this; // a health query child
    }
    String reason = "the " + actor + " actor stopped" + (cause == null ? "" : " after a failure: "
        + org.danemsg.protocol.SafeText.detail(RootCause.describe(cause)));
    getContext().getLog().error("{}; the node stops (exit status 1) so that its service manager starts it again",
        reason);
    options.onFatal().accept(reason);
    return Behaviors.stopped();
  }

  /**
   * Cluster mode: this member is not Up after {@code join-timeout}. It has taken no messages (it connects
   * to the broker only once Up); it may be cut off from the others (a partition), or they are not running.
   * It stops with exit status 1, so that its service manager starts it again and it tries the seeds again:
   * it must not wait as a cluster of its own, nor be Up alone.
   */
  private Behavior<Command> onJoinDeadline() {
    if (selfUp.isDone()) {
      return this;
    }
    ClusterSettings cluster = settings.cluster();
    org.apache.pekko.cluster.Member self = org.apache.pekko.cluster.Cluster.get(
        Adapter.toClassic(getContext().getSystem())).selfMember();
    String reason = "this cluster member was not Up within " + cluster.joinTimeout().toSeconds()
        + " s (danemsg.cluster.join-timeout; status " + self.status() + "): it waited for " + cluster.seedMajority()
        + " of the " + cluster.seeds().size() + " seeds " + cluster.seeds() + " to be members of its cluster"
        + " (CLUSTER_SEEDS; a seed cut off from the others, or the others not running), and took no messages;"
        + " its service manager should start it again, to try the seeds again";
    getContext().getLog().error("{}; the node stops (exit status 1)", reason);
    options.onFatal().accept(reason);
    return Behaviors.stopped();
  }

  private static final java.util.Set<String> actorNames = java.util.Set.of("tlsa-resolver", "identity-keeper",
      "decryptor", "printer", "authenticator", "parking-lot", "mqtt-gateway");

  private Behavior<Command> onHealthGathered(HealthGathered gathered) {
    if (gathered.answer() instanceof Health health) {
      getContext().getLog().info(health.line());
    } else if (gathered.answer() instanceof HealthUnknown unknown) {
      getContext().getLog().warn("health: {} did not answer within {} s", String.join(", ", unknown.silent()),
          STATS_TIMEOUT.toSeconds());
    }
    return this;
  }
}
