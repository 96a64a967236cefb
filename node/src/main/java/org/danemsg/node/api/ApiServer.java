package org.danemsg.node.api;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.ServerBuilder;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.danemsg.node.KeyRing;
import org.danemsg.node.NodeGuardian;
import org.danemsg.node.NodeSettings;
import org.danemsg.node.Printer;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.SafeText;
import org.danemsg.protocol.dns.TlsaCache;

/**
 * The node's local API ({@link ApiRoutes}): binds the HTTP server where {@code API_LISTEN} says and
 * owns the binding, the {@link InboxReader} child, the shared {@link MessagePublisher} and the
 * {@link InboxSignal} that wakes long polls and event streams. It learns of new messages from the
 * Printer's {@link Printer.InboxAdvanced} on the event stream (published after each commit that
 * delivered messages) and besides ticks the signal every few seconds.
 *
 * <p>{@link GetBinding} answers once the bind has succeeded or failed: {@code Node.start} asks it, so
 * that a port in use stops the node at start with one line. The server is unbound when the actor
 * stops or restarts (its supervision, at the spawn in {@link NodeGuardian}, restarts it with backoff;
 * nothing of the message path depends on it).
 */
public final class ApiServer extends AbstractBehavior<ApiServer.Command> {

  /** What the server does. */
  public sealed interface Command {}

  /** Reply once the server listens (or could not). */
  public record GetBinding(ActorRef<BindingState> replyTo) implements Command {}

  /** Where the server listens, or why it does not. */
  public sealed interface BindingState {}

  /** Listening on {@code address}. */
  public record Bound(InetSocketAddress address) implements BindingState {}

  /** Not listening, and why (one line). */
  public record NotBound(String reason) implements BindingState {}

  private record BindDone(ServerBinding binding, Throwable failure) implements Command {}

  private record InboxAdvanced() implements Command {}

  private record Tick() implements Command {}

  /** What the API works with, from the node. */
  public record Services(NodeSettings settings, TlsaCache cache, KeyRing keys, Executor crypto,
      ActorRef<NodeGuardian.Command> guardian, NodeMetrics metrics) {}

  /** How often waiting readers wake and read again without a notice (a missed one costs at most this). */
  private static final Duration TICK = Duration.ofSeconds(5);
  /** Connections at once (programs on the device; each event stream and long poll holds one). */
  private static final int MAX_CONNECTIONS = 256;
  /** How long open requests (long polls, event streams) get to finish when the server stops. */
  private static final Duration UNBIND_DEADLINE = Duration.ofSeconds(2);

  private final InboxSignal signal = new InboxSignal();
  private final MessagePublisher publisher;
  private final List<ActorRef<BindingState>> waiting = new ArrayList<>();
  private final String scheme;
  private BindingState state;
  private ServerBinding binding;

