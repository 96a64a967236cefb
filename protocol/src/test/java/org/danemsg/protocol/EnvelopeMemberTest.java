package org.danemsg.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.danemsg.protocol.Rejection.Reason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every member of every JSON object in a message (JWE header, JWS header, claims; both profiles) is
 * type-checked: a wrong type, a duplicate or an unknown member gives the reason that member's check
 * gives, with a detail that names the member and no Java internals. The messages are properly signed
 * and encrypted ({@link RawMessage}), so each change reaches the member checks.
 */
class EnvelopeMemberTest {

  private static final DeviceIdentity ALICE = TestIdentities.of("alice._device.example.test", KeyType.EC_P256);
  private static final DeviceIdentity BOB = TestIdentities.of("bob._device.example.test", KeyType.EC_P256);
  private static final DeviceIdentity LEGACY_ALICE = LegacyVectors.identity(LegacyVectors.ALICE);
  private static final DeviceIdentity LEGACY_BOB = LegacyVectors.identity(LegacyVectors.BOB);

  private static final Envelope ENVELOPE = new Envelope(Envelope.Settings.defaults()
      .withLegacyPeers(LegacyPeers.of(List.of("alice._device.example.test"))));

  /** Values of every JSON type but string, and numbers no seconds field can hold. */
  private static final List<String> NOT_STRINGS = List.of("[\"x\"]", "[]", "{\"a\":{\"b\":1}}", "null", "true",
      "1e309", "9223372036854775808", "-1", "1.5");

  enum Target {
    NATIVE_JWE(Map.of("alg", Reason.ENCRYPTION_ALGORITHM_NOT_ALLOWED, "enc", Reason.ENCRYPTION_ALGORITHM_NOT_ALLOWED,
        "kid", Reason.NOT_FOR_THIS_NODE, "x5u", Reason.NOT_FOR_THIS_NODE, "cty", Reason.UNSUPPORTED_SERIALIZATION,
        "epk", Reason.NOT_A_JWE), Reason.NOT_A_JWE, m -> m.jweHeader),
    NATIVE_JWS(Map.of("alg", Reason.SIGNATURE_ALGORITHM_NOT_ALLOWED, "x5u", Reason.SENDER_URI_INVALID,
        "typ", Reason.UNSUPPORTED_SERIALIZATION), Reason.CONTENT_NOT_A_JWS, m -> m.jwsHeader),
    CLAIMS(Map.of("iss", Reason.CLAIMS_INVALID, "aud", Reason.CLAIMS_INVALID, "iat", Reason.CLAIMS_INVALID,
        "exp", Reason.CLAIMS_INVALID, "jti", Reason.CLAIMS_INVALID, "msg", Reason.CLAIMS_INVALID),
        Reason.CLAIMS_INVALID, m -> m.claims),
    LEGACY_JWE(Map.of("alg", Reason.ENCRYPTION_ALGORITHM_NOT_ALLOWED, "enc", Reason.ENCRYPTION_ALGORITHM_NOT_ALLOWED,
        "typ", Reason.UNSUPPORTED_SERIALIZATION, "x5u", Reason.NOT_FOR_THIS_NODE), Reason.NOT_A_JWE, m -> m.jweHeader),
    LEGACY_JWS(Map.of("alg", Reason.SIGNATURE_ALGORITHM_NOT_ALLOWED, "x5u", Reason.SENDER_URI_INVALID),
        Reason.CONTENT_NOT_A_JWS, m -> m.jwsHeader);

    final Map<String, Reason> reasonByMember;
    final Reason duplicateReason;
    final Function<RawMessage, JsonText> json;

    Target(Map<String, Reason> reasonByMember, Reason duplicateReason, Function<RawMessage, JsonText> json) {
      this.reasonByMember = reasonByMember;
      this.duplicateReason = duplicateReason;
      this.json = json;
    }

    boolean legacy() {
      return name().startsWith("LEGACY");
    }

