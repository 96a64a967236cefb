package org.danemsg.node;

import com.typesafe.config.Config;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.BootstrapSetup;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.setup.ActorSystemSetup;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.danemsg.client.BrokerTls;
import org.danemsg.client.SettingsException;
import org.danemsg.node.api.ApiServer;
import org.danemsg.node.api.ApiToken;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.IdentityException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running node: one actor system with the {@link NodeGuardian} and its actors. {@link #start} checks
 * the settings, the identity and the data folder first, so that each of them stops the node at once
 * with one clear line ({@link SettingsException}) instead of an actor failing later.
 */
public final class Node implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Node.class);

  private final ActorSystem<NodeGuardian.Command> system;
  private final NodeSettings settings;
  private final java.util.concurrent.atomic.AtomicReference<String> fatal;
  private volatile boolean stopping;

  private Node(ActorSystem<NodeGuardian.Command> system, NodeSettings settings,
      java.util.concurrent.atomic.AtomicReference<String> fatal) {
    this.system = system;
    this.settings = settings;
    this.fatal = fatal;
  }

  /** Starts a node configured by {@code config} (its {@code danemsg} section), printing to stdout. */
  public static Node start(Config config) {
    return start(config, new NodeGuardian.Options(System.out, Clock.systemUTC(), Printer.Hook.none()));
  }

  /**
   * Starts a node.
   *
   * @throws SettingsException when a setting, the identity files or the data folder are unusable
   */
  public static Node start(Config config, NodeGuardian.Options options) {
    NodeSettings configured = NodeSettings.from(config);
    DeviceIdentity identity;
    try {
      identity = configured.identityFiles().load();
    } catch (IdentityException e) {
      throw new SettingsException("identity " + configured.identityName() + " in " + configured.cryptoPath()
          + " (CRYPTO_PATH): " + e.getMessage().replaceAll("\\s*\\R\\s*", " "));
    }
    try {
      Files.createDirectories(configured.dataPath());
      if (!Files.isWritable(configured.dataPath())) {
        throw new IOException("not writable");
      }
      if (OwnerOnly.narrowFolder(configured.dataPath())) {
        LOG.info("data folder {} made readable by this user only (0700): it holds received messages",
            configured.dataPath());
      }
    } catch (IOException e) {
      throw new SettingsException("setting danemsg.data-path (DATA_PATH) " + configured.dataPath()
          + " cannot be used: " + e.getMessage());
    }
    NodeSettings settings = configured.withMqttClientId(
        MqttClientId.resolve(configured.mqtt().clientId(), configured.dataPath()));
    if (settings.clustered() && settings.cluster().shareGroup().isEmpty()) {
      settings = settings.withCluster(settings.cluster().withShareGroup(ClusterSettings.derivedShareGroup(identity)));
    }
    BrokerTls.socketFactory(settings.mqtt()); // a bad CA file is a start-up error
    if (settings.api().enabled()) {
      try {
        ApiToken.loadOrCreate(settings.dataPath()); // made here, so that a bad one stops the node at once
      } catch (IOException | RuntimeException e) {
        throw new SettingsException("the API's token file " + settings.dataPath().resolve(ApiToken.FILE)
            + " cannot be used: " + e.getMessage());
      }
    }
    CryptoSelfTest.run(new org.danemsg.protocol.Envelope(settings.envelopeSettings()), identity);
    // Opened once here (and the files of an older node imported) so that a platform without SQLite's
    // native library, or a database of a newer node, stops the node with one line.
    Path database = settings.dataPath().resolve(MessageStore.FILE);
    try (MessageStore store = MessageStore.open(settings.dataPath(), settings.records(),
        settings.quarantinePayloadLimit(), options.clock())) {
      // ready for the Printer
    } catch (IOException e) {
      throw new SettingsException("the node's database " + database + " cannot be used: " + e.getMessage()
          + (e.getMessage().contains("native") ? nativeLibraryHint() : ""));
    } catch (LinkageError e) {
      throw new SettingsException("the node's database " + database + " cannot be opened: " + e.getMessage()
          + nativeLibraryHint());
    }
    LOG.info("starting node {} ({}), broker {}, DNS {} with {}, data in {}", identity.name(),
        org.danemsg.protocol.KeyType.describe(identity.publicKey()), settings.mqtt().uri(),
        settings.dns().server(), settings.dns().dnssecOff() ? "NO DNSSEC validation"
            : "DNSSEC validation against " + settings.dns().trustAnchors().source(), settings.dataPath());
    if (settings.dns().dnssecOff()) {
      LOG.warn("DNSSEC validation is OFF (DNSSEC_OFF): senders are NOT authenticated, anyone on the DNS path"
          + " can impersonate them; every message is labelled so. Use this only in a lab.");
    }
    java.util.concurrent.atomic.AtomicReference<String> fatal = new java.util.concurrent.atomic.AtomicReference<>();
    java.util.function.Consumer<String> told = options.onFatal();
    NodeGuardian.Options watched = options.withOnFatal(reason -> {
      fatal.compareAndSet(null, reason);
      told.accept(reason);
    });
    ActorSystem<NodeGuardian.Command> system;
    Config pekko = NodePekkoConfig.over(config, NodePekkoConfig.NODE);
    // The keys the node decrypts with, kept up to date by the IdentityKeeper; in cluster mode also the
    // keys cluster remoting's TLS presents and trusts, from its first connection (a rollover's too).
    KeyRing keys = new KeyRing(IdentityKeeper.atStart(settings.identityFiles(), identity));
    if (settings.clustered()) {
      ClusterSettings cluster = settings.cluster();
      IdentityPinnedTls tls;
      try {
        tls = new IdentityPinnedTls(keys);
      } catch (IllegalStateException e) {
        throw new SettingsException("identity " + identity.name() + " in " + settings.cryptoPath()
            + " (CRYPTO_PATH) cannot secure cluster remoting: " + e.getMessage());
      }
      LOG.info("cluster mode: member at {} (Artery over mutual TLS 1.3, pinned to {}'s keys), seeds {}, split"
          + " brain resolver keep-majority", cluster.listen(), identity.name(), cluster.seeds());
      try {
        // The TLS provider goes to Pekko as an object (a setup Artery takes before its configured class):
        // no key material in configuration, nothing shared between actor systems.
        system = ActorSystem.create(NodeGuardian.create(settings, identity, keys, watched),
            ClusterSettings.SYSTEM_NAME, ActorSystemSetup.create(BootstrapSetup.create(
                cluster.pekkoConfig().withFallback(NodePekkoConfig.over(pekko, NodePekkoConfig.CLUSTER))),
                tls.setup()));
      } catch (RuntimeException e) {
        String detail = org.danemsg.protocol.SafeText.detail(RootCause.describe(e));
        if (isBindFailure(e)) {
          throw new SettingsException("setting danemsg.cluster.listen (CLUSTER_LISTEN) " + cluster.listen()
              + ": cannot listen there: " + detail + " (another member on this host? give each its own port)");
        }
        throw new SettingsException("cluster mode cannot start (CLUSTER_LISTEN " + cluster.listen() + ", CLUSTER_SEEDS "
            + cluster.seeds() + "): " + detail + " (a pekko.* setting in --config or a system property?)");
      }
    } else {
      system = ActorSystem.create(NodeGuardian.create(settings, identity, keys, watched),
          ClusterSettings.SYSTEM_NAME, pekko);
    }
    Duration drain = settings.drainTimeout();
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "drain-mqtt", () ->
        AskPattern.<NodeGuardian.Command, Done>ask(system, NodeGuardian.Drain::new, drain, system.scheduler())
            .exceptionally(e -> {
              LOG.warn("in-flight messages did not finish within {} s; they will be redelivered",
                  drain.toSeconds());
              return Done.getInstance();
            }));
    Node node = new Node(system, settings, fatal);
    if (settings.api().enabled()) {
      ApiServer.BindingState bound = node.apiBinding();
      if (bound instanceof ApiServer.NotBound not) {
        node.stop();
        throw new SettingsException("setting danemsg.api.listen (API_LISTEN) " + settings.api().listen()
            + ": cannot listen there: " + not.reason() + " (another node on this host? give each its own"
            + " API_LISTEN, or off)");
      }
    }
    return node;
  }

  /** Whether remoting could not bind its port (Artery wraps the JDK's BindException in its own). */
  private static boolean isBindFailure(Throwable e) {
    for (Throwable t = e; t != null && t != t.getCause(); t = t.getCause()) {
      if (t instanceof java.net.BindException || String.valueOf(t.getMessage()).contains("Failed to bind")) {
        return true;
      }
    }
    return false;
  }

  /** Where the local API listens, or why it does not (waits for its bind, at most 30 s). */
  public ApiServer.BindingState apiBinding() {
    try {
      return AskPattern.<NodeGuardian.Command, ApiServer.BindingState>ask(system, NodeGuardian.GetApiBinding::new,
          Duration.ofSeconds(30), system.scheduler()).toCompletableFuture().get();
    } catch (Exception e) {
      return new ApiServer.NotBound("no answer from the API server: " + e);
    }
  }

  /**
   * Why the node stopped by itself (an actor that stopped, a failure of its root actor, a member downed
   * by the cluster), or null while it runs and after {@link #stop}/{@link #crash}.
   */
  public String failure() {
    if (fatal.get() != null) {
      return fatal.get();
    }
    if (stopping) {
      return null;
    }
    java.util.Optional<CoordinatedShutdown.Reason> reason = CoordinatedShutdown.get(system).getShutdownReason();
    if (reason.isPresent() && reason.get() == CoordinatedShutdown.clusterDowningReason()) {
      return "this member was downed by the cluster (split brain resolver, keep-majority: it was cut off from the"
          + " majority, or the others could not reach it); start it again to rejoin";
    }
    if (reason.isPresent() && reason.get() == CoordinatedShutdown.incompatibleConfigurationDetectedReason()) {
      return "the cluster refused this member: a setting that must be the same on every member differs (such as"
          + " danemsg.cluster.buckets; the running members log it: 'Found incompatible settings')";
    }
    if (reason.isPresent() || system.getWhenTerminated().toCompletableFuture().isDone()) {
      return "the node's actor system ended by itself (see the error logged before)";
    }
    return null;
  }

  private static String nativeLibraryHint() {
    return " (os.arch " + System.getProperty("os.arch") + "; where `uname -m` cannot run, give the JVM"
        + " -Dorg.sqlite.osinfo.architecture=armv7 or aarch64)";
  }

  /** The node's actor system (tests reach into it). */
  ActorSystem<NodeGuardian.Command> actorSystem() {
    return system;
  }

  /** The settings the node runs with. */
  public NodeSettings settings() {
    return settings;
  }

  /** The counters of all actors. */
  public CompletableFuture<NodeGuardian.Health> health() {
    return AskPattern.<NodeGuardian.Command, NodeGuardian.HealthAnswer>ask(system, NodeGuardian.GetHealth::new,
        Duration.ofSeconds(10), system.scheduler()).toCompletableFuture().thenApply(answer -> {
          if (answer instanceof NodeGuardian.Health health) {
            return health;
          }
          throw new IllegalStateException("health unknown: " + String.join(", ",
              ((NodeGuardian.HealthUnknown) answer).silent()) + " did not answer");
        });
  }

  /** Whether DNS publishes this node's current key, as last checked. */
  public CompletableFuture<IdentityKeeper.Status> identityStatus() {
    return AskPattern.<NodeGuardian.Command, IdentityKeeper.Status>ask(system, NodeGuardian.GetIdentityStatus::new,
        Duration.ofSeconds(10), system.scheduler()).toCompletableFuture();
  }

  /**
   * Drains in-flight messages and stops (what SIGTERM does); waits for the actor system to end. A cluster
   * member drains, leaves the cluster and waits for its exit first; then it waits for its actor system
   * at most as long as the phase {@code actor-system-terminate} allows ({@code cluster.conf}): see
   * {@link #finishShutdown}.
   */
  public void stop() {
    stopping = true;
    if (system.getWhenTerminated().toCompletableFuture().isDone()) {
      return; // stopped by itself already (failure() says why)
    }
    CompletableFuture<Done> shutdown = CoordinatedShutdown.get(system).runAll(CoordinatedShutdown.jvmExitReason())
        .toCompletableFuture();
    finishShutdown(shutdown);
  }

  /**
   * Waits until the node has stopped by itself (its actor system ended; or a cluster member's coordinated
   * shutdown ran all its phases, e.g. after it was downed, see {@link #finishShutdown}); {@link #failure}
   * then says why. Returns at once when it has stopped already. Not for a stop by {@link #stop}: the
   * caller of that one waits.
   */
  public void awaitStopped() {
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    while (!awaitTermination(Duration.ofSeconds(1))) {
      if (!stopping && shutdown.getShutdownReason().isPresent()) { // run() gives the running one's future
        finishShutdown(shutdown.run(shutdown.getShutdownReason().get(), java.util.Optional.empty())
            .toCompletableFuture());
        return;
      }
    }
  }

  /**
   * Waits for a coordinated shutdown that is running: its phases (the drain, a member's leave and exit)
   * and then the actor system's end. A node alone waits up to 30 s for the latter. A cluster member does
   * not: with Artery over TLS, Pekko 1.7.0 sometimes never completes one step of its remoting's shutdown
   * (apache/pekko#3317), so the actor system never ends and the member would exit 40 s late or be killed
   * by its service manager (which gives it 20 s). By the time the last phase, {@code actor-system-terminate},
   * has begun, the member has drained (everything it printed is acked), left the cluster and its own
   * actors have stopped; that phase is bounded in {@code cluster.conf}, and then the member exits without
   * waiting for its remoting, with one WARN line.
   */
  private void finishShutdown(CompletableFuture<Done> shutdown) {
    try {
      shutdown.get(settings.drainTimeout().toSeconds() + 30, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("shutdown did not complete cleanly: {}", e.toString());
    }
    if (!settings.clustered()) {
      awaitTermination(Duration.ofSeconds(30));
      return;
    }
    if (!awaitTermination(Duration.ofSeconds(1))) {
      org.apache.pekko.cluster.Member self = org.apache.pekko.cluster.Cluster.get(Adapter.toClassic(system))
          .selfMember();
      LOG.warn("cluster member {} has run its shutdown (drain, leave; status {}), but its actor system did not end"
          + " within {} s (phase actor-system-terminate: Pekko 1.7.0's remoting over TLS sometimes never finishes its"
          + " shutdown, apache/pekko#3317); exiting without waiting for it", self.address(), self.status(),
          CoordinatedShutdown.get(system).timeout(CoordinatedShutdown.PhaseActorSystemTerminate()).toSeconds() + 1);
    }
  }

  /** Stops the pipeline without acking or draining anything, then the actor system (a crash, for tests). */
  public void crash() {
    stopping = true;
    system.tell(new NodeGuardian.Abort());
    system.terminate();
  }

  /** Waits until the actor system has ended; false on timeout. */
  public boolean awaitTermination(Duration timeout) {
    try {
      system.getWhenTerminated().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  @Override
  public void close() {
    stop();
  }

  /** Options for a node printing to {@code out}. */
  public static NodeGuardian.Options options(PrintStream out) {
    return new NodeGuardian.Options(out, Clock.systemUTC(), Printer.Hook.none());
  }
}
