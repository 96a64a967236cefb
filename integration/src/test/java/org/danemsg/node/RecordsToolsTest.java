package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.OpenedMessage;
import org.danemsg.protocol.Profile;
import org.danemsg.protocol.SafeText;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.danemsg.tools.NodeRecords;
import org.danemsg.tools.Tools;
import org.jose4j.json.JsonUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tools inbox} and {@code tools quarantine} on what the node's own writer ({@link MessageStore})
 * recorded, and on a running node's database while it writes. In the node package for its fixtures;
 * here because the tools do not depend on the node.
 */
class RecordsToolsTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final DnsName ALICE = DnsName.parse("alice._device.example.test");
  private static final DnsName BOB = DnsName.parse("bob._device.example.test");
  private static final String HOSTILE = "pay \u001b[2Jnow\u202e evil\nsecond line\ttab \u0007";

  /** The tools run in-process, with what they printed. */
  private record Run(int exit, String out, String err) {
    static Run of(String... args) {
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      int exit = Tools.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
      return new Run(exit, out.toString(), err.toString());
    }

    List<Map<String, Object>> json() throws Exception {
      List<Map<String, Object>> rows = new ArrayList<>();
      for (String line : out.lines().toList()) {
        rows.add(JsonUtil.parseJson(line));
      }
      return rows;
    }
  }

  private static MessageStore store(Path data) throws Exception {
    return MessageStore.open(data, NodeSettings.Records.defaults(), 8, Clock.systemUTC());
  }

  private static OpenedMessage message(String id, String text) {
    Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    return new OpenedMessage(ALICE, BOB, text, now, id, now.plusSeconds(3600), Profile.NATIVE);
  }

  @Test
  void theToolsReadTheSchemaTheNodeWrites() {
    assertEquals(MessageStore.SCHEMA_VERSION, NodeRecords.SCHEMA_VERSION);
    assertEquals(MessageStore.FILE, NodeRecords.FILE);
  }

  @Test
  void jsonLinesHoldExactlyTheMembersOfTheNodesRecordsAndTheCursor(@TempDir Path data) throws Exception {
    try (MessageStore store = store(data)) {
      store.recordDelivery(message("j1", "native"), true, Instant.now(), 0);
      store.recordDelivery(message("j2", "lab"), false, Instant.now(), 0);
      store.recordDelivery(new OpenedMessage(ALICE, BOB, "old", null, "sha256-j3", null, Profile.LEGACY), true,
          Instant.now(), 0);
      store.recordRefusal(new Refusal("NOT_A_JWE", "garbage", null), "0123456789".getBytes(), Instant.now(), 0);
      store.recordRefusal(new Refusal("TOO_LARGE", "has 99 bytes", ALICE), null, Instant.now(), 0);
      store.commit();
    }
    Run inbox = Run.of("inbox", "--data", data.toString(), "--json");
    assertEquals(0, inbox.exit(), inbox.err());
    List<Map<String, Object>> rows = inbox.json();
    assertEquals(StoredRecords.inbox(data), rows);
    assertEquals(List.of("cursor", "received-at", "sender", "recipient", "sent-at", "expires-at", "id", "profile",
        "dnssec", "text"), List.copyOf(rows.get(0).keySet()));
    assertEquals("off", rows.get(1).get("dnssec"));
    assertEquals(List.of("cursor", "received-at", "sender", "recipient", "sent-at", "expires-at", "id", "profile",
        "dnssec", "replay-protection", "text"), List.copyOf(rows.get(2).keySet()));

    Run quarantine = Run.of("quarantine", "--data", data.toString(), "--json");
    assertEquals(0, quarantine.exit(), quarantine.err());
    List<Map<String, Object>> refused = quarantine.json();
    assertEquals(StoredRecords.quarantine(data), refused);
    assertEquals(List.of("cursor", "at", "reason", "detail", "sender", "payload-size", "payload",
        "payload-truncated"), List.copyOf(refused.get(0).keySet()));
    assertEquals(10L, refused.get(0).get("payload-size"));
    assertEquals(true, refused.get(0).get("payload-truncated"));
    assertEquals(List.of("cursor", "at", "reason", "detail", "sender"), List.copyOf(refused.get(1).keySet()));
  }

  @Test
  void textLinesAreOneSafeLineEachWithTheNodesLabels(@TempDir Path data) throws Exception {
    try (MessageStore store = store(data)) {
      store.recordDelivery(message("t1", HOSTILE), true, Instant.now(), 0);
      store.recordDelivery(message("t2", "unchecked"), false, Instant.now(), 0);
      store.recordRefusal(new Refusal("CLAIMS_INVALID", "quoted " + HOSTILE, ALICE), new byte[] {1}, Instant.now(), 0);
      store.recordRefusal(new Refusal("NOT_A_JWE", "garbage", null), new byte[] {2}, Instant.now(), 0);
      store.commit();
    }
    Run inbox = Run.of("inbox", "--data", data.toString());
    assertEquals(0, inbox.exit(), inbox.err());
    List<String> lines = inbox.out().lines().toList();
    assertEquals(2, lines.size(), inbox.out());
    List<Map<String, Object>> rows = StoredRecords.inbox(data);
    assertEquals(rows.get(0).get("received-at") + " " + ALICE + " says: " + SafeText.line(HOSTILE), lines.get(0));
    assertEquals(rows.get(1).get("received-at") + " " + ALICE + " says: unchecked [UNAUTHENTICATED: DNSSEC off]",
        lines.get(1));
    assertSafe(inbox.out());

    Run quarantine = Run.of("quarantine", "--data", data.toString());
    List<String> refused = quarantine.out().lines().toList();
    assertEquals(2, refused.size(), quarantine.out());
    List<Map<String, Object>> quarantined = StoredRecords.quarantine(data);
    assertEquals(quarantined.get(0).get("at") + " CLAIMS_INVALID " + ALICE + " " + quarantined.get(0).get("detail"),
        refused.get(0));
    assertEquals(quarantined.get(1).get("at") + " NOT_A_JWE - garbage", refused.get(1));
    assertSafe(quarantine.out());
  }

  /** No character that could move the cursor, clear the screen or reorder the text reaches the terminal. */
  private static void assertSafe(String output) {
    for (String line : output.lines().toList()) {
      assertTrue(SafeText.isSafeLine(line), line);
    }
    assertFalse(output.contains("\u001b") || output.contains("\u202e") || output.contains("\u0007"), output);
  }

  @Test
  void afterAndLimitPageThroughTheRecordsByCursor(@TempDir Path data) throws Exception {
    try (MessageStore store = store(data)) {
      for (int i = 1; i <= 5; i++) {
        store.recordDelivery(message("p" + i, "page " + i), true, Instant.now(), 0);
      }
      store.commit();
    }
    Run first = Run.of("inbox", "--data", data.toString(), "--json", "--limit", "2");
    List<Map<String, Object>> page = first.json();
    assertEquals(List.of("page 1", "page 2"), page.stream().map(r -> r.get("text")).toList());
    Run next = Run.of("inbox", "--data", data.toString(), "--json", "--after",
        String.valueOf(page.get(1).get("cursor")), "--limit", "2");
    assertEquals(List.of("page 3", "page 4"), next.json().stream().map(r -> r.get("text")).toList());
    Run rest = Run.of("inbox", "--data", data.toString(), "--after", String.valueOf(page.get(1).get("cursor")));
    assertEquals(3, rest.out().lines().count(), rest.out());
  }

  @Test
  void followPrintsARecordWrittenAfterItStartedAndEndsWithZeroWhenInterrupted(@TempDir Path data) throws Exception {
    try (MessageStore store = store(data)) {
      store.recordDelivery(message("f1", "before following"), true, Instant.now(), 0);
      store.commit();
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      Thread[] follower = new Thread[1];
      CompletableFuture<Integer> exit = new CompletableFuture<>();
      follower[0] = new Thread(() -> exit.complete(Tools.run(new String[] {"inbox", "--data", data.toString(),
          "--follow", "--json"}, new PrintWriter(out, true), new PrintWriter(err, true))));
      follower[0].start();
      Poll.until(Duration.ofSeconds(20), () -> out.toString().contains("before following"), out::toString);
      store.recordDelivery(message("f2", "written while following"), true, Instant.now(), 0);
      store.commit();
      Poll.until(Duration.ofSeconds(20), () -> out.toString().contains("written while following"),
          () -> "not seen: " + out + err);
      follower[0].interrupt(); // what Ctrl-C does
      assertEquals(0, exit.get(20, TimeUnit.SECONDS), err.toString());
      assertEquals(2, out.toString().lines().count(), out.toString());
    }
  }

  @Test
  void followReadsARunningNodesInboxWhileItWritesEveryMessageOnceInOrder() throws Exception {
    TestDevice receiver = TestDevice.published(knot, broker, "reader", KeyType.EC_P256);
    TestDevice sender = TestDevice.published(knot, broker, "writer", KeyType.EC_P256);
    int count = 200;
    try (Node node = receiver.start(); MessageSender from = sender.sender()) {
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> Tools.run(new String[] {"inbox",
          "--data", receiver.dataPath.toString(), "--follow", "--json", "--limit", String.valueOf(count)},
          new PrintWriter(out, true), new PrintWriter(err, true)));
      List<MessageSender.Publishing> pending = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        pending.add(from.publishAsync(receiver.name, from.seal(receiver.name, "concurrent " + i, Profile.NATIVE)));
      }
      for (MessageSender.Publishing p : pending) {
        p.waitForCompletion(Duration.ofSeconds(30));
      }
      assertEquals(0, exit.get(60, TimeUnit.SECONDS), err.toString());
      List<Map<String, Object>> rows = new Run(0, out.toString(), "").json();
      Set<Object> texts = new LinkedHashSet<>();
      long previous = 0;
      for (Map<String, Object> row : rows) {
        assertTrue(texts.add(row.get("text")), "printed twice: " + row);
        long cursor = (Long) row.get("cursor");
        assertTrue(cursor > previous, "out of order at " + row);
        previous = cursor;
      }
      assertEquals(count, texts.size());
      assertEquals(receiver.inbox(), rows);
    }
  }
}