  /** A server for {@code services.settings().api()}, which must be enabled. */
  public static Behavior<Command> create(Services services) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> new ApiServer(context, timers, services)));
  }

  private ApiServer(ActorContext<Command> context, TimerScheduler<Command> timers, Services services)
      throws IOException {
    super(context);
    NodeSettings settings = services.settings();
    ApiSettings api = settings.api();
    ApiToken token = ApiToken.loadOrCreate(settings.dataPath());
    this.scheme = api.tls() != null ? "https" : "http";
    // Reads block on SQLite: the API's own dispatcher. A failure reopens the connection (restart).
    ActorRef<InboxReader.Command> inbox = context.spawn(Behaviors.supervise(InboxReader.create(settings.dataPath()))
        .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2)),
        "inbox-reader", DispatcherSelector.fromConfig("danemsg.api.dispatcher"));
    BrokerLink link = new BrokerLink(settings.mqtt(), api, services.metrics()::apiBrokerConnected);
    publisher = new MessagePublisher(context.getSystem(), api, services.cache(), services.keys(),
        new Envelope(settings.envelopeSettings()), services.crypto(), settings.dns().dnssecOff(), link,
        services.metrics());
    ApiRoutes routes = new ApiRoutes(new ApiRoutes.Services(context.getSystem(), token, services.guardian(), inbox,
        signal, publisher, services.metrics(), api, settings.maxMessageSize(), settings.legacyPeers()));

    context.getSystem().eventStream().tell(new EventStream.Subscribe<>(Printer.InboxAdvanced.class,
        context.messageAdapter(Printer.InboxAdvanced.class, advanced -> new InboxAdvanced())));
    timers.startTimerWithFixedDelay(new Tick(), TICK);

    // In code, not in reference.conf: node.jar concatenates the modules' reference.conf files, and
    // pekko-http's, which comes later, would win. A long poll waits up to max-wait before it answers.
    ServerSettings serverSettings = ServerSettings.create(Adapter.toClassic(context.getSystem()));
    Duration requestTimeout = api.maxWait().plusSeconds(30);
    serverSettings = serverSettings
        .withTimeouts(serverSettings.getTimeouts().withRequestTimeout(finite(requestTimeout))
            .withIdleTimeout(finite(requestTimeout.plusSeconds(30))))
        .withMaxConnections(MAX_CONNECTIONS)
        .withServerHeader(Optional.empty());
    ServerBuilder server = Http.get(context.getSystem()).newServerAt(api.listen().host(), api.listen().port())
        .withSettings(serverSettings);
    if (api.tls() != null) {
      server = server.enableHttps(ConnectionContext.httpsServer(sslContext(api.tls())));
    } else if (!api.listen().loopback()) {
      context.getLog().warn("API on {} WITHOUT TLS (API_ALLOW_REMOTE=true, no API_TLS_KEY_STORE): the token and"
          + " every message cross the network in clear text; anyone on the path can read them and send as this"
          + " device. Set API_TLS_KEY_STORE, or listen on 127.0.0.1.", api.listen());
    }
    context.pipeToSelf(server.bind(routes.route()), BindDone::new);
  }

  private static scala.concurrent.duration.FiniteDuration finite(Duration duration) {
    return scala.concurrent.duration.Duration.create(duration.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static SSLContext sslContext(ApiSettings.Tls tls) throws IOException {
    try (InputStream in = Files.newInputStream(tls.keyStore())) {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(in, tls.password().toCharArray());
      KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(store, tls.password().toCharArray());
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys.getKeyManagers(), null, null);
      return context;
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("API_TLS_KEY_STORE " + tls.keyStore() + " is not a usable PKCS#12 key store: "
          + e.getMessage(), e);
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(BindDone.class, this::onBindDone)
        .onMessage(GetBinding.class, get -> {
          if (state == null) {
            waiting.add(get.replyTo());
          } else {
            get.replyTo().tell(state);
          }
          return this;
        })
        .onMessage(InboxAdvanced.class, advanced -> {
          signal.advanced();
          return this;
        })
        .onMessage(Tick.class, tick -> {
          signal.advanced();
          return this;
        })
        .onSignal(PreRestart.class, restart -> stop())
        .onSignal(PostStop.class, stop -> stop())
        .build();
  }

  private Behavior<Command> onBindDone(BindDone done) {
    if (done.failure() == null) {
      binding = done.binding();
      state = new Bound(binding.localAddress());
      getContext().getLog().info("API listening on {}://{}:{} (bearer token in DATA_PATH/{})", scheme,
          binding.localAddress().getHostString(), binding.localAddress().getPort(), ApiToken.FILE);
    } else {
      Throwable cause = done.failure().getCause() != null ? done.failure().getCause() : done.failure();
      state = new NotBound(SafeText.detail(cause.getMessage() == null ? cause.getClass().getSimpleName()
          : cause.getMessage()));
      getContext().getLog().error("API: cannot listen: {}", ((NotBound) state).reason());
    }
    waiting.forEach(replyTo -> replyTo.tell(state));
    waiting.clear();
    return this;
  }

  private Behavior<Command> stop() {
    if (binding != null) {
      binding.terminate(UNBIND_DEADLINE);
      binding = null;
    }
    publisher.close();
    return this;
  }
}
