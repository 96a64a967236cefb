package org.danemsg.node;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocketFactory;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.event.Logging;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.connectors.mqtt.MqttConnectionSettings;
import org.apache.pekko.stream.connectors.mqtt.MqttQoS;
import org.apache.pekko.stream.connectors.mqtt.MqttSubscriptions;
import org.apache.pekko.stream.connectors.mqtt.javadsl.MqttMessageWithAck;
import org.apache.pekko.stream.connectors.mqtt.javadsl.MqttSource;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.RestartSource;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.danemsg.client.BrokerTls;
import org.danemsg.client.ClientSettings;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.Rejection;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the broker connection and runs the pipeline:
 * <pre>
 * MqttSource.atLeastOnce (QoS 1, persistent session, manual acks)
 *   → size check → Decryptor → Authenticator → Printer (print or quarantine) → ack
 * </pre>
 * as a Pekko stream: every stage is a {@code mapAsync} with bounded parallelism, so buffers are bounded
 * and a slow stage back-pressures the MQTT client (which stops reading from the broker). The stages
 * keep order, so acks go out in the order messages arrived, as MQTT 3.1.1 asks. A message is acked
 * only after the Printer wrote it out (or quarantined it, or the Authenticator parked it on disk): if
 * the node dies before, the broker delivers it again.
 *
 * <p>The whole pipeline is wrapped in {@code RestartSource.onFailuresWithBackoff}: a lost connection
 * (or a failed write) fails it, and it is started again with backoff, which reconnects with the same
 * client id and subscribes again; the broker then redelivers whatever was not acked, and the replay
 * cache keeps anything already printed from printing twice. {@link Drain} stops taking messages,
 * lets those in flight finish and be acked, then completes.
 */
public final class MqttGateway extends AbstractBehavior<MqttGateway.Command> {

  /** What the gateway does. */
  public sealed interface Command {}

  /** Stop taking messages, finish those in flight; the reply comes when the pipeline has stopped. */
  public record Drain(ActorRef<Done> replyTo) implements Command {}

  /** Stop the pipeline at once, acking nothing more (tests simulate a crash with it). */
  public record Abort() implements Command {}

  /** Reply with the connection state and counters. */
  public record GetStats(ActorRef<Stats> replyTo) implements Command {}

  /** Connection state and counters. */
  public record Stats(boolean subscribed, long received, long acked) {}

  private record Started(UniqueKillSwitch killSwitch) implements Command {}

  private record Subscribed() implements Command {}

  private record ConnectionEnded(Throwable cause) implements Command {}

  private record Received() implements Command {}

  private record Acked() implements Command {}

  private record PipelineEnded(Throwable cause) implements Command {}

  /** One message on its way through the pipeline. */
  private record InFlight(MqttMessageWithAck mqtt, byte[] payload, Object step) {
    InFlight next(Object nextStep) {
      return new InFlight(mqtt, payload, nextStep);
    }
  }

