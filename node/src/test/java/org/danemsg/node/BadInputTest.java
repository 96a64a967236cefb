package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.DnsUri;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.MessageForge;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every kind of bad input is rejected with its own reason, logged, counted and quarantined, and the
 * valid message sent right after it is delivered: no bad message stops or wedges the pipeline.
 */
class BadInputTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final Duration WITHIN = Duration.ofSeconds(20);
  private static TestDevice receiver;
  private static TestDevice sender;
  private static TestDevice other;
  private static Node node;
  private static MessageSender publisher;

  @BeforeAll
  static void start() throws Exception {
    receiver = TestDevice.published(knot, broker, "target", KeyType.EC_P256).with("max-message-size", 8192);
    sender = TestDevice.published(knot, broker, "sender", KeyType.EC_P256);
    other = TestDevice.published(knot, broker, "other", KeyType.EC_P256);
    node = receiver.start();
    publisher = sender.sender();
  }

  @AfterAll
  static void stop() {
    publisher.close();
    node.stop();
  }

  enum BadInput {
    GARBAGE_BYTES("NOT_A_JWE"),
    EMPTY_PAYLOAD("EMPTY"),
    WRONG_RECIPIENT("AUDIENCE_MISMATCH"),
    FORGED_SENDER("SIGNATURE_INVALID"),
    REPLAYED_CAPTURE(Refusal.REPLAY),
    OVERSIZE_PAYLOAD("TOO_LARGE"),
    COMPACT_JWS_NOT_JWE("NOT_ENCRYPTED"),
    JWE_CONTENT_NOT_JWS("CONTENT_NOT_A_JWS"),
    X5U_MISSING("SENDER_URI_MISSING"),
    X5U_NOT_DNS_URI("SENDER_URI_INVALID"),
    X5U_NAME_WITHOUT_TLSA("SENDER_KEYS_UNAVAILABLE");

    final String reason;

    BadInput(String reason) {
      this.reason = reason;
    }
  }

  private static MessageForge forge() {
    return new MessageForge(sender.identity, receiver.name, receiver.identity.publicKey());
  }

  private static byte[] payload(BadInput input) throws Exception {
    return switch (input) {
      case GARBAGE_BYTES -> {
        byte[] garbage = new byte[300];
        new Random(7).nextBytes(garbage);
        yield garbage;
      }
      case EMPTY_PAYLOAD -> new byte[0];
      case WRONG_RECIPIENT -> forge().claim("aud", other.name.toString()).build();
      case FORGED_SENDER -> {
        DeviceIdentity impostor = DeviceIdentity.generate(sender.name, KeyType.EC_P256, Duration.ofDays(1));
        yield forge().signWith(impostor.privateKey()).build();
      }
      case REPLAYED_CAPTURE -> {
        byte[] captured = publisher.seal(receiver.name, "captured original", Profile.NATIVE);
        publisher.publish(receiver.name, captured);
        receiver.awaitDelivered("captured original", WITHIN);
        yield captured;
      }
      case OVERSIZE_PAYLOAD -> ("x".repeat(9000)).getBytes(StandardCharsets.US_ASCII);
      case COMPACT_JWS_NOT_JWE -> forge().signedPart().getBytes(StandardCharsets.US_ASCII);
      case JWE_CONTENT_NOT_JWS -> forge().innerContent("plain words, no signature").build();
      case X5U_MISSING -> forge().jwsHeader("x5u", null).build();
      case X5U_NOT_DNS_URI -> forge().jwsHeader("x5u", "https://example.com/cert.pem").build();
      case X5U_NAME_WITHOUT_TLSA -> forge().jwsHeader("x5u", DnsUri.of(knot.nameWithoutTlsa())).build();
    };
  }

  @ParameterizedTest
  @EnumSource(BadInput.class)
  void badInputIsRejectedWithItsReasonAndTheNextMessageIsDelivered(BadInput input) throws Exception {
    byte[] bad = payload(input);
    int quarantinedBefore = receiver.quarantine().size();
    publisher.publish(receiver.name, bad);
    String next = "valid after " + input;
    publisher.send(receiver.name, next, Profile.NATIVE);
    receiver.awaitDelivered(next, WITHIN);

    List<Map<String, Object>> quarantine = receiver.quarantine();
    assertEquals(quarantinedBefore + 1, quarantine.size(), "quarantine: " + quarantine);
    Map<String, Object> entry = quarantine.get(quarantine.size() - 1);
    assertEquals(input.reason, entry.get("reason"), entry.toString());
    if (input == BadInput.OVERSIZE_PAYLOAD) {
      // Dropped as it arrived (PublishSizeGuard): nothing of it is kept, the detail says its size.
      assertEquals(0L, entry.get("payload-size"), entry.toString());
      assertTrue(String.valueOf(entry.get("detail")).contains("has " + bad.length + " bytes"), entry.toString());
    } else {
      assertEquals((long) bad.length, entry.get("payload-size"), entry.toString());
    }
    assertFalse(String.valueOf(entry.get("detail")).isBlank());
    assertTrue(node.health().join().rejected().getOrDefault(input.reason, 0L) >= 1,
        "not counted: " + node.health().join());
    assertFalse(LogRecorder.linesWith("WARN", "rejected message", input.reason).isEmpty(),
        "no WARN line for " + input.reason);
    assertFalse(receiver.inboxTexts().contains("forged hello"), "a forged message was delivered");
  }
}
