package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
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
    return testKit.spawn(Printer.create(Printer.Settings.of(data,
        new PrintStream(new ByteArrayOutputStream(), true), Clock.systemUTC(), Printer.Hook.none())));
  }

  private ActorRef<Printer.Command> printer(Printer.Settings settings) {
    return testKit.spawn(Printer.create(settings));
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
    forgetReplayWindow(data); // as if the node died between the two writes
    ActorRef<Printer.Command> second = printer(data);
    second.tell(new Printer.Deliver(message("m4"), true, new byte[] {4}, probe.ref()));
    assertTrue(probe.receiveMessage() instanceof Printer.Quarantined);
  }

  @Test
  void escapesControlCharacters() {
    assertEquals("a\\nb\\tc\\x1b[0m\\\\\\u202e\\x7f", Printer.escape("a\nb\tc\u001b[0m\\\u202e\u007f"));
    assertEquals("grüße 😀", Printer.escape("grüße 😀"));
  }

  @Test
  void aTextWithALoneSurrogateIsDeliveredOnceAsValidUtf8AndNotPrintedAgainAfterARestart() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Printer.Settings settings = Printer.Settings.of(data, new PrintStream(out, true, StandardCharsets.UTF_8),
        Clock.systemUTC(), Printer.Hook.none());
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    Instant now = Instant.now();
    OpenedMessage hostile = new OpenedMessage(ALICE, BOB, "half \ud800 a pair\u001b[2J", now, "surrogate-1",
        now.plusSeconds(300), Profile.NATIVE);
    ActorRef<Printer.Command> first = printer(settings);
    first.tell(new Printer.Deliver(hostile, true, new byte[] {9}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    testKit.stop(first);
    ActorRef<Printer.Command> second = printer(settings);
    second.tell(new Printer.Deliver(hostile, true, new byte[] {9}, probe.ref())); // the broker redelivers
    assertTrue(probe.receiveMessage() instanceof Printer.Quarantined q && q.refusal().reason().equals(Refusal.REPLAY));

    String printed = out.toString(StandardCharsets.UTF_8);
    assertEquals(1, printed.lines().count(), printed);
    assertTrue(printed.contains("half \\ud800 a pair\\x1b[2J"), printed);
    byte[] inbox = Files.readAllBytes(data.resolve("inbox.jsonl"));
    StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(inbox)); // throws if not valid UTF-8
    assertEquals("half \ufffd a pair\u001b[2J", TestDevice.jsonLines(data.resolve("inbox.jsonl")).get(0).get("text"));
  }

  @Test
  void anOlderNodesReplayLogIsTakenOverOnce() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    long until = Instant.now().plusSeconds(600).getEpochSecond();
    Files.writeString(data.resolve("replay.log"), "alice._device.example.test " + until + " old-1\n"
        + "{\"sender\":\"alice._device.example.test\",\"id\":\"json-2\",\"until\":" + until + "}\n"
        + "torn line\n");
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    ActorRef<Printer.Command> printer = printer(data);
    for (String id : List.of("old-1", "json-2")) {
      printer.tell(new Printer.Deliver(message(id), true, new byte[] {1}, probe.ref()));
      assertTrue(probe.receiveMessage() instanceof Printer.Quarantined, id);
    }
    assertTrue(Files.exists(data.resolve("replay.log.migrated")));
    assertFalse(Files.exists(data.resolve("replay.log")));
  }

  /** The ids in the replay window, as the database holds them. */
  private static List<String> seenIds(Path data) throws Exception {
    try (var db = java.sql.DriverManager.getConnection("jdbc:sqlite:" + data.resolve(ReplayCache.DATABASE));
        var rows = db.createStatement().executeQuery("SELECT id FROM seen")) {
      List<String> ids = new java.util.ArrayList<>();
      while (rows.next()) {
        ids.add(rows.getString(1));
      }
      return ids;
    }
  }

  private static void forgetReplayWindow(Path data) throws Exception {
    try (var db = java.sql.DriverManager.getConnection("jdbc:sqlite:" + data.resolve(ReplayCache.DATABASE))) {
      db.createStatement().execute("DELETE FROM seen");
    }
  }

  @Test
  void anIdIsKeptExactlyAsItWasAndCannotForgeOtherEntries() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    ActorRef<Printer.Command> first = printer(data);
    first.tell(new Printer.Deliver(message("x\nforged 99999999999 y"), true, new byte[] {5}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    testKit.stop(first);
    assertEquals(List.of("x\nforged 99999999999 y"), seenIds(data)); // one id, exactly as it was
    ActorRef<Printer.Command> second = printer(data);
    second.tell(new Printer.Deliver(message("x\nforged 99999999999 y"), true, new byte[] {5}, probe.ref()));
    assertTrue(probe.receiveMessage() instanceof Printer.Quarantined, "the id read back differs from the one kept");
    second.tell(new Printer.Deliver(message("y"), true, new byte[] {6}, probe.ref()));
    probe.expectMessage(new Printer.Printed()); // "forged ... y" did not become an entry
  }

  @Test
  void aLegacyMessageCopyIsRefusedAsReplayWithinTheWindowAcrossARestart() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    OpenedMessage legacy = new OpenedMessage(ALICE, BOB, "old format", null, "sha256-abcdef", null, Profile.LEGACY);
    ActorRef<Printer.Command> first = printer(data);
    first.tell(new Printer.Deliver(legacy, true, new byte[] {7}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    testKit.stop(first);
    forgetReplayWindow(data); // as if the node died between the two writes
    ActorRef<Printer.Command> second = printer(data);
    second.tell(new Printer.Deliver(legacy, true, new byte[] {7}, probe.ref()));
    assertTrue(probe.receiveMessage() instanceof Printer.Quarantined q && q.refusal().reason().equals(Refusal.REPLAY));
  }

  @Test
  void theFilesHoldingMessagesAreReadableByTheOwnerOnly() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    Files.writeString(data.resolve("inbox.jsonl"), ""); // left by an older node, created 0644
    Files.setPosixFilePermissions(data.resolve("inbox.jsonl"), PosixFilePermissions.fromString("rw-r--r--"));
    ActorRef<Printer.Command> printer = printer(data);
    printer.tell(new Printer.Deliver(message("p1"), true, new byte[] {1}, probe.ref()));
    probe.expectMessage(new Printer.Printed());
    printer.tell(new Printer.Quarantine(new Refusal("NOT_A_JWE", "garbage", null), new byte[] {0}, probe.ref()));
    probe.receiveMessage();
    for (String file : List.of("inbox.jsonl", "quarantine.jsonl", ReplayCache.DATABASE)) {
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve(file))), file);
    }
  }

  @Test
  void theQuarantineFileIsMovedAsideWhenFullSoBothStayWithinTwiceTheLimit() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    long limit = 20_000;
    Printer.Settings settings = new Printer.Settings(data, 4096, limit, java.time.Duration.ofDays(7), 20,
        new PrintStream(new ByteArrayOutputStream(), true), Clock.systemUTC(), Printer.Hook.none());
    ActorRef<Printer.Command> printer = printer(settings);
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    for (int i = 0; i < 200; i++) {
      printer.tell(new Printer.Quarantine(new Refusal("NOT_A_JWE", "garbage " + i, null), new byte[1000], probe.ref()));
      probe.receiveMessage();
    }
    long current = Files.size(data.resolve("quarantine.jsonl"));
    long previous = Files.size(data.resolve("quarantine.jsonl.1"));
    assertTrue(current <= limit && previous <= limit, current + " + " + previous);
    TestProbe<Printer.Stats> stats = testKit.createTestProbe();
    printer.tell(new Printer.GetStats(stats.ref()));
    Printer.Stats counted = stats.receiveMessage();
    assertEquals(200L, counted.rejected().get("NOT_A_JWE"));
    assertTrue(counted.quarantineRotations() >= 5, counted.toString());
    assertFalse(LogRecorder.linesWith("WARN", "quarantine.jsonl reached its limit of 20000 bytes").isEmpty());
  }

  @Test
  void rejectionsAreLoggedOneByOneOnlyUpToTheLimitPerReasonAndMinute() throws Exception {
    Path data = Files.createTempDirectory("printer-");
    Printer.Settings settings = new Printer.Settings(data, 64, 0, java.time.Duration.ofDays(7), 3,
        new PrintStream(new ByteArrayOutputStream(), true), Clock.systemUTC(), Printer.Hook.none());
    ActorRef<Printer.Command> printer = printer(settings);
    TestProbe<Printer.Outcome> probe = testKit.createTestProbe();
    String marker = "flood-" + System.nanoTime();
    for (int i = 0; i < 50; i++) {
      printer.tell(new Printer.Quarantine(new Refusal("EMPTY", marker, null), new byte[0], probe.ref()));
      probe.receiveMessage();
    }
    assertEquals(3, LogRecorder.linesWith("WARN", "rejected message", marker).size());
    TestProbe<Printer.Stats> stats = testKit.createTestProbe();
    printer.tell(new Printer.GetStats(stats.ref()));
    Printer.Stats counted = stats.receiveMessage();
    assertEquals(50L, counted.rejected().get("EMPTY"));
    assertEquals(47L, counted.warnLinesHeldBack());
    assertEquals(50, TestDevice.jsonLines(data.resolve("quarantine.jsonl")).size());
  }
}
