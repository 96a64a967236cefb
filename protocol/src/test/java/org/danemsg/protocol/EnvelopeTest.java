package org.danemsg.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import javax.crypto.spec.SecretKeySpec;
import org.danemsg.protocol.Rejection.Reason;
import org.jose4j.json.JsonUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EnvelopeTest {

  private static final DeviceIdentity ALICE_EC = TestIdentities.of("alice._device.example.test", KeyType.EC_P256);
  private static final DeviceIdentity BOB_EC = TestIdentities.of("bob._device.example.test", KeyType.EC_P256);
  private static final DeviceIdentity ALICE_RSA = TestIdentities.of("alice._device.example.test", KeyType.RSA);
  private static final DeviceIdentity BOB_RSA = TestIdentities.of("bob._device.example.test", KeyType.RSA);
  private static final DeviceIdentity MALLORY = TestIdentities.of("mallory._device.example.test", KeyType.EC_P256);

  private final Envelope envelope = new Envelope();
  /** Accepts legacy messages from alice. */
  private final Envelope legacyEnvelope = new Envelope(Envelope.Settings.defaults()
      .withLegacyPeers(LegacyPeers.of(List.of("alice._device.example.test"))));

  private static Envelope.SenderKeySource publishing(DeviceIdentity... identities) {
    return name -> {
      List<PublicKey> keys = java.util.Arrays.stream(identities)
          .filter(i -> i.name().equals(name)).map(DeviceIdentity::publicKey).toList();
      return keys.isEmpty()
          ? new Envelope.SenderKeys.Unavailable("no TLSA record at " + name)
          : new Envelope.SenderKeys.Found(keys);
    };
  }

  private Envelope.OpenResult openAsBob(byte[] payload, DeviceIdentity bob, Envelope.SenderKeySource keys) {
    return envelope.open(payload, bob.name(), List.of(bob), keys);
  }

  private static OpenedMessage opened(Envelope.OpenResult result) {
    if (result instanceof Envelope.Rejected r) {
      throw new AssertionError("rejected: " + r.rejection());
    }
    return ((Envelope.Opened) result).message();
  }

  private static Rejection rejected(Envelope.OpenResult result, Reason expected) {
    Envelope.Rejected r = assertInstanceOf(Envelope.Rejected.class, result, () -> "expected " + expected);
    assertEquals(expected, r.rejection().reason(), r.rejection()::toString);
    assertTrue(r.rejection().detail().length() > 10, r.rejection()::toString);
    return r.rejection();
  }

  // --- round trips ----------------------------------------------------------------------------

  @ParameterizedTest(name = "{0} sender to {1} recipient")
  @CsvSource({"EC_P256,EC_P256", "EC_P256,RSA", "RSA,EC_P256", "RSA,RSA"})
  void nativeRoundTripCarriesTextAndClaims(KeyType senderType, KeyType recipientType) throws Exception {
    DeviceIdentity alice = senderType == KeyType.RSA ? ALICE_RSA : ALICE_EC;
    DeviceIdentity bob = recipientType == KeyType.RSA ? BOB_RSA : BOB_EC;
    String text = "Hello Bob \u00e9\u20ac\ud83d\ude00 \"quoted\" \\ <tag> & \n newline";
    Instant before = Instant.now().minusSeconds(1);
    byte[] payload = envelope.seal(text, alice, bob.name(), bob.publicKey());

    OpenedMessage message = opened(openAsBob(payload, bob, publishing(alice)));
    assertEquals(alice.name(), message.sender());
    assertEquals(bob.name(), message.recipient());
    assertEquals(text, message.text());
    assertEquals(Profile.NATIVE, message.profile());
    assertNotNull(message.id());
    assertTrue(!message.sentAt().isBefore(before.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)));
    assertEquals(Duration.ofDays(7), Duration.between(message.sentAt(), message.expiresAt()));
  }

  @Test
  void nativeHeadersNameTheRecipientKeyAndTheSender() throws Exception {
    byte[] payload = envelope.seal("hi", ALICE_EC, BOB_RSA.name(), BOB_RSA.publicKey());
    String[] parts = new String(payload, StandardCharsets.US_ASCII).split("\\.");
    assertEquals(5, parts.length);
    Map<String, Object> header = JsonUtil.parseJson(new String(
        java.util.Base64.getUrlDecoder().decode(parts[0]), StandardCharsets.UTF_8));
    assertEquals("RSA-OAEP-256", header.get("alg"));
    assertEquals("A256GCM", header.get("enc"));
    assertEquals(BOB_RSA.keyId(), header.get("kid"));
    assertEquals("dns://bob._device.example.test?type=TLSA", header.get("x5u"));
    assertEquals(null, header.get("zip"));
  }

  @Test
  void messageIdsAreUnique() throws Exception {
    var first = opened(openAsBob(envelope.seal("a", ALICE_EC, BOB_EC.name(), BOB_EC.publicKey()), BOB_EC, publishing(ALICE_EC)));
    var second = opened(openAsBob(envelope.seal("a", ALICE_EC, BOB_EC.name(), BOB_EC.publicKey()), BOB_EC, publishing(ALICE_EC)));
    assertTrue(!first.id().equals(second.id()));
  }

  @Test
  void oneSendersIdsSortInSendingOrder() throws Exception {
    // Receivers keep ids in a B-tree by sender and id: ids that grow with time land at its end.
    Instant start = Instant.now();
    List<String> ids = new java.util.ArrayList<>();
    for (Duration later : List.of(Duration.ZERO, Duration.ofMillis(1), Duration.ofMillis(61),
        Duration.ofSeconds(62), Duration.ofDays(29))) {
      Envelope at = new Envelope(Envelope.Settings.defaults()
          .withClock(Clock.fixed(start.plus(later), ZoneOffset.UTC)));
      Envelope.Sealed sealed = at.sealMessage("t", ALICE_EC, BOB_EC.name(), BOB_EC.publicKey(), Profile.NATIVE);
      assertEquals(24, sealed.id().length(), sealed.id());
      assertTrue(Envelope.isSafeMessageId(sealed.id()), sealed.id());
      ids.add(sealed.id());
    }
    List<String> sorted = new java.util.ArrayList<>(ids);
    java.util.Collections.sort(sorted);
    assertEquals(ids, sorted);
    // the same millisecond: still two ids, told apart by their 96 random bits
    Envelope frozen = new Envelope(Envelope.Settings.defaults().withClock(Clock.fixed(start, ZoneOffset.UTC)));
    String a = frozen.sealMessage("t", ALICE_EC, BOB_EC.name(), BOB_EC.publicKey(), Profile.NATIVE).id();
    String b = frozen.sealMessage("t", ALICE_EC, BOB_EC.name(), BOB_EC.publicKey(), Profile.NATIVE).id();
    assertEquals(a.substring(0, 8), b.substring(0, 8));
    assertTrue(!a.equals(b));
  }

  @Test
  void aSealedMessageNamesTheIdItsRecipientWillSee() throws Exception {
    Envelope.Sealed nativeSealed = envelope.sealMessage("n", ALICE_EC, BOB_EC.name(), BOB_EC.publicKey(),
        Profile.NATIVE);
    assertEquals(nativeSealed.id(), opened(openAsBob(nativeSealed.payload(), BOB_EC, publishing(ALICE_EC))).id());
    Envelope.Sealed legacySealed = envelope.sealMessage("l", ALICE_RSA, BOB_RSA.name(), BOB_RSA.publicKey(),
        Profile.LEGACY);
    assertEquals(legacySealed.id(), opened(legacyEnvelope.open(legacySealed.payload(), BOB_RSA.name(),
        List.of(BOB_RSA), publishing(ALICE_RSA))).id());
  }

  @Test
  void legacyRoundTrip() throws Exception {
    byte[] payload = envelope.seal("old style", ALICE_RSA, BOB_RSA.name(), BOB_RSA.publicKey(), Profile.LEGACY);
    OpenedMessage message = opened(legacyEnvelope.open(payload, BOB_RSA.name(), List.of(BOB_RSA),
        publishing(ALICE_RSA)));
    assertEquals("old style", message.text());
    assertEquals(Profile.LEGACY, message.profile());
    assertTrue(message.id().startsWith("sha256-"), message.id());
    assertNull(message.expiresAt());
  }

  @Test
  void verifiesUnderAnyOfSeveralPublishedKeysDuringRollover() throws Exception {
    DeviceIdentity aliceNext = TestIdentities.fresh("alice._device.example.test", KeyType.EC_P256);
    byte[] payload = envelope.seal("rolled", aliceNext, BOB_EC.name(), BOB_EC.publicKey());
    assertEquals("rolled", opened(openAsBob(payload, BOB_EC, publishing(ALICE_EC, aliceNext))).text());
  }

  /** The envelope keeps the last sender's key made ready for signing: a sender after another signs with its own. */
  @Test
  void sendersTakingTurnsOnOneEnvelopeEachSignWithTheirOwnKey() throws Exception {
    DeviceIdentity aliceNext = TestIdentities.fresh("alice._device.example.test", KeyType.EC_P256);
    for (DeviceIdentity sender : List.of(ALICE_EC, aliceNext, MALLORY, ALICE_RSA, ALICE_EC, aliceNext, ALICE_EC)) {
      byte[] payload = envelope.seal("from " + sender.keyType(), sender, BOB_EC.name(), BOB_EC.publicKey());
      assertEquals("from " + sender.keyType(), opened(openAsBob(payload, BOB_EC, publishing(sender))).text(),
          "signed with the key of the identity that sealed it");
    }
  }

  @Test
  void decryptsWithEitherOwnKeyDuringRollover() throws Exception {
    DeviceIdentity bobNext = TestIdentities.fresh("bob._device.example.test", KeyType.EC_P256);
    byte[] toOld = envelope.seal("old", ALICE_EC, BOB_EC.name(), BOB_EC.publicKey());
    byte[] toNew = envelope.seal("new", ALICE_EC, BOB_EC.name(), bobNext.publicKey());
    List<DeviceIdentity> both = List.of(bobNext, BOB_EC);
    assertEquals("old", opened(envelope.open(toOld, BOB_EC.name(), both, publishing(ALICE_EC))).text());
    assertEquals("new", opened(envelope.open(toNew, BOB_EC.name(), both, publishing(ALICE_EC))).text());
  }

  @Test
  void twoStepOpenNamesTheClaimedSenderBeforeAnyLookup() throws Exception {
    byte[] payload = envelope.seal("two steps", ALICE_EC, BOB_EC.name(), BOB_EC.publicKey());
    var decrypted = assertInstanceOf(Envelope.Decrypted.class,
        envelope.decrypt(payload, BOB_EC.name(), List.of(BOB_EC)));
    assertEquals(ALICE_EC.name(), decrypted.message().claimedSender());
    var result = envelope.verify(decrypted.message(), List.of(ALICE_EC.publicKey()));
    assertEquals("two steps", opened(result).text());
  }

  // --- sealing errors -------------------------------------------------------------------------

  @Test
  void refusesToSealAMessageOverTheLimit() {
    Envelope small = new Envelope(Envelope.Settings.defaults().withMaxPayloadBytes(2048));
    SealException e = assertThrows(SealException.class,
        () -> small.seal("x".repeat(3000), ALICE_EC, BOB_EC.name(), BOB_EC.publicKey()));
    assertTrue(e.getMessage().contains("too large"), e.getMessage());
  }

  @Test
  void legacyProfileNeedsRsaOnBothSides() {
    SealException sender = assertThrows(SealException.class,
        () -> envelope.seal("x", ALICE_EC, BOB_RSA.name(), BOB_RSA.publicKey(), Profile.LEGACY));
    assertTrue(sender.getMessage().contains("RSA sender"), sender.getMessage());
    SealException recipient = assertThrows(SealException.class,
        () -> envelope.seal("x", ALICE_RSA, BOB_EC.name(), BOB_EC.publicKey(), Profile.LEGACY));
    assertTrue(recipient.getMessage().contains("RSA recipient"), recipient.getMessage());
  }

  // --- one test per rejection reason ----------------------------------------------------------

  @Test
  void rejectsAPayloadOverTheSizeLimitBeforeParsing() {
    byte[] huge = new byte[Envelope.Settings.DEFAULT_MAX_PAYLOAD + 1];
    java.util.Arrays.fill(huge, (byte) '{');
    rejected(openAsBob(huge, BOB_EC, publishing(ALICE_EC)), Reason.TOO_LARGE);
  }

  @Test
  void rejectsAnEmptyPayload() {
    rejected(openAsBob(new byte[0], BOB_EC, publishing(ALICE_EC)), Reason.EMPTY);
  }

  @Test
  void rejectsGarbage() {
    rejected(openAsBob("hello there".getBytes(StandardCharsets.US_ASCII), BOB_EC, publishing(ALICE_EC)), Reason.NOT_A_JWE);
    rejected(openAsBob(new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1}, BOB_EC, publishing(ALICE_EC)), Reason.NOT_A_JWE);
    rejected(openAsBob("{\"not\":".getBytes(StandardCharsets.US_ASCII), BOB_EC, publishing(ALICE_EC)), Reason.NOT_A_JWE);
    rejected(openAsBob("a.b.c.d.e".getBytes(StandardCharsets.US_ASCII), BOB_EC, publishing(ALICE_EC)), Reason.NOT_A_JWE);
  }

  @Test
  void rejectsABareJwsAsNotEncrypted() throws Exception {
    String jws = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey()).signedPart();
    rejected(openAsBob(jws.getBytes(StandardCharsets.US_ASCII), BOB_EC, publishing(ALICE_EC)), Reason.NOT_ENCRYPTED);
  }

  @Test
  void rejectsJweJsonGeneralSerialization() {
    rejected(openAsBob(LegacyVectors.bytes("accepted-variant.payload.json"), LegacyVectors.identity(LegacyVectors.BOB),
        publishing(LegacyVectors.identity(LegacyVectors.ALICE))), Reason.UNSUPPORTED_SERIALIZATION);
  }

  @Test
  void rejectsAFlattenedJweWithAnUnprotectedHeader() {
    String payload = LegacyVectors.text("message-1.payload.json").replace("{\"ciphertext\"",
        "{\"header\":{\"kid\":\"x\"},\"ciphertext\"");
    rejected(openAsBob(payload.getBytes(StandardCharsets.US_ASCII), LegacyVectors.identity(LegacyVectors.BOB),
        publishing(LegacyVectors.identity(LegacyVectors.ALICE))), Reason.UNSUPPORTED_SERIALIZATION);
  }

  @ParameterizedTest
  @CsvSource({"alg,RSA1_5", "alg,RSA-OAEP", "enc,A128GCM", "enc,A128CBC-HS256"})
  void rejectsEncryptionAlgorithmsOffTheAllowList(String header, String value) throws Exception {
    byte[] payload = new MessageForge(ALICE_EC, BOB_RSA.name(), BOB_RSA.publicKey()).jweHeader(header, value).build();
    Rejection r = rejected(openAsBob(payload, BOB_RSA, publishing(ALICE_EC)), Reason.ENCRYPTION_ALGORITHM_NOT_ALLOWED);
    assertTrue(r.detail().contains(value), r.detail());
  }

  @Test
  void rejectsDirectEncryptionAndCompression() throws Exception {
    SecretKeySpec secret = new SecretKeySpec(new byte[32], "AES");
    byte[] dir = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey())
        .jweHeader("alg", "dir").build(secret);
    rejected(openAsBob(dir, BOB_EC, publishing(ALICE_EC)), Reason.ENCRYPTION_ALGORITHM_NOT_ALLOWED);
    byte[] zipped = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey()).jweHeader("zip", "DEF").build();
    rejected(openAsBob(zipped, BOB_EC, publishing(ALICE_EC)), Reason.ENCRYPTION_ALGORITHM_NOT_ALLOWED);
  }

  @Test
  void rejectsAJweAddressedToAnotherNode() throws Exception {
    byte[] payload = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey())
        .jweHeader("x5u", "dns://carol._device.example.test?type=TLSA").build();
    rejected(openAsBob(payload, BOB_EC, publishing(ALICE_EC)), Reason.NOT_FOR_THIS_NODE);
  }

  @Test
  void rejectsAJweWithoutRecipientOrWithAForeignKid() throws Exception {
    byte[] noX5u = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey()).jweHeader("x5u", null).build();
    rejected(openAsBob(noX5u, BOB_EC, publishing(ALICE_EC)), Reason.NOT_FOR_THIS_NODE);
    byte[] foreignKid = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey())
        .jweHeader("kid", MALLORY.keyId()).build();
    Rejection r = rejected(openAsBob(foreignKid, BOB_EC, publishing(ALICE_EC)), Reason.NOT_FOR_THIS_NODE);
    assertTrue(r.detail().contains("kid"), r.detail());
  }

  @Test
  void rejectsAJweThatDoesNotDecryptWithOurKey() throws Exception {
    byte[] payload = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey())
        .encryptTo(MALLORY.publicKey()).build();
    rejected(openAsBob(payload, BOB_EC, publishing(ALICE_EC)), Reason.DECRYPTION_FAILED);
  }

  @Test
  void rejectsAJweWhoseContentIsNotAJws() throws Exception {
    byte[] payload = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey()).innerContent("irrelevant").build();
    rejected(openAsBob(payload, BOB_EC, publishing(ALICE_EC)), Reason.CONTENT_NOT_A_JWS);
  }

  @Test
  void rejectsSignatureAlgorithmsOffTheAllowList() throws Exception {
    SecretKeySpec hmac = new SecretKeySpec(new byte[32], "HmacSHA256");
    byte[] hs256 = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey())
        .jwsHeader("alg", "HS256").signWith(hmac).build();
    rejected(openAsBob(hs256, BOB_EC, publishing(ALICE_EC)), Reason.SIGNATURE_ALGORITHM_NOT_ALLOWED);
    byte[] none = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey())
        .jwsHeader("alg", "none").signWith(null).build();
    rejected(openAsBob(none, BOB_EC, publishing(ALICE_EC)), Reason.SIGNATURE_ALGORITHM_NOT_ALLOWED);
  }

  @Test
  void rejectsAJwsWithoutSenderUri() throws Exception {
    byte[] payload = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey()).jwsHeader("x5u", null).build();
    rejected(openAsBob(payload, BOB_EC, publishing(ALICE_EC)), Reason.SENDER_URI_MISSING);
  }

  @Test
  void rejectsASenderUriThatIsNotDns() throws Exception {
    byte[] payload = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey())
        .jwsHeader("x5u", "https://alice.example.test/cert.pem").build();
    rejected(openAsBob(payload, BOB_EC, publishing(ALICE_EC)), Reason.SENDER_URI_INVALID);
  }

  @Test
  void rejectsASenderWithoutPublishedKeys() throws Exception {
    byte[] payload = envelope.seal("hi", ALICE_EC, BOB_EC.name(), BOB_EC.publicKey());
    Rejection r = rejected(openAsBob(payload, BOB_EC, publishing()), Reason.SENDER_KEYS_UNAVAILABLE);
    assertTrue(r.detail().contains("no TLSA record"), r.detail());
    assertEquals(ALICE_EC.name(), r.sender());
  }

  @Test
  void rejectsAForgedSender() throws Exception {
    // Mallory signs with her own key but names Alice as the sender.
    byte[] payload = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey())
        .signWith(MALLORY.privateKey()).build();
    rejected(openAsBob(payload, BOB_EC, publishing(ALICE_EC, MALLORY)), Reason.SIGNATURE_INVALID);
  }

  @Test
  void rejectsASignatureAlgorithmThatDoesNotFitThePublishedKeys() throws Exception {
    byte[] payload = envelope.seal("hi", ALICE_RSA, BOB_EC.name(), BOB_EC.publicKey());
    Rejection r = rejected(openAsBob(payload, BOB_EC, publishing(ALICE_EC)), Reason.SIGNATURE_INVALID);
    assertTrue(r.detail().contains("no key of that type"), r.detail());
  }

  @Test
  void rejectsMissingOrMistypedClaims() throws Exception {
    for (String claim : List.of("jti", "msg", "iat", "exp", "aud", "iss")) {
      byte[] payload = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey()).claim(claim, null).build();
      Rejection r = rejected(openAsBob(payload, BOB_EC, publishing(ALICE_EC)), Reason.CLAIMS_INVALID);
      assertTrue(r.detail().contains(claim), r.detail());
    }
    byte[] stringIat = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey()).claim("iat", "yesterday").build();
    rejected(openAsBob(stringIat, BOB_EC, publishing(ALICE_EC)), Reason.CLAIMS_INVALID);
    byte[] notClaims = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey()).build(m -> "[1,2]");
    rejected(openAsBob(notClaims, BOB_EC, publishing(ALICE_EC)), Reason.CLAIMS_INVALID);
  }

  @Test
  void rejectsAnOverlongLifetime() throws Exception {
    long now = Instant.now().getEpochSecond();
    byte[] payload = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey())
        .claim("iat", now).claim("exp", now + 365L * 86400).build();
    Rejection r = rejected(openAsBob(payload, BOB_EC, publishing(ALICE_EC)), Reason.CLAIMS_INVALID);
    assertTrue(r.detail().contains("stay valid"), r.detail());
  }

  @Test
  void rejectsAnIssuerThatDiffersFromTheSenderUri() throws Exception {
    byte[] payload = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey())
        .claim("iss", "mallory._device.example.test").build();
    rejected(openAsBob(payload, BOB_EC, publishing(ALICE_EC)), Reason.ISSUER_MISMATCH);
  }

  @Test
  void rejectsAMessageForAnotherAudience() throws Exception {
    byte[] payload = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey())
        .claim("aud", "carol._device.example.test").build();
    rejected(openAsBob(payload, BOB_EC, publishing(ALICE_EC)), Reason.AUDIENCE_MISMATCH);
  }

  @Test
  void rejectsAnExpiredMessage() throws Exception {
    Clock past = Clock.fixed(Instant.now().minus(Duration.ofDays(8)), ZoneOffset.UTC);
    byte[] payload = new Envelope(Envelope.Settings.defaults().withClock(past))
        .seal("old", ALICE_EC, BOB_EC.name(), BOB_EC.publicKey());
    rejected(openAsBob(payload, BOB_EC, publishing(ALICE_EC)), Reason.EXPIRED);
  }

  @Test
  void toleratesSixtySecondsOfClockSkew() throws Exception {
    Clock ahead = Clock.fixed(Instant.now().plusSeconds(50), ZoneOffset.UTC);
    byte[] payload = new Envelope(Envelope.Settings.defaults().withClock(ahead))
        .seal("skewed", ALICE_EC, BOB_EC.name(), BOB_EC.publicKey());
    assertEquals("skewed", opened(openAsBob(payload, BOB_EC, publishing(ALICE_EC))).text());
  }

  @Test
  void rejectsAMessageIssuedInTheFuture() throws Exception {
    Clock future = Clock.fixed(Instant.now().plus(Duration.ofMinutes(3)), ZoneOffset.UTC);
    byte[] payload = new Envelope(Envelope.Settings.defaults().withClock(future))
        .seal("later", ALICE_EC, BOB_EC.name(), BOB_EC.publicKey());
    rejected(openAsBob(payload, BOB_EC, publishing(ALICE_EC)), Reason.ISSUED_IN_FUTURE);
  }

  @Test
  void everyReasonHasATest() {
    // Keeps this class honest when a reason is added: name it in the list, then write its test.
    List<Reason> covered = List.of(Reason.TOO_LARGE, Reason.EMPTY, Reason.NOT_A_JWE, Reason.NOT_ENCRYPTED,
        Reason.UNSUPPORTED_SERIALIZATION, Reason.ENCRYPTION_ALGORITHM_NOT_ALLOWED, Reason.NOT_FOR_THIS_NODE,
        Reason.DECRYPTION_FAILED, Reason.CONTENT_NOT_A_JWS, Reason.LEGACY_DOWNGRADE,
        Reason.SIGNATURE_ALGORITHM_NOT_ALLOWED, Reason.SENDER_URI_MISSING, Reason.SENDER_URI_INVALID,
        Reason.LEGACY_NOT_ALLOWED, Reason.SENDER_KEYS_UNAVAILABLE,
        Reason.SIGNATURE_INVALID, Reason.CLAIMS_INVALID, Reason.ISSUER_MISMATCH, Reason.AUDIENCE_MISMATCH,
        Reason.EXPIRED, Reason.ISSUED_IN_FUTURE);
    assertEquals(java.util.EnumSet.allOf(Reason.class), java.util.EnumSet.copyOf(covered));
  }

  // --- tampering ------------------------------------------------------------------------------

  @ParameterizedTest(name = "{0}")
  @CsvSource({"NATIVE_EC", "NATIVE_RSA", "LEGACY"})
  void changingAnySingleByteGivesARejection(String kind) throws Exception {
    DeviceIdentity sender = kind.equals("NATIVE_EC") ? ALICE_EC : ALICE_RSA;
    DeviceIdentity bob = kind.equals("NATIVE_EC") ? BOB_EC : BOB_RSA;
    byte[] payload = envelope.seal("tamper with me", sender, bob.name(), bob.publicKey(),
        kind.equals("LEGACY") ? Profile.LEGACY : Profile.NATIVE);
    Envelope.SenderKeySource keys = publishing(sender);
    Envelope receiver = kind.equals("LEGACY") ? legacyEnvelope : envelope;
    assertInstanceOf(Envelope.Opened.class, receiver.open(payload, bob.name(), List.of(bob), keys));
    java.util.Random random = new java.util.Random(42);
    int step = Math.max(1, payload.length / 400);
    for (int i = 0; i < payload.length; i += step) {
      byte[] changed = payload.clone();
      byte original = changed[i];
      do {
        changed[i] = (byte) random.nextInt(256);
      } while (changed[i] == original);
      Envelope.OpenResult result = receiver.open(changed, bob.name(), List.of(bob), keys);
      int position = i;
      assertInstanceOf(Envelope.Rejected.class, result, () -> "byte " + position + " changed, still accepted");
    }
  }


  // --- message ids (jti) ------------------------------------------------------------------------

  @Test
  void sealedMessageIdsAreSafeMessageIds() throws Exception {
    for (int i = 0; i < 50; i++) {
      String id = opened(openAsBob(envelope.seal("id", ALICE_EC, BOB_EC.name(), BOB_EC.publicKey()), BOB_EC,
          publishing(ALICE_EC))).id();
      assertTrue(Envelope.isSafeMessageId(id), id);
    }
  }

  @ParameterizedTest(name = "jti ''{0}''")
  @org.junit.jupiter.params.provider.ValueSource(strings = {"seven77", "has space-0123", "new\nline-0123",
      "semi;colon-0123", "dot.dot.dot.dot", "slash/../../etc", "\u00fcmlaut-0123", "tab\tseparated",
      "0123456789012345678901234567890123456789012345678901234567890123x"})
  void rejectsAJtiOutsideTheSafeAlphabetOrLength(String jti) throws Exception {
    byte[] payload = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey()).claim("jti", jti).build();
    Rejection r = rejected(openAsBob(payload, BOB_EC, publishing(ALICE_EC)), Reason.CLAIMS_INVALID);
    assertTrue(r.detail().contains("jti"), r.detail());
    assertTrue(SafeText.isSafeLine(r.detail()), r.detail());
  }

  @ParameterizedTest(name = "jti of {0} characters")
  @org.junit.jupiter.params.provider.ValueSource(ints = {8, 22, 64})
  void acceptsAJtiOfEightToSixtyFourSafeCharacters(int length) throws Exception {
    String jti = "Ab0_-z9Y".repeat(8).substring(0, length);
    byte[] payload = new MessageForge(ALICE_EC, BOB_EC.name(), BOB_EC.publicKey()).claim("jti", jti).build();
    assertEquals(jti, opened(openAsBob(payload, BOB_EC, publishing(ALICE_EC))).id());
  }

  // --- legacy peers, downgrades and ids ---------------------------------------------------------

  @ParameterizedTest
  @CsvSource({"message-1", "message-2"})
  void rejectsTheOriginalsMessagesWhenTheSenderIsNoLegacyPeer(String vector) {
    DeviceIdentity bob = LegacyVectors.identity(LegacyVectors.BOB);
    Rejection r = rejected(envelope.open(LegacyVectors.bytes(vector + ".payload.json"), LegacyVectors.BOB,
        List.of(bob), publishing(LegacyVectors.identity(LegacyVectors.ALICE))), Reason.LEGACY_NOT_ALLOWED);
    assertEquals(LegacyVectors.ALICE, r.sender());
    assertTrue(r.detail().contains("alice._device.example.test"), r.detail());
    assertTrue(r.detail().contains("LEGACY_PEERS"), r.detail());
  }

  @Test
  void refusesALegacyMessageBeforeLookingUpTheKeysOfASenderThatIsNoLegacyPeer() {
    DeviceIdentity bob = LegacyVectors.identity(LegacyVectors.BOB);
    Envelope otherPeers = new Envelope(Envelope.Settings.defaults()
        .withLegacyPeers(LegacyPeers.parse("carol._device.example.test, *._other.example.test")));
    Envelope.DecryptResult result = otherPeers.decrypt(LegacyVectors.bytes("message-1.payload.json"),
        LegacyVectors.BOB, List.of(bob));
    assertEquals(Reason.LEGACY_NOT_ALLOWED,
        assertInstanceOf(Envelope.Rejected.class, result).rejection().reason());
  }

  @Test
  void opensTheOriginalsMessagesFromAWildcardLegacyPeer() {
    Envelope wildcard = new Envelope(Envelope.Settings.defaults()
        .withLegacyPeers(LegacyPeers.parse("*._device.example.test")));
    OpenedMessage message = opened(wildcard.open(LegacyVectors.bytes("message-1.payload.json"), LegacyVectors.BOB,
        List.of(LegacyVectors.identity(LegacyVectors.BOB)), publishing(LegacyVectors.identity(LegacyVectors.ALICE))));
    assertEquals(LegacyVectors.text("message-1.plaintext.txt"), message.text());
  }

  // --- RSA through Conscrypt and through the JCA's provider order -------------------------------

  /** Accepts legacy messages from alice; RSA through Conscrypt (where it loads) or the JCA's order. */
  private static Envelope rsaPath(boolean conscrypt) {
    return new Envelope(Envelope.Settings.defaults()
        .withLegacyPeers(LegacyPeers.of(List.of("alice._device.example.test"))), conscrypt);
  }

  @Test
  void rsaGoesThroughConscryptWhereItLoadsAndIsAllowed() {
    String expected = CryptoProviders.conscrypt().map(java.security.Provider::getName).orElse(null);
    assertEquals(expected, new Envelope().rsaProvider());
    assertNull(rsaPath(false).rsaProvider());
  }

  @ParameterizedTest(name = "{0}, {1} sender to RSA, sealed on the Conscrypt path {2}, opened on it {3}")
  @CsvSource({"NATIVE,RSA,true,false", "NATIVE,RSA,false,true", "NATIVE,EC_P256,true,false",
      "NATIVE,EC_P256,false,true", "LEGACY,RSA,true,false", "LEGACY,RSA,false,true"})
  void rsaMessagesOpenWhicheverProviderPathSealedThem(Profile profile, KeyType senderType, boolean sealer,
      boolean opener) throws Exception {
    DeviceIdentity alice = senderType == KeyType.RSA ? ALICE_RSA : ALICE_EC;
    byte[] payload = rsaPath(sealer).seal("across providers", alice, BOB_RSA.name(), BOB_RSA.publicKey(), profile);

    OpenedMessage message = opened(rsaPath(opener).open(payload, BOB_RSA.name(), List.of(BOB_RSA),
        publishing(alice)));
    assertEquals("across providers", message.text());
    assertEquals(profile, message.profile());
  }

  @ParameterizedTest(name = "{0}, RSA on the Conscrypt path {1}")
  @CsvSource({"message-1,true", "message-1,false", "message-2,true", "message-2,false"})
  void opensTheOriginalsMessagesOnEitherRsaProviderPath(String vector, boolean conscrypt) {
    OpenedMessage message = opened(rsaPath(conscrypt).open(LegacyVectors.bytes(vector + ".payload.json"),
        LegacyVectors.BOB, List.of(LegacyVectors.identity(LegacyVectors.BOB)),
        publishing(LegacyVectors.identity(LegacyVectors.ALICE))));
    assertEquals(LegacyVectors.text(vector + ".plaintext.txt"), message.text());
  }

  @Test
  void rejectsAnRsaMessageForAnotherKeyOnTheConscryptPath() throws Exception {
    DeviceIdentity bobNext = TestIdentities.fresh("bob._device.example.test", KeyType.RSA);
    // the legacy format names no key: the node tries its own and none decrypts
    byte[] payload = rsaPath(false).seal("not yours", ALICE_RSA, BOB_RSA.name(), bobNext.publicKey(),
        Profile.LEGACY);
    rejected(rsaPath(true).open(payload, BOB_RSA.name(), List.of(BOB_RSA), publishing(ALICE_RSA)),
        Reason.DECRYPTION_FAILED);
  }

  @Test
  void rejectsANativeMessageReWrappedInTheLegacyFormat() throws Exception {
    // alice writes to carol; carol, who can decrypt it, passes alice's signed part on to bob in the
    // legacy format, which has no aud to show that bob was not meant.
    DeviceIdentity carol = TestIdentities.of("carol._device.example.test", KeyType.EC_P256);
    byte[] toCarol = envelope.seal("for carol only", ALICE_EC, carol.name(), carol.publicKey());
    String alicesSignedPart = LegacyDecryption.decryptCompact(new String(toCarol, StandardCharsets.US_ASCII), carol);
    for (String rewrapped : List.of(RawJose.flattenedJws(alicesSignedPart), alicesSignedPart)) {
      byte[] toBob = RawJose.legacyPayload(rewrapped, BOB_RSA.name(), BOB_RSA.publicKey());
      Rejection r = rejected(legacyEnvelope.open(toBob, BOB_RSA.name(), List.of(BOB_RSA), publishing(ALICE_EC)),
          Reason.LEGACY_DOWNGRADE);
      assertTrue(r.detail().contains("typ"), r.detail());
    }
  }

  @Test
  void rejectsALegacySignatureOverNativeClaims() throws Exception {
    // Without typ, as a careless signer could write it: the claims alone give it away.
    RawMessage legacy = RawMessage.legacyMessage(ALICE_RSA, BOB_RSA.name(), BOB_RSA.publicKey());
    legacy.legacyText = RawMessage.nativeMessage(ALICE_RSA, BOB_RSA.name(), BOB_RSA.publicKey()).claims.toString();
    Rejection r = rejected(legacyEnvelope.open(legacy.build(), BOB_RSA.name(), List.of(BOB_RSA),
        publishing(ALICE_RSA)), Reason.LEGACY_DOWNGRADE);
    assertTrue(r.detail().contains("'iss'"), r.detail());
  }

  @Test
  void opensLegacyTextThatIsJsonWithoutNativeClaims() throws Exception {
    RawMessage legacy = RawMessage.legacyMessage(ALICE_RSA, BOB_RSA.name(), BOB_RSA.publicKey());
    legacy.legacyText = "{\"note\":\"a JSON text is still text\"}";
    assertEquals(legacy.legacyText, opened(legacyEnvelope.open(legacy.build(), BOB_RSA.name(), List.of(BOB_RSA),
        publishing(ALICE_RSA))).text());
  }

  @ParameterizedTest
  @CsvSource({"alg,RSA-OAEP,ENCRYPTION_ALGORITHM_NOT_ALLOWED", "enc,A256GCM,ENCRYPTION_ALGORITHM_NOT_ALLOWED",
      "typ,JOSE,UNSUPPORTED_SERIALIZATION"})
  void rejectsALegacyJweThatDiffersFromTheOriginalsHeader(String member, String value, Reason reason)
      throws Exception {
    RawMessage legacy = RawMessage.legacyMessage(ALICE_RSA, BOB_RSA.name(), BOB_RSA.publicKey());
    legacy.jweHeader.string(member, value);
    Rejection r = rejected(legacyEnvelope.open(legacy.build(), BOB_RSA.name(), List.of(BOB_RSA),
        publishing(ALICE_RSA)), reason);
    assertTrue(r.detail().contains(value), r.detail());
  }

  @Test
  void rejectsALegacyJwsSignedWithAnotherAlgorithmThanRs256() throws Exception {
    RawMessage legacy = RawMessage.legacyMessage(ALICE_EC, BOB_RSA.name(), BOB_RSA.publicKey());
    legacy.jwsHeader.string("alg", "ES256");
    rejected(legacyEnvelope.open(legacy.build(), BOB_RSA.name(), List.of(BOB_RSA), publishing(ALICE_EC)),
        Reason.SIGNATURE_ALGORITHM_NOT_ALLOWED);
  }

  @Test
  void aLegacyIdIsTheSameForTheSameSignedMessageReEncrypted() throws Exception {
    DeviceIdentity bob = LegacyVectors.identity(LegacyVectors.BOB);
    Envelope.SenderKeySource alice = publishing(LegacyVectors.identity(LegacyVectors.ALICE));
    String signed = LegacyVectors.text("message-1.inner-jws.json");
    byte[] first = RawJose.legacyPayload(signed, bob.name(), bob.publicKey());
    byte[] second = RawJose.legacyPayload(signed, bob.name(), bob.publicKey());
    assertTrue(!java.util.Arrays.equals(first, second));
    String original = opened(legacyEnvelope.open(LegacyVectors.bytes("message-1.payload.json"), bob.name(),
        List.of(bob), alice)).id();
    assertEquals(original, opened(legacyEnvelope.open(first, bob.name(), List.of(bob), alice)).id());
    assertEquals(original, opened(legacyEnvelope.open(second, bob.name(), List.of(bob), alice)).id());
    assertTrue(Envelope.isSafeMessageId(original), original);
  }

  @Test
  void differentLegacyMessagesHaveDifferentIds() {
    DeviceIdentity bob = LegacyVectors.identity(LegacyVectors.BOB);
    Envelope.SenderKeySource alice = publishing(LegacyVectors.identity(LegacyVectors.ALICE));
    String one = opened(legacyEnvelope.open(LegacyVectors.bytes("message-1.payload.json"), bob.name(),
        List.of(bob), alice)).id();
    String two = opened(legacyEnvelope.open(LegacyVectors.bytes("message-2.payload.json"), bob.name(),
        List.of(bob), alice)).id();
    assertTrue(!one.equals(two), one);
  }

  // --- work per message -------------------------------------------------------------------------

  @Test
  void verifyTriesOnlyTheFirstEightSenderKeys() throws Exception {
    byte[] payload = envelope.seal("ninth", ALICE_EC, BOB_EC.name(), BOB_EC.publicKey());
    List<PublicKey> others = new java.util.ArrayList<>();
    for (int i = 0; i < 8; i++) {
      others.add(TestIdentities.of("other" + i + "._device.example.test", KeyType.EC_P256).publicKey());
    }
    List<PublicKey> aliceNinth = new java.util.ArrayList<>(others);
    aliceNinth.add(ALICE_EC.publicKey());
    Rejection r = rejected(envelope.open(payload, BOB_EC.name(), List.of(BOB_EC),
        name -> new Envelope.SenderKeys.Found(aliceNinth)), Reason.SIGNATURE_INVALID);
    assertTrue(r.detail().contains("first 8 of 9"), r.detail());
    List<PublicKey> aliceEighth = new java.util.ArrayList<>(others.subList(0, 7));
    aliceEighth.add(ALICE_EC.publicKey());
    aliceEighth.add(others.get(7));
    assertEquals("ninth", opened(envelope.open(payload, BOB_EC.name(), List.of(BOB_EC),
        name -> new Envelope.SenderKeys.Found(aliceEighth))).text());
  }

  @Test
  void decryptTriesOnlyTheFirstEightOwnKeys() throws Exception {
    byte[] payload = envelope.seal("ninth", ALICE_EC, BOB_EC.name(), BOB_EC.publicKey());
    List<DeviceIdentity> ownKeys = new java.util.ArrayList<>();
    for (int i = 0; i < 8; i++) {
      ownKeys.add(TestIdentities.fresh("bob._device.example.test", KeyType.EC_P256));
    }
    ownKeys.add(BOB_EC);
    Rejection r = rejected(envelope.open(payload, BOB_EC.name(), ownKeys, publishing(ALICE_EC)),
        Reason.NOT_FOR_THIS_NODE);
    assertTrue(r.detail().contains("first 8 of 9"), r.detail());
    ownKeys.set(7, BOB_EC);
    assertEquals("ninth", opened(envelope.open(payload, BOB_EC.name(), ownKeys.subList(0, 8),
        publishing(ALICE_EC))).text());
  }

  @Test
  void neverUsesAnRsaSenderKeyLongerThan4096Bits() throws Exception {
    byte[] payload = envelope.seal("rsa", ALICE_RSA, BOB_EC.name(), BOB_EC.publicKey());
    PublicKey huge = new HugeRsaKey(16384);
    Rejection r = rejected(envelope.open(payload, BOB_EC.name(), List.of(BOB_EC),
        name -> new Envelope.SenderKeys.Found(List.of(huge))), Reason.SIGNATURE_INVALID);
    assertTrue(r.detail().contains("16384 bits"), r.detail());
    assertEquals("rsa", opened(envelope.open(payload, BOB_EC.name(), List.of(BOB_EC),
        name -> new Envelope.SenderKeys.Found(List.of(huge, ALICE_RSA.publicKey())))).text());
  }

  /** An RSA key whose modulus has the given length, that fails the test if it is used for anything. */
  private record HugeRsaKey(int bits) implements java.security.interfaces.RSAPublicKey {
    @Override
    public java.math.BigInteger getModulus() {
      return java.math.BigInteger.ONE.shiftLeft(bits - 1).setBit(0);
    }

    @Override
    public java.math.BigInteger getPublicExponent() {
      throw new AssertionError("a " + bits + "-bit key was used");
    }

    @Override
    public String getAlgorithm() {
      return "RSA";
    }

    @Override
    public String getFormat() {
      throw new AssertionError("a " + bits + "-bit key was used");
    }

    @Override
    public byte[] getEncoded() {
      throw new AssertionError("a " + bits + "-bit key was used");
    }
  }

  // --- the Python original's vectors ----------------------------------------------------------

  @ParameterizedTest
  @CsvSource({"message-1", "message-2"})
  void opensTheOriginalsMessages(String vector) {
    DeviceIdentity bob = LegacyVectors.identity(LegacyVectors.BOB);
    DeviceIdentity alice = LegacyVectors.identity(LegacyVectors.ALICE);
    assertEquals("bob._device.example.test", LegacyVectors.text(vector + ".topic.txt"));
    OpenedMessage message = opened(legacyEnvelope.open(LegacyVectors.bytes(vector + ".payload.json"),
        LegacyVectors.BOB, List.of(bob), publishing(alice)));
    assertEquals(LegacyVectors.ALICE, message.sender());
    assertEquals(LegacyVectors.text(vector + ".plaintext.txt"), message.text());
    assertEquals(Profile.LEGACY, message.profile());
  }

  @ParameterizedTest
  @CsvSource({"message-1", "message-2"})
  void verifiesTheOriginalsMessagesWithTheKeyFromItsTlsaRecord(String vector) {
    TlsaRecord published = TlsaRecord.parse(LegacyVectors.text("alice._device.example.test.tlsa.txt"));
    PublicKey aliceKey = ((TlsaRecord.UsableKey) published.publicKey()).key();
    DeviceIdentity bob = LegacyVectors.identity(LegacyVectors.BOB);
    var decrypted = assertInstanceOf(Envelope.Decrypted.class,
        legacyEnvelope.decrypt(LegacyVectors.bytes(vector + ".payload.json"), LegacyVectors.BOB, List.of(bob)));
    assertEquals(LegacyVectors.text(vector + ".plaintext.txt"),
        opened(legacyEnvelope.verify(decrypted.message(), List.of(aliceKey))).text());
  }

  @Test
  void ourLegacySignatureIsByteForByteTheOriginals() throws Exception {
    DeviceIdentity alice = LegacyVectors.identity(LegacyVectors.ALICE);
    DeviceIdentity bob = LegacyVectors.identity(LegacyVectors.BOB);
    for (String vector : List.of("message-1", "message-2")) {
      byte[] payload = envelope.seal(LegacyVectors.text(vector + ".plaintext.txt"), alice, bob.name(),
          bob.publicKey(), Profile.LEGACY);
      String inner = LegacyDecryption.decryptFlattened(new String(payload, StandardCharsets.US_ASCII), bob);
      assertEquals(LegacyVectors.text(vector + ".inner-jws.json"), inner);
      Map<String, Object> outer = JsonUtil.parseJson(new String(payload, StandardCharsets.US_ASCII));
      assertEquals(List.of("ciphertext", "encrypted_key", "iv", "protected", "tag"), List.copyOf(new java.util.TreeSet<>(outer.keySet())));
      assertEquals("{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256CBC-HS512\",\"typ\":\"JWE\",\"x5u\":\"dns://bob._device.example.test?type=TLSA\"}",
          new String(java.util.Base64.getUrlDecoder().decode((String) outer.get("protected")), StandardCharsets.UTF_8));
    }
  }

  @Test
  void theOriginalsReceiverKillerIsJustRejected() {
    DeviceIdentity bob = LegacyVectors.identity(LegacyVectors.BOB);
    var result = envelope.open(LegacyVectors.bytes("compact-jwe-not-jws.payload.txt"), LegacyVectors.BOB,
        List.of(bob), publishing(LegacyVectors.identity(LegacyVectors.ALICE)));
    assertInstanceOf(Envelope.Rejected.class, result);
  }

  @Test
  void decryptsTheReceiverKillerToRejectItsContent() throws Exception {
    // With the x5u the original never sets, the same JWE gets as far as its content.
    DeviceIdentity bob = LegacyVectors.identity(LegacyVectors.BOB);
    String inner = LegacyDecryption.decryptCompact(LegacyVectors.text("compact-jwe-not-jws.payload.txt"), bob);
    assertEquals("irrelevant", inner);
  }

  @Test
  void canonicalBase64urlOnly() {
    assertTrue(Envelope.isCanonicalBase64url("QQ"));
    assertTrue(!Envelope.isCanonicalBase64url("QR"));
    assertTrue(!Envelope.isCanonicalBase64url("Q"));
    assertTrue(!Envelope.isCanonicalBase64url("QQ=="));
    assertArrayEquals(new byte[] {'A'}, java.util.Base64.getUrlDecoder().decode("QR"));
  }

  @Test
  void canonicalBase64urlCheckAgreesWithDecodingAndReEncoding() {
    java.util.Random random = new java.util.Random(7);
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=.\u00e9\u0100 ";
    for (int n = 0; n < 20_000; n++) {
      StringBuilder text = new StringBuilder();
      for (int i = random.nextInt(9); i > 0; i--) {
        text.append(alphabet.charAt(random.nextInt(random.nextInt(10) == 0 ? alphabet.length() : 64)));
      }
      String t = text.toString();
      boolean reference;
      try {
        reference = t.matches("[A-Za-z0-9_-]*") && t.length() % 4 != 1 && java.util.Base64.getUrlEncoder()
            .withoutPadding().encodeToString(java.util.Base64.getUrlDecoder().decode(t)).equals(t);
      } catch (IllegalArgumentException e) {
        reference = false;
      }
      assertEquals(reference, Envelope.isCanonicalBase64url(t), "'" + t + "'");
    }
  }
}