  /** Thrown into the stream when a message cannot be handled now: the pipeline restarts, no ack. */
  private static final class NotHandled extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NotHandled(String message) {
      super(message, null, false, false);
    }
  }

  private static final Logger LOG = LoggerFactory.getLogger(MqttGateway.class);

  private final NodeSettings settings;
  private final UniqueKillSwitch outer;
  private UniqueKillSwitch current;
  private boolean subscribed;
  private boolean draining;
  private long received;
  private long acked;
  private ActorRef<Done> drainReply;
  private boolean ended;

  /** A gateway for {@code settings} feeding the three actors. */
  public static Behavior<Command> create(NodeSettings settings, ActorRef<Decryptor.Command> decryptor,
      ActorRef<Authenticator.Command> authenticator, ActorRef<Printer.Command> printer) {
    return Behaviors.setup(context -> new MqttGateway(context, settings, decryptor, authenticator, printer));
  }

  private MqttGateway(ActorContext<Command> context, NodeSettings settings,
      ActorRef<Decryptor.Command> decryptor, ActorRef<Authenticator.Command> authenticator,
      ActorRef<Printer.Command> printer) {
    super(context);
    this.settings = settings;
    ActorRef<Command> self = context.getSelf();
    Scheduler scheduler = context.getSystem().scheduler();
    ClientSettings.Mqtt mqtt = settings.mqtt();
    if (mqtt.clientId().isEmpty()) {
      throw new IllegalStateException("no MQTT client id: Node.start resolves it (MqttClientId) first");
    }
    MqttConnectionSettings connection = MqttConnectionSettings
        .create(mqtt.uri(), mqtt.clientId(), new MemoryPersistence())
        .withCleanSession(false)
        .withAutomaticReconnect(false) // the stream restarts instead, and subscribes again
        .withMaxInFlight(1000)
        .withMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1)
        .withKeepAliveInterval(mqtt.keepAlive())
        .withConnectionTimeout(mqtt.connectTimeout());
    if (!mqtt.username().isEmpty()) {
      connection = connection.withAuth(mqtt.username(), mqtt.password());
    }
    // Everything Paho reads passes the size guard first: it never allocates an oversized PUBLISH.
    OversizedPublishes oversized = new OversizedPublishes();
    SSLSocketFactory tls = BrokerTls.socketFactory(mqtt);
    if (tls != null) {
      connection = connection.withSocketFactory(
          GuardedSocketFactory.tls(tls, settings.maxMessageSize(), oversized));
    } else {
      connection = GuardedSocketFactory.install(connection,
          GuardedSocketFactory.plain(settings.maxMessageSize(), oversized));
    }
    MqttSubscriptions subscription =
        MqttSubscriptions.create(settings.identityName().toString(), MqttQoS.atLeastOnce());
    Pipeline pipeline = new Pipeline(settings, decryptor, authenticator, printer, scheduler, self, oversized);
    MqttConnectionSettings finalConnection = connection;
    RestartSettings restart = RestartSettings
        .create(mqtt.reconnectMinBackoff(), mqtt.reconnectMaxBackoff(), 0.2)
        .withLogSettings(RestartSettings.createLogSettings(Logging.DebugLevel()));
    Source<Done, NotUsed> restarting = RestartSource.onFailuresWithBackoff(restart, () ->
        pipeline.run(MqttSource.atLeastOnce(finalConnection, subscription, mqtt.bufferSize())));
    Pair<UniqueKillSwitch, CompletionStage<Done>> materialized = restarting
        .viaMat(KillSwitches.single(), Keep.right())
        .toMat(Sink.ignore(), Keep.both())
        .run(context.getSystem());
    this.outer = materialized.first();
    context.pipeToSelf(materialized.second(), (done, error) -> new PipelineEnded(error));
    context.getLog().info("connecting to {} as client id {} (persistent session), topic {}", mqtt.uri(),
        mqtt.clientId(), settings.identityName());
  }

  /** The stream stages; they run on stream threads and touch no actor state, only refs. */
  private record Pipeline(NodeSettings settings, ActorRef<Decryptor.Command> decryptor,
      ActorRef<Authenticator.Command> authenticator, ActorRef<Printer.Command> printer, Scheduler scheduler,
      ActorRef<Command> gateway, OversizedPublishes oversized) {

    private static final Duration ASK = Duration.ofSeconds(30);

    /**
     * Runs the pipeline's small continuations (wrapping a reply, counting an ack) on the thread that
     * completed the future. The futures of {@code AskPattern} and {@code ack()} are Scala futures
     * converted to {@code CompletableFuture}, and that conversion turns even {@code thenApply} into
     * {@code thenApplyAsync} on the common pool, which on a machine with fewer than three cores is no
     * pool at all but a new thread per task: several threads were started per message, and on 2 cores
     * that cost more CPU than the cryptography. An explicit executor avoids both.
     */
    private static final java.util.concurrent.Executor SAME_THREAD = Runnable::run;

    Source<Done, ?> run(Source<MqttMessageWithAck, CompletionStage<Done>> mqtt) {
      int parallelism = settings.parallelism();
      Duration authenticateTimeout = settings.parking().giveUpAfter().plus(settings.parking().maxBackoff())
          .plus(settings.dns().timeout()).plusMinutes(1);
      return mqtt
          .mapMaterializedValue(subscribed -> {
            subscribed.whenComplete((done, error) -> {
              if (error == null) {
                gateway.tell(new Subscribed());
              }
            });
            return NotUsed.getInstance();
          })
          .watchTermination((notUsed, ended) -> {
            ended.whenComplete((done, error) -> gateway.tell(new ConnectionEnded(error)));
            return notUsed;
          })
          .viaMat(KillSwitches.single(), Keep.right())
          .mapMaterializedValue(killSwitch -> {
            gateway.tell(new Started(killSwitch));
            return killSwitch;
          })
          .map(m -> {
            gateway.tell(new Received());
            return new InFlight(m, m.message().payload().toArray(), null);
          })
          .mapAsync(parallelism * 2, this::decrypt)
          .mapAsync(parallelism * 16, m -> authenticate(m, authenticateTimeout))
          .mapAsync(parallelism * 2, this::settle)
          .mapAsync(parallelism * 2, this::ack);
    }

    CompletionStage<InFlight> decrypt(InFlight m) {
      java.util.OptionalLong discarded = oversized.claim(m.payload());
      if (discarded.isPresent()) {
        // The guard dropped the payload as it arrived; the quarantine keeps no payload, only its size.
        return CompletableFuture.completedFuture(new InFlight(m.mqtt(), new byte[0],
            tooLarge(discarded.getAsLong(), "; it was discarded as it arrived, never held in memory")));
      }
      String topic = m.mqtt().message().topic();
      Refusal wrongTopic = wrongTopic(topic, settings.identityName());
      if (wrongTopic != null) {
        return CompletableFuture.completedFuture(m.next(new Authenticator.Refused(wrongTopic)));
      }
      if (m.payload().length > settings.maxMessageSize()) {
        return CompletableFuture.completedFuture(m.next(tooLarge(m.payload().length, "")));
      }
      return AskPattern.<Decryptor.Command, Envelope.DecryptResult>ask(decryptor,
          ref -> new Decryptor.Decrypt(m.payload(), ref), ASK, scheduler)
          .handleAsync((result, error) -> m.next(error == null ? result : notHandled("decrypting", error)),
              SAME_THREAD);
    }

    private Envelope.Rejected tooLarge(long size, String how) {
      return new Envelope.Rejected(Rejection.of(Rejection.Reason.TOO_LARGE, "the payload has " + size
          + " bytes, the limit is " + settings.maxMessageSize() + " (MAX_MESSAGE_SIZE)" + how));
    }

    CompletionStage<InFlight> authenticate(InFlight m, Duration timeout) {
      if (!(m.step() instanceof Envelope.DecryptResult)) {
        return CompletableFuture.completedFuture(m); // refused or failed before
      }
      if (m.step() instanceof Envelope.Rejected rejected) {
        return CompletableFuture.completedFuture(m.next(
            new Authenticator.Refused(Refusal.of(rejected.rejection()))));
      }
      Envelope.Decrypted decrypted = (Envelope.Decrypted) m.step();
      return AskPattern.<Authenticator.Command, Authenticator.Verdict>ask(authenticator,
          ref -> new Authenticator.Authenticate(decrypted.message(), m.payload(), ref), timeout, scheduler)
          .handleAsync((verdict, error) -> m.next(error == null ? verdict
              : new Authenticator.Settled(notHandled("authenticating", error))), SAME_THREAD);
    }

    CompletionStage<InFlight> settle(InFlight m) {
      if (!(m.step() instanceof Authenticator.Verdict verdict)) {
        return CompletableFuture.completedFuture(m); // failed before
      }
      if (verdict instanceof Authenticator.Authentic authentic) {
        return askPrinter(m, ref -> new Printer.Deliver(authentic.message(), authentic.dnssecValidated(), m.payload(), ref));
      }
      if (verdict instanceof Authenticator.Refused refused) {
        return askPrinter(m, ref -> new Printer.Quarantine(refused.refusal(), m.payload(), ref));
      }
      if (verdict instanceof Authenticator.Settled settled) {
        return CompletableFuture.completedFuture(m.next(settled.outcome()));
      }
      return CompletableFuture.completedFuture(m.next(verdict)); // parked on disk
    }

    private CompletionStage<InFlight> askPrinter(InFlight m,
        org.apache.pekko.japi.function.Function<ActorRef<Printer.Outcome>, Printer.Command> command) {
      return AskPattern.<Printer.Command, Printer.Outcome>ask(printer, command, ASK, scheduler)
          .handleAsync((outcome, error) -> m.next(error == null ? outcome : notHandled("recording", error)),
              SAME_THREAD);
    }

    /**
     * An actor that did not answer: a condition of the node (overload, a stopped actor), not of the
     * message, whose stages never throw. The message is not acked and comes again after a reconnect.
     */
    private static Printer.Failed notHandled(String step, Throwable error) {
      return new Printer.Failed(step + " did not finish: " + error.getClass().getSimpleName());
    }

    CompletionStage<Done> ack(InFlight m) {
      if (m.step() instanceof Printer.Failed failed) {
        throw new NotHandled("a message could not be written (" + failed.reason() + "); reconnecting"
            + " so that the broker delivers it again");
      }
      return m.mqtt().ack().toCompletableFuture()
          .orTimeout(10, TimeUnit.SECONDS)
          .handleAsync((done, error) -> {
            if (error != null) {
              // The broker delivers it again; the replay cache keeps it from printing twice.
              LOG.debug("ack failed ({}); the message will be redelivered", error.toString());
            } else {
              gateway.tell(new Acked());
            }
            return Done.getInstance();
          }, SAME_THREAD);
    }
  }

  /**
   * Why a message on {@code topic} is not for this node, or {@code null} when the topic is its name.
   * The subscription is to this node's name only; a message on any other topic (a broker that routes
   * wrongly, a wildcard) is not addressed to this node, whatever its {@code aud} says.
   */
  static Refusal wrongTopic(String topic, org.danemsg.protocol.DnsName self) {
    return self.toString().equals(topic) ? null : new Refusal(Refusal.WRONG_TOPIC,
        "arrived on topic '" + topic + "', not on this node's topic " + self, null);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Received.class, r -> {
          received++;
          return this;
        })
        .onMessage(Acked.class, a -> {
          acked++;
          return this;
        })
        .onMessage(Started.class, started -> {
          current = started.killSwitch();
          if (draining) {
            current.shutdown();
          }
          return this;
        })
        .onMessage(Subscribed.class, s -> {
          subscribed = true;
          getContext().getLog().info("connected to {}, subscribed to {} at QoS 1", settings.mqtt().uri(),
              settings.identityName());
          return this;
        })
        .onMessage(ConnectionEnded.class, this::onConnectionEnded)
        .onMessage(Drain.class, this::onDrain)
        .onMessage(Abort.class, a -> {
          outer.abort(new IllegalStateException("pipeline aborted"));
          return this;
        })
        .onMessage(PipelineEnded.class, this::onPipelineEnded)
        .onMessage(GetStats.class, get -> {
          get.replyTo().tell(new Stats(subscribed, received, acked));
          return this;
        })
        .build();
  }

  private Behavior<Command> onConnectionEnded(ConnectionEnded ended) {
    boolean was = subscribed;
    subscribed = false;
    if (draining) {
      return this;
    }
    String cause = ended.cause() == null ? "closed" : describe(ended.cause());
    if (was) {
      getContext().getLog().warn("connection to {} lost: {}; reconnecting with backoff ({} to {})",
          settings.mqtt().uri(), cause, settings.mqtt().reconnectMinBackoff().toMillis() + " ms",
          settings.mqtt().reconnectMaxBackoff().toSeconds() + " s");
    } else {
      getContext().getLog().warn("cannot connect to {}: {}; retrying with backoff", settings.mqtt().uri(), cause);
    }
    return this;
  }

  private Behavior<Command> onDrain(Drain drain) {
    draining = true;
    if (ended) {
      drain.replyTo().tell(Done.getInstance());
      return this;
    }
    drainReply = drain.replyTo();
    getContext().getLog().info("draining: no new messages, finishing those in flight");
    if (subscribed && current != null) {
      current.shutdown(); // the MQTT stage stays connected until the in-flight messages are acked
    } else {
      outer.shutdown();
    }
    return this;
  }

  private Behavior<Command> onPipelineEnded(PipelineEnded end) {
    ended = true;
    if (end.cause() != null && !draining) {
      getContext().getLog().info("pipeline stopped: {}", describe(end.cause()));
    }
    if (drainReply != null) {
      getContext().getLog().info("drained: {} received, {} acked", received, acked);
      drainReply.tell(Done.getInstance());
    }
    return this;
  }

  private static String describe(Throwable e) {
    Throwable cause = e;
    while (cause.getCause() != null && cause.getCause() != cause) {
      cause = cause.getCause();
    }
    String message = cause.getMessage();
    return cause.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }
}