    RawMessage message() {
      return legacy()
          ? RawMessage.legacyMessage(LEGACY_ALICE, LEGACY_BOB.name(), LEGACY_BOB.publicKey())
          : RawMessage.nativeMessage(ALICE, BOB.name(), BOB.publicKey());
    }
  }

  private static Envelope.OpenResult open(Target target, byte[] payload) {
    DeviceIdentity bob = target.legacy() ? LEGACY_BOB : BOB;
    PublicKey alice = (target.legacy() ? LEGACY_ALICE : ALICE).publicKey();
    return ENVELOPE.open(payload, bob.name(), List.of(bob), name -> new Envelope.SenderKeys.Found(List.of(alice)));
  }

  /** The rejection, checked to be readable: safe, naming {@code member} (unless null), no Java internals. */
  private static Rejection rejected(Envelope.OpenResult result, Reason expected, String member) {
    Envelope.Rejected r = assertInstanceOf(Envelope.Rejected.class, result, () -> "opened, expected " + expected);
    Rejection rejection = r.rejection();
    assertEquals(expected, rejection.reason(), rejection::toString);
    String detail = rejection.detail();
    assertTrue(SafeText.isSafeLine(detail), detail);
    if (member != null) {
      assertTrue(detail.contains("'" + member + "'"), () -> "the detail does not name '" + member + "': " + detail);
    }
    for (String internal : List.of("java.", "Exception", "ArrayList", "LinkedHashMap", "class ", "Infinity")) {
      assertFalse(detail.contains(internal), () -> "the detail shows Java internals: " + detail);
    }
    return rejection;
  }

  static Stream<Arguments> membersWithNonStringValues() {
    List<Arguments> cases = new ArrayList<>();
    for (Target target : Target.values()) {
      for (String member : target.reasonByMember.keySet()) {
        for (String value : NOT_STRINGS) {
          if (!member.equals("epk") || !value.startsWith("{")) {
            cases.add(Arguments.of(target, member, value));
          }
        }
      }
    }
    return cases.stream();
  }

  @Test
  void theUnchangedMessagesOpen() throws Exception {
    for (Target target : Target.values()) {
      Envelope.OpenResult result = open(target, target.message().build());
      assertInstanceOf(Envelope.Opened.class, result, () -> target + ": " + result);
    }
  }

