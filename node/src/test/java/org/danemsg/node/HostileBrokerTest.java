package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.DnsUri;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.MessageForge;
import org.danemsg.protocol.Profile;
import org.danemsg.protocol.SafeText;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The node-level adversarial suite: one node, running as its own JVM under the recommended
 * {@code -Xmx128m}, against a real Mosquitto and a real Knot, attacked the way anyone who can publish
 * to the broker can (issue "hostile inputs"; the threat model of the design notes, §8). After every
 * attack a valid message must still be delivered, the node must still be the same process, and
 * nothing may print twice. Each test is one class of attack; its name says what must hold.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileBrokerTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final Duration WITHIN = Duration.ofSeconds(60);
  /** Names under a zone no DNS server serves: Knot answers REFUSED for them. */
  private static final DnsName DEAD_ZONE = DnsName.parse("_device.nowhere.test");
  /** Over what the garbage flood leaves (so it is trimmed), under what the parking flood needs after it. */
  private static final long QUARANTINE_LIMIT = 3L << 19;

  private static TestDevice victim;
  private static TestDevice sender;
  private static TestDevice oldFriend;
  private static NodeProcess node;
  private static MessageSender publisher;
  private static Path folder;
  private static long peakRss;
  private static int valid;

  @BeforeAll
  static void start() throws Exception {
    // RSA, so that it can receive the legacy format, which only the listed legacy peers may use.
    victim = TestDevice.published(knot, broker, "victim", KeyType.RSA)
        .with("legacy-peers", "*._device." + KnotServer.SIGNED_ZONE)
        .with("records.quarantine-max-bytes", QUARANTINE_LIMIT)
        .with("quarantine-payload-limit", 256)
        .with("parking.max-backoff", "5s");
    sender = TestDevice.published(knot, broker, "friend", KeyType.EC_P256);
    oldFriend = TestDevice.published(knot, broker, "old-friend", KeyType.RSA);
    node = NodeProcess.start(victim);
    folder = node.folder();
    publisher = sender.sender();
  }

  @AfterAll
  static void stop() {
    if (publisher != null) {
      publisher.close();
    }
    if (node != null) {
      node.close();
    }
    System.out.printf("HostileBrokerTest: node peak RSS %.1f MB under -Xmx128m%n", peakRss / 1048576.0);
  }

  /** Sends a valid message and waits for it: the pipeline still flows after an attack. */
  private static void stillDelivers(String after) throws Exception {
    String text = "still here after " + after + " " + (++valid);
    publisher.send(victim.name, text, Profile.NATIVE);
    victim.awaitDelivered(text, WITHIN);
    assertTrue(node.isAlive(), "the node process died: " + node.tail());
    peakRss = Math.max(peakRss, node.memory("VmHWM"));
  }

  private static MessageForge forge() {
    return new MessageForge(sender.identity, victim.name, victim.identity.publicKey());
  }

  /** Quarantined records of this reason (those retention has not deleted). */
  private static List<Map<String, Object>> quarantinedAs(String reason) {
    return victim.quarantine().stream().filter(q -> reason.equals(q.get("reason"))).toList();
  }

  private static String b64(String text) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  @Order(1)
  void aLoneSurrogateInAHeaderIsQuarantinedOnceAndDoesNotStopDelivery() throws Exception {
    // 60 bytes, no key needed: a JWE header whose alg is half a UTF-16 surrogate pair.
    byte[] payload = (b64("{\"alg\":\"\\ud800\"}") + ".AA.AA.AA.AA").getBytes(StandardCharsets.US_ASCII);
    int before = victim.quarantine().size();
    publisher.publish(victim.name, payload);
    stillDelivers("a lone surrogate in the JWE header");
    List<Map<String, Object>> added = victim.quarantine().subList(before, victim.quarantine().size());
    assertEquals(1, added.size(), "quarantined more than once (redelivered?): " + added);
    assertTrue(SafeText.isSafeLine(String.valueOf(added.get(0).get("detail"))), added.toString());
    assertFalse(node.log().contains("reconnecting"), "the connection was dropped: " + node.tail());
    assertValidUtf8(folder.resolve("node.log"));
    assertWellFormed(victim.quarantine());
  }

  @Test
  @Order(2)
  void anAuthenticatedTextWithALoneSurrogateIsRefusedWithAReasonEachTimeAndNeverPrinted() throws Exception {
    // Signed by a published key, so it reaches the claim checks: half a surrogate pair has no UTF-8
    // form, no correct sender writes it, and the envelope refuses it (the Printer would also record it
    // safely, see PrinterTest). Before: the inbox writer threw and the broker redelivered it forever.
    byte[] payload = forge().claim("msg", "SURROGATE").build(json -> json.replace("SURROGATE", "half \\ud800 pair"));
    int before = quarantinedAs("CLAIMS_INVALID").size();
    publisher.publish(victim.name, payload);
    publisher.publish(victim.name, payload); // the same capture again
    stillDelivers("a lone surrogate in an authenticated text");
    List<Map<String, Object>> refused = quarantinedAs("CLAIMS_INVALID");
    assertEquals(before + 2, refused.size(), refused.toString());
    assertTrue(String.valueOf(refused.get(refused.size() - 1).get("detail")).contains("msg"), refused.toString());
    assertFalse(node.stdout().contains("half"), node.stdout());
    assertFalse(node.log().contains("reconnecting"), node.tail());
    assertWellFormed(victim.inbox());
    assertValidUtf8(folder.resolve("stdout.txt"));
  }


  @Test
  @Order(3)
  void malformedHeadersGiveReasonsAPersonCanActOn() throws Exception {
    List<byte[]> payloads = List.of(
        forge().jwsHeader("typ", List.of("JWT")).build(),
        forge().jwsHeader("x5u", 42).build(),
        forge().jweHeader("kid", Map.of("nested", true)).build(),
        forge().build(json -> "null"),
        forge().build(json -> "[1,2,3]"),
        forge().claim("iat", "yesterday").build(),
        forge().claim("exp", 1e308).build(),
        forge().claim("aud", List.of(victim.name.toString())).build());
    int before = victim.quarantine().size();
    for (byte[] payload : payloads) {
      publisher.publish(victim.name, payload);
    }
    stillDelivers("malformed headers");
    List<Map<String, Object>> added = victim.quarantine().subList(before, victim.quarantine().size());
    assertEquals(payloads.size(), added.size(), added.toString());
    for (Map<String, Object> entry : added) {
      String detail = String.valueOf(entry.get("detail"));
      assertFalse(detail.matches(".*(Exception|java\\.|ArrayList|LinkedHashMap|null\\)).*"),
          "a reason made of Java internals: " + detail);
      assertTrue(SafeText.isSafeLine(detail), detail);
    }
  }

  @Test
  @Order(4)
  void aHundredFiftyMegabytePublishIsRefusedWithoutBeingReadWholeAndTheNextMessageDelivered() throws Exception {
    long big = 150L << 20;
    OversizedPublishTest.publishZeros(broker, victim.name.toString(), big);
    stillDelivers("a 150 MB publish");
    List<Map<String, Object>> tooLarge = quarantinedAs("TOO_LARGE");
    assertEquals(1, tooLarge.size(), tooLarge.toString());
    assertTrue(String.valueOf(tooLarge.get(0).get("detail")).contains("has " + big + " bytes"), tooLarge.toString());
    assertFalse(node.log().contains("OutOfMemoryError"), node.tail());
  }

  @Test
  @Order(5)
  void aNativeMessageRewrappedInTheLegacyFormatIsRejected() throws Exception {
    // oldFriend signed a native message for carol; carol wraps it in the legacy format and sends it
    // to the victim, hoping it prints as "oldFriend says: {...}" without aud, expiry or replay checks.
    TestDevice carol = TestDevice.published(knot, broker, "carol", KeyType.RSA);
    String signedForCarol = new MessageForge(oldFriend.identity, carol.name, carol.identity.publicKey())
        .claim("msg", "for carol only").signedPart();
    publisher.publish(victim.name, MessageForge.legacyRewrap(signedForCarol, victim.name,
        victim.identity.publicKey()));
    stillDelivers("a native message re-wrapped as legacy");
    assertEquals(1, quarantinedAs("LEGACY_DOWNGRADE").size(), victim.quarantine().toString());
    assertFalse(node.stdout().contains("for carol only"), node.stdout());
  }

  @Test
  @Order(6)
  void aLegacyMessageIsAcceptedFromAListedPeerOnceAndItsReplayRefused() throws Exception {
    try (MessageSender fromOldFriend = oldFriend.sender()) {
      byte[] legacy = fromOldFriend.seal(victim.name, "old format, once", Profile.LEGACY);
      fromOldFriend.publish(victim.name, legacy);
      victim.awaitDelivered("old format, once", WITHIN);
      int replaysBefore = quarantinedAs(Refusal.REPLAY).size();
      fromOldFriend.publish(victim.name, legacy);
      stillDelivers("a replayed legacy message");
      assertEquals(replaysBefore + 1, quarantinedAs(Refusal.REPLAY).size());
      assertEquals(1, NodeProcess.count(node.stdout(), "says: old format, once [legacy]"), node.stdout());
    }
  }

  @Test
  @Order(7)
  void anIdThatCouldChangeAFileLayoutIsRefused() throws Exception {
    publisher.publish(victim.name, forge().claim("jti", "a\nforged 99999999999 y").build());
    publisher.publish(victim.name, forge().claim("jti", "x".repeat(500)).build());
    stillDelivers("hostile ids");
    assertEquals(2, quarantinedAs("CLAIMS_INVALID").stream()
        .filter(q -> String.valueOf(q.get("detail")).contains("jti")).count(), victim.quarantine().toString());
    assertWellFormed(victim.quarantine());
  }

  @Test
  @Order(8)
  void aFloodOfGarbageKeepsTheQuarantineAndTheLogWithinTheirBounds() throws Exception {
    Random random = new Random(11);
    int garbage = 6000;
    long warnBefore = NodeProcess.count(node.wholeLog(), "rejected message");
    List<MessageSender.Publishing> pending = new ArrayList<>();
    for (int i = 0; i < garbage; i++) {
      byte[] bytes = new byte[200 + random.nextInt(800)];
      random.nextBytes(bytes);
      pending.add(publisher.publishAsync(victim.name, bytes));
      if (pending.size() == 200) {
        for (MessageSender.Publishing p : pending) {
          p.waitForCompletion(WITHIN);
        }
        pending.clear();
      }
    }
    for (MessageSender.Publishing p : pending) {
      p.waitForCompletion(WITHIN);
    }
    stillDelivers("a flood of garbage");
    // Retention deletes the oldest rows once the quarantine's rows sum up to more than the limit.
    long kept = StoredRecords.query(victim.dataPath, "SELECT COALESCE(SUM(size), 0) FROM quarantine",
        row -> row.getLong(1)).get(0);
    assertTrue(kept <= QUARANTINE_LIMIT, kept + " bytes kept in the quarantine, more than " + QUARANTINE_LIMIT);
    assertTrue(node.log().contains("retention: deleted the"), "the quarantine was never trimmed: " + node.tail());
    long warnLines = NodeProcess.count(node.wholeLog(), "rejected message") - warnBefore;
    assertTrue(warnLines <= 3 * 20, "the log grew with the flood: " + warnLines + " lines");
    assertTrue(node.log().contains("further ones are counted and quarantined"), node.tail());
  }

  @Test
  @Order(9)
  void aFloodOfLargeMessagesFromMadeUpSendersUnderADeadZoneStaysOnDiskWithinTheBounds() throws Exception {
    int messages = 1500;
    String text = "x".repeat(30_000); // about 54 KB once signed and encrypted
    List<MessageSender.Publishing> pending = new ArrayList<>();
    for (int i = 0; i < messages; i++) {
      DnsName fake = DnsName.parse("fake" + (i % 30) + "." + DEAD_ZONE);
      byte[] payload = forge().jwsHeader("x5u", DnsUri.of(fake)).claim("iss", fake.toString())
          .claim("msg", text).build();
      pending.add(publisher.publishAsync(victim.name, payload));
      if (pending.size() == 50) {
        for (MessageSender.Publishing p : pending) {
          p.waitForCompletion(WITHIN);
        }
        pending.clear();
        peakRss = Math.max(peakRss, node.memory("VmHWM"));
      }
    }
    for (MessageSender.Publishing p : pending) {
      p.waitForCompletion(WITHIN);
    }
    Poll.until(Duration.ofSeconds(120), () -> parkedFiles() + quarantinedAs(Refusal.PARKING_FULL).size()
        + quarantinedAs("SENDER_KEYS_UNAVAILABLE").size() >= messages,
        () -> "not all settled: parked " + parkedFiles() + ", full " + quarantinedAs(Refusal.PARKING_FULL).size());
    stillDelivers("a flood of large messages from made-up senders");
    long parkedBytes = parkedBytes();
    assertTrue(parkedBytes <= 32L << 20, "parked " + parkedBytes + " bytes, more than the zone's share");
    assertFalse(node.log().contains("OutOfMemoryError"), node.tail());

    // A restart lists the parked files without reading them all into memory.
    node.stop();
    node.start(WITHIN);
    stillDelivers("a restart with a full parking");
    assertFalse(node.log().contains("OutOfMemoryError"), node.tail());
    System.out.printf("HostileBrokerTest: flood of %d messages: %d parked (%.1f MB), %d refused as PARKING_FULL%n",
        messages, parkedFiles(), parkedBytes / 1048576.0, quarantinedAs(Refusal.PARKING_FULL).size());
  }

  @Test
  @Order(10)
  void aFloodOfMadeUpSenderNamesNeitherHoldsUpAKnownSenderNorFloodsTheLog() throws Exception {
    int names = 3000;
    long warnBefore = NodeProcess.count(node.wholeLog(), "WARN");
    List<MessageSender.Publishing> pending = new ArrayList<>();
    for (int i = 0; i < names; i++) {
      DnsName fake = DnsName.parse("made-up-" + i + ".z" + (i % 50) + ".nowhere.test");
      pending.add(publisher.publishAsync(victim.name,
          forge().jwsHeader("x5u", DnsUri.of(fake)).claim("iss", fake.toString()).build()));
      if (pending.size() == 200) {
        for (MessageSender.Publishing p : pending) {
          p.waitForCompletion(WITHIN);
        }
        pending.clear();
        stillDelivers("made-up sender names (" + i + ")"); // a known sender is not held up meanwhile
      }
    }
    for (MessageSender.Publishing p : pending) {
      p.waitForCompletion(WITHIN);
    }
    stillDelivers("a flood of made-up sender names");
    long warnLines = NodeProcess.count(node.wholeLog(), "WARN") - warnBefore;
    assertTrue(warnLines < 200, "the log grew with the flood: " + warnLines + " WARN lines for " + names + " names");
  }

  @Test
  @Order(11)
  void theDataFolderAndTheFilesHoldingMessagesAreTheNodesOwn() throws Exception {
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(victim.dataPath)));
    for (String file : List.of(MessageStore.FILE, MessageStore.FILE + "-wal", MessageStore.FILE + "-shm",
        "mqtt-client-id")) {
      assertEquals("rw-------", PosixFilePermissions.toString(
          Files.getPosixFilePermissions(victim.dataPath.resolve(file))), file);
    }
  }

  private static long parkedFiles() {
    return StoredRecords.count(victim.dataPath, "parked");
  }

  private static long parkedBytes() {
    return StoredRecords.query(victim.dataPath, "SELECT COALESCE(SUM(size), 0) FROM parked", row -> row.getLong(1))
        .get(0);
  }

  /** Every string the node recorded is valid Unicode (so valid UTF-8 in any output). */
  private static void assertWellFormed(List<Map<String, Object>> records) {
    for (Map<String, Object> record : records) {
      for (Object value : record.values()) {
        if (value instanceof String text) {
          assertEquals(SafeText.wellFormed(text), text, record.toString());
        }
      }
    }
  }

  private static void assertValidUtf8(Path file) throws Exception {
    StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file)));
  }
}
