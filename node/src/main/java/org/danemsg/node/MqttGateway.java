package org.danemsg.node;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import javax.net.SocketFactory;
import javax.net.ssl.SSLSocketFactory;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.event.Logging;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.connectors.mqtt.javadsl.MqttMessageWithAck;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.RestartSource;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.danemsg.client.BrokerConnectOptions;
import org.danemsg.client.BrokerTls;
import org.danemsg.client.ClientSettings;

/**
 * Owns the broker connection: connects with the node's client id and a persistent session, subscribes
 * to the node's topic at QoS 1, reconnects with backoff, drains on SIGTERM, and counts. Everything a
 * message goes through after it arrived is the {@link InboundPipeline}, run behind the connection as
 * one stream; this actor keeps only the connection's life cycle.
 *
 * <p>The stream is wrapped in {@code RestartSource.onFailuresWithBackoff}: a lost connection (or a
 * record that could not be written) fails it, and it is started again with backoff, which reconnects
 * with the same client id and subscribes again; the broker then redelivers whatever was not acked, and
 * the replay window keeps anything already printed from printing twice. {@link Drain} stops taking
 * messages, lets those in flight finish and be acked, then completes.
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

  private record PipelineEnded(Throwable cause) implements Command {}

  /** Time to connect, or why not ({@code cannot} is null to connect). */
  private record Start(Throwable cannot) implements Command {}


  private final NodeSettings settings;
  /** The node's topic, or in cluster mode the members' shared subscription to it. */
  private final String topicFilter;
  /** The topic filter as log lines show it (a shared subscription's group is a secret). */
  private final String loggedTopic;
  private final UniqueKillSwitch outer;
  private UniqueKillSwitch current;
  private boolean subscribed;
  private boolean draining;
  private final InboundPipeline.Counters counters;
  private ActorRef<Done> drainReply;
  private boolean ended;

  /**
   * A gateway for {@code settings} running {@code pipeline} behind the connection; {@code oversized}
   * is where the size guard under the MQTT client leaves its verdicts for the pipeline.
   */
  public static Behavior<Command> create(NodeSettings settings, InboundPipeline pipeline,
      OversizedPublishes oversized) {
    return create(settings, pipeline, oversized, CompletableFuture.completedFuture(Done.getInstance()));
  }

  /**
   * A gateway that connects once {@code startWhen} completes (a cluster member: once it is Up, so that
   * its messages can be claimed).
   */
  public static Behavior<Command> create(NodeSettings settings, InboundPipeline pipeline,
      OversizedPublishes oversized, CompletionStage<Done> startWhen) {
    return Behaviors.setup(context -> {
      if (startWhen.toCompletableFuture().isDone()) {
        return new MqttGateway(context, settings, pipeline, oversized);
      }
      context.getLog().info("not connecting to the broker until this member is Up in the cluster");
      context.pipeToSelf(startWhen, (done, error) -> new Start(error));
      return Behaviors.receive(Command.class)
          .onMessage(Start.class, start -> {
            if (start.cannot() != null) {
              // Fail closed: without this member's replay window in the cluster's, it must not take messages.
              context.getLog().error("cannot start taking messages: {}", org.danemsg.protocol.SafeText.detail(
                  RootCause.describe(start.cannot())));
              return Behaviors.stopped();
            }
            return new MqttGateway(context, settings, pipeline, oversized);
          })
          .onMessage(Drain.class, drain -> {
            drain.replyTo().tell(Done.getInstance());
            return Behaviors.stopped();
          })
          .onMessage(Abort.class, abort -> Behaviors.stopped())
          .onMessage(GetStats.class, get -> {
            get.replyTo().tell(new Stats(false, 0, 0));
            return Behaviors.same();
          })
          .build();
    });
  }

  private MqttGateway(ActorContext<Command> context, NodeSettings settings, InboundPipeline pipeline,
      OversizedPublishes oversized) {
    super(context);
    this.settings = settings;
    this.counters = pipeline.counters();
    this.topicFilter = settings.clustered()
        ? settings.cluster().topicFilter(settings.identityName())
        : settings.identityName().toString();
    this.loggedTopic = ClusterSettings.shownAs(topicFilter);
    ActorRef<Command> self = context.getSelf();
    ClientSettings.Mqtt mqtt = settings.mqtt();
    if (mqtt.clientId().isEmpty()) {
      throw new IllegalStateException("no MQTT client id: Node.start resolves it (MqttClientId) first");
    }
    // Everything Paho reads passes the size guard first: it never allocates an oversized PUBLISH.
    SSLSocketFactory tls = BrokerTls.socketFactory(mqtt);
    SocketFactory guarded = tls != null
        ? GuardedSocketFactory.tls(tls, settings.maxMessageSize(), oversized)
        : GuardedSocketFactory.plain(settings.maxMessageSize(), oversized);
    RestartSettings restart = RestartSettings
        .create(mqtt.reconnectMinBackoff(), mqtt.reconnectMaxBackoff(), 0.2)
        .withLogSettings(RestartSettings.createLogSettings(Logging.DebugLevel()));
    Source<Done, NotUsed> restarting = RestartSource.onFailuresWithBackoff(restart, () ->
        pipeline.run(connection(ManualAckMqttSource.create(mqtt.uri(), mqtt.clientId(),
            BrokerConnectOptions.of(mqtt, BrokerConnectOptions.Session.PERSISTENT, mqtt.username(),
                mqtt.password(), mqtt.connectTimeout(), 1000, guarded), topicFilter, mqtt.bufferSize()), self)));
    Pair<UniqueKillSwitch, CompletionStage<Done>> materialized = restarting
        .viaMat(KillSwitches.single(), Keep.right())
        .toMat(Sink.ignore(), Keep.both())
        .run(context.getSystem());
    this.outer = materialized.first();
    context.pipeToSelf(materialized.second(), (done, error) -> new PipelineEnded(error));
    context.getLog().info("connecting to {} as client id {} (persistent session), topic {}", mqtt.uri(),
        mqtt.clientId(), loggedTopic);
  }

  /** The MQTT source, telling the gateway when it subscribed, when it ended and how to stop it. */
  private static Source<MqttMessageWithAck, UniqueKillSwitch> connection(
      Source<MqttMessageWithAck, CompletionStage<Done>> mqtt, ActorRef<Command> gateway) {
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
        });
  }

  /**
   * Why a message on {@code topic} is not for this node, or {@code null} when the topic is its name.
   * The subscription is to this node's name only; a message on any other topic (a broker that routes
   * wrongly, a wildcard) is not addressed to this node, whatever its {@code aud} says. A shared
   * subscription ({@code $share/GROUP/name}, cluster mode) delivers with the topic it was published
   * on, so the same check holds.
   */
  static Refusal wrongTopic(String topic, org.danemsg.protocol.DnsName self) {
    return self.toString().equals(topic) ? null : new Refusal(Refusal.WRONG_TOPIC,
        "arrived on topic '" + topic + "', not on this node's topic " + self, null);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
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
              loggedTopic);
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
          get.replyTo().tell(new Stats(subscribed, counters.received.sum(), counters.acked.sum()));
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
    String cause = ended.cause() == null ? "closed" : RootCause.describe(ended.cause());
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
      getContext().getLog().info("pipeline stopped: {}", RootCause.describe(end.cause()));
    }
    if (drainReply != null) {
      getContext().getLog().info("drained: {} received, {} acked", counters.received.sum(),
          counters.acked.sum());
      drainReply.tell(Done.getInstance());
    }
    return this;
  }
}