  @ParameterizedTest(name = "{0} {1} = {2}")
  @MethodSource("membersWithNonStringValues")
  void aMemberOfTheWrongTypeIsRejectedWithItsName(Target target, String member, String value) throws Exception {
    RawMessage message = target.message();
    boolean secondsField = member.equals("iat") || member.equals("exp");
    target.json.apply(message).raw(member, value);
    Rejection r = rejected(open(target, message.build()), target.reasonByMember.get(member), member);
    if (!secondsField && !member.equals("epk")) {
      assertTrue(r.detail().contains("must be a string"), r::toString);
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("everyMember")
  void aMissingMemberIsRejectedWithItsName(Target target, String member) throws Exception {
    RawMessage message = target.message();
    target.json.apply(message).remove(member);
    Reason expected = target == Target.NATIVE_JWS && member.equals("x5u") ? Reason.SENDER_URI_MISSING
        : target == Target.LEGACY_JWS && member.equals("x5u") ? Reason.SENDER_URI_MISSING
        : target.reasonByMember.get(member);
    rejected(open(target, message.build()), expected, member);
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("everyMember")
  void aDuplicateMemberIsRejected(Target target, String member) throws Exception {
    RawMessage message = target.message();
    JsonText json = target.json.apply(message);
    json.append(member, json.rawValue(member));
    Rejection r = rejected(open(target, message.build()), target.duplicateReason, member);
    assertTrue(r.detail().contains("appears twice"), r::toString);
  }

  static Stream<Arguments> everyMember() {
    return Stream.of(Target.values())
        .flatMap(t -> t.reasonByMember.keySet().stream().sorted().map(m -> Arguments.of(t, m)));
  }

  static Stream<Arguments> unknownMembers() {
    List<Arguments> cases = new ArrayList<>();
    for (Target target : Target.values()) {
      for (String member : List.of("typ", "kid", "crit", "jku", "jwk", "x5c", "x5t", "cty", "apu", "nbf", "sub",
          "extra")) {
        if (!target.reasonByMember.containsKey(member)) {
          cases.add(Arguments.of(target, member));
        }
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("unknownMembers")
  void anUnknownMemberIsRejectedNotIgnored(Target target, String member) throws Exception {
    RawMessage message = target.message();
    target.json.apply(message).string(member, "x");
    Reason expected = target == Target.CLAIMS ? Reason.CLAIMS_INVALID : Reason.UNSUPPORTED_SERIALIZATION;
    rejected(open(target, message.build()), expected, member);
  }

  @Test
  void aCompressedJweIsRefusedWhateverItsZipSays() throws Exception {
    RawMessage message = Target.NATIVE_JWE.message();
    message.jweHeader.raw("zip", "[\"DEF\"]");
    rejected(open(Target.NATIVE_JWE, message.build()), Reason.ENCRYPTION_ALGORITHM_NOT_ALLOWED, "zip");
  }

  @Test
  void aStringWithALoneSurrogateIsNotText() throws Exception {
    RawMessage message = Target.CLAIMS.message();
    message.claims.raw("msg", "\"hi \\ud800\"");
    Rejection r = rejected(open(Target.CLAIMS, message.build()), Reason.CLAIMS_INVALID, "msg");
    assertTrue(r.detail().contains("surrogate"), r::toString);
  }

  @Test
  void aHugeSecondsValueIsRefusedWithoutBeingConverted() throws Exception {
    RawMessage message = Target.CLAIMS.message();
    message.claims.raw("exp", "1" + "0".repeat(5000));
    Rejection r = rejected(open(Target.CLAIMS, message.build()), Reason.CLAIMS_INVALID, "exp");
    assertTrue(r.detail().contains("outside 0..253402300799"), r::toString);
  }

  @Test
  void aDeeplyNestedValueIsRefusedWithoutExhaustingTheStack() throws Exception {
    RawMessage message = Target.NATIVE_JWS.message();
    message.jwsHeader.raw("x5u", "[".repeat(10_000) + "]".repeat(10_000));
    Rejection r = rejected(open(Target.NATIVE_JWS, message.build()), Reason.CONTENT_NOT_A_JWS, null);
    assertTrue(r.detail().contains("nested deeper"), r::toString);
  }

  @Test
  void anIssuedAtWithAFractionIsNotWholeSeconds() throws Exception {
    RawMessage message = Target.CLAIMS.message();
    message.claims.raw("iat", message.claims.rawValue("iat") + ".0");
    Rejection r = rejected(open(Target.CLAIMS, message.build()), Reason.CLAIMS_INVALID, "iat");
    assertTrue(r.detail().contains("whole number"), r::toString);
  }

  @Test
  void aJsonSyntaxErrorInAHeaderIsDescribedNotThrown() throws Exception {
    // Trailing commas and raw control characters pass lenient readers; not this one.
    String header = "{\"alg\":\"ES256\",\"x5u\":\"" + DnsUri.of(ALICE.name()) + "\",\"typ\":\"JWT\",}";
    String jws = RawJose.sign(header, RawMessage.nativeMessage(ALICE, BOB.name(), BOB.publicKey()).claims.toString()
        .getBytes(java.nio.charset.StandardCharsets.UTF_8), ALICE.privateKey());
    RawMessage carrier = Target.NATIVE_JWE.message();
    byte[] payload = RawJose.encrypt(carrier.jweHeader.toString(), "ECDH-ES", "A256GCM",
        jws.getBytes(java.nio.charset.StandardCharsets.US_ASCII), BOB.publicKey())
        .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    rejected(open(Target.NATIVE_JWE, payload), Reason.CONTENT_NOT_A_JWS, null);
  }
}
