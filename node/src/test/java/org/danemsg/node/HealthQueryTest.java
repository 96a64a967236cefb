package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.danemsg.protocol.dns.TlsaCache;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The short-lived health question with probes standing for the four actors it asks. */
@ExtendWith(TestKitJUnit5Extension.class)
class HealthQueryTest {

  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private final TestProbe<Printer.Command> printer = testKit.createTestProbe();
  private final TestProbe<ParkingLot.Command> parking = testKit.createTestProbe();
  private final TestProbe<TlsaResolver.Command> resolver = testKit.createTestProbe();
  private final TestProbe<MqttGateway.Command> gateway = testKit.createTestProbe();
  private final TestProbe<NodeGuardian.HealthAnswer> answer = testKit.createTestProbe();

  private ActorRef<HealthQuery.Command> ask(Duration timeout) {
    return testKit.spawn(HealthQuery.create(new HealthQuery.Targets(printer.ref(), parking.ref(), resolver.ref(),
        gateway.ref()), timeout, answer.ref()));
  }

  private static TlsaCache.Stats cacheStats(long hits, long misses) {
    return new TlsaCache.Stats(hits, misses, 0, 0, 0, 0, 0, 0);
  }

  @Test
  void gathersTheFourAnswersIntoOneAndStops() {
    ActorRef<HealthQuery.Command> query = ask(Duration.ofSeconds(5));
    printer.expectMessageClass(Printer.GetStats.class).replyTo()
        .tell(new Printer.Stats(7, Map.of("REPLAY", 2L), 0, 0));
    parking.expectMessageClass(ParkingLot.GetStats.class).replyTo().tell(new ParkingLot.Stats(3, 1, 900));
    resolver.expectMessageClass(TlsaResolver.GetStats.class).replyTo().tell(cacheStats(40, 4));
    gateway.expectMessageClass(MqttGateway.GetStats.class).replyTo().tell(new MqttGateway.Stats(true, 12, 12));

    NodeGuardian.Health health = (NodeGuardian.Health) answer.receiveMessage();
    assertEquals(new NodeGuardian.Health(true, 12, 12, 7, Map.of("REPLAY", 2L), 3, 40, 4), health);
    answer.expectTerminated(query);
  }

  @Test
  void namesTheActorsThatDidNotAnswerInTime() {
    ActorRef<HealthQuery.Command> query = ask(Duration.ofMillis(300));
    printer.expectMessageClass(Printer.GetStats.class).replyTo().tell(new Printer.Stats(0, Map.of(), 0, 0));
    resolver.expectMessageClass(TlsaResolver.GetStats.class).replyTo().tell(cacheStats(0, 0));
    parking.expectMessageClass(ParkingLot.GetStats.class); // never answered
    gateway.expectMessageClass(MqttGateway.GetStats.class); // never answered

    NodeGuardian.HealthUnknown unknown = (NodeGuardian.HealthUnknown) answer.receiveMessage(Duration.ofSeconds(3));
    assertEquals(List.of("parking-lot", "mqtt-gateway"), unknown.silent());
    answer.expectTerminated(query);
  }
}
