package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.OpenedMessage;
import org.danemsg.protocol.Profile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestKitJUnit5Extension.class)
class PrinterTest {

  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final DnsName ALICE = DnsName.parse("alice._device.example.test");
  private static final DnsName BOB = DnsName.parse("bob._device.example.test");

  private ActorRef<Printer.Command> printer(Path data) {
    return testKit.spawn(Printer.create(new Printer.Settings(data, 64,
        new PrintStream(new ByteArrayOutputStream(), true), Clock.systemUTC(), Printer.Hook.none())));
  }

  private static OpenedMessage message(String id) {
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    return new OpenedMessage(ALICE, BOB, "hi " + id, now, id, now.plusSeconds(300), Profile.NATIVE);
  }

  @Test
  void secondCopyOfAMessageIsRefusedAsReplay() throws Exception {
    ActorRef<Printer.Command> printer = printer(Files.createTempDirectory("printer-"));
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    printer.tell(new Printer.Deliver(message("m1"), true, new byte[] {1}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    printer.tell(new Printer.Deliver(message("m1"), true, new byte[] {1}, probe.ref()));
    Printer.Outcome second = probe.receiveMessage();
    assertTrue(second instanceof Printer.Quarantined q && q.refusal().reason().equals(Refusal.REPLAY), second.toString());
  }

  @Test
  void replayWindowSurvivesARestart() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    ActorRef<Printer.Command> first = printer(data);
    first.tell(new Printer.Deliver(message("m2"), true, new byte[] {2}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    testKit.stop(first);
    ActorRef<Printer.Command> second = printer(data);
    second.tell(new Printer.Deliver(message("m2"), true, new byte[] {2}, probe.ref()));
    assertTrue(probe.receiveMessage() instanceof Printer.Quarantined);
    second.tell(new Printer.Deliver(message("m3"), true, new byte[] {3}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
  }

  @Test
  void idsAreReadBackFromTheInboxWhenTheReplayLogMissesThem() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    ActorRef<Printer.Command> first = printer(data);
    first.tell(new Printer.Deliver(message("m4"), true, new byte[] {4}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    testKit.stop(first);
    Files.writeString(data.resolve("replay.log"), ""); // as if the node died between the two writes
    ActorRef<Printer.Command> second = printer(data);
    second.tell(new Printer.Deliver(message("m4"), true, new byte[] {4}, probe.ref()));
    assertTrue(probe.receiveMessage() instanceof Printer.Quarantined);
  }

  @Test
  void escapesControlCharacters() {
    assertEquals("a\\nb\\tc\\x1b[0m\\\\\\u202e\\x7f", Printer.escape("a\nb\tc\u001b[0m\\\u202e\u007f"));
    assertEquals("grüße 😀", Printer.escape("grüße 😀"));
  }
}
