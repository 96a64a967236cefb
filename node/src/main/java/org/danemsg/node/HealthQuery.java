package org.danemsg.node;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.danemsg.protocol.dns.TlsaCache;

/**
 * One health question, as a short-lived child of the {@link NodeGuardian}: asks the four actors that
 * keep counters at once, gathers their answers, replies with the node's {@link NodeGuardian.Health}
 * and stops. An actor that has not answered within the timeout is named in a
 * {@link NodeGuardian.HealthUnknown} reply instead, so a stuck actor is reported, never waited for.
 */
public final class HealthQuery extends AbstractBehavior<HealthQuery.Command> {

  /** The answers it waits for. */
  public sealed interface Command {}

  private record FromPrinter(Printer.Stats stats) implements Command {}

  private record FromParking(ParkingLot.Stats stats) implements Command {}

  private record FromResolver(TlsaCache.Stats stats) implements Command {}

  private record FromGateway(MqttGateway.Stats stats) implements Command {}

  private record TimedOut() implements Command {}

  /** The actors asked. */
  public record Targets(ActorRef<Printer.Command> printer, ActorRef<ParkingLot.Command> parking,
      ActorRef<TlsaResolver.Command> resolver, ActorRef<MqttGateway.Command> gateway) {}

  private final ActorRef<NodeGuardian.HealthAnswer> replyTo;
  private Printer.Stats printed;
  private ParkingLot.Stats parked;
  private TlsaCache.Stats cache;
  private MqttGateway.Stats mqtt;

  /** Asks {@code targets} and replies to {@code replyTo} within {@code timeout}. */
  public static Behavior<Command> create(Targets targets, Duration timeout,
      ActorRef<NodeGuardian.HealthAnswer> replyTo) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      targets.printer().tell(new Printer.GetStats(context.messageAdapter(Printer.Stats.class, FromPrinter::new)));
      targets.parking().tell(new ParkingLot.GetStats(
          context.messageAdapter(ParkingLot.Stats.class, FromParking::new)));
      targets.resolver().tell(new TlsaResolver.GetStats(
          context.messageAdapter(TlsaCache.Stats.class, FromResolver::new)));
      targets.gateway().tell(new MqttGateway.GetStats(
          context.messageAdapter(MqttGateway.Stats.class, FromGateway::new)));
      timers.startSingleTimer(new TimedOut(), timeout);
      return new HealthQuery(context, replyTo);
    }));
  }

  private HealthQuery(ActorContext<Command> context, ActorRef<NodeGuardian.HealthAnswer> replyTo) {
    super(context);
    this.replyTo = replyTo;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(FromPrinter.class, m -> {
          printed = m.stats();
          return answerIfComplete();
        })
        .onMessage(FromParking.class, m -> {
          parked = m.stats();
          return answerIfComplete();
        })
        .onMessage(FromResolver.class, m -> {
          cache = m.stats();
          return answerIfComplete();
        })
        .onMessage(FromGateway.class, m -> {
          mqtt = m.stats();
          return answerIfComplete();
        })
        .onMessage(TimedOut.class, t -> {
          List<String> silent = new ArrayList<>();
          if (printed == null) {
            silent.add("printer");
          }
          if (parked == null) {
            silent.add("parking-lot");
          }
          if (cache == null) {
            silent.add("tlsa-resolver");
          }
          if (mqtt == null) {
            silent.add("mqtt-gateway");
          }
          replyTo.tell(new NodeGuardian.HealthUnknown(silent));
          return Behaviors.stopped();
        })
        .build();
  }

  private Behavior<Command> answerIfComplete() {
    if (printed == null || parked == null || cache == null || mqtt == null) {
      return this;
    }
    replyTo.tell(new NodeGuardian.Health(mqtt.subscribed(), mqtt.received(), mqtt.acked(), printed.delivered(),
        printed.rejected(), parked.parkedMessages(), cache.hits(), cache.misses()));
    return Behaviors.stopped();
  }
}
