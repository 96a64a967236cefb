package org.danemsg.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.MGF1ParameterSpec;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Supplier;
import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import org.junit.jupiter.api.Test;

/**
 * {@link Envelope}'s opening code against its reference, {@link ReferenceEnvelope} (the same checks
 * with jose4j doing the crypto, as before the crypto went to the JCA directly): for thousands of
 * valid and changed payloads, with various own and sender keys, both must give the same outcome, the
 * same opened message or the same rejection (reason, detail and sender), in decrypt and in verify.
 *
 * <p>The changes are the ones that reach the crypto: signatures (wrong length, r or s zero or the
 * group order, high s, a flipped bit), the ephemeral key (off the curve, a coordinate beyond the
 * field, another point), the IV's length, the boundary between ciphertext and tag, an encrypted key
 * where ECDH-ES has none, RSA-OAEP keys of the wrong length, in native messages and in the legacy
 * format (A256CBC-HS512); besides them the member changes of
 * {@link EnvelopeStructureFuzzTest} and raw byte changes. Both Envelope configurations are compared
 * (the fast providers, and the JDK's), and the pom runs this test a second time without Conscrypt.
 *
 * <p>{@code danemsg.differential.cases} sets the number of cases (default 3,000), {@code
 * danemsg.differential.seed} the seed. A failure names the seed and the case.
 */
class EnvelopeDifferentialTest {

  private static final long DEFAULT_SEED = 0xd1ff_e7e1_2026L;
  private static final DnsName BOB_NAME = DnsName.parse("bob._device.example.test");
  private static final DnsName CAROL_NAME = DnsName.parse("carol._device.example.test");
  private static final DeviceIdentity EC_ALICE = TestIdentities.of("alice._device.example.test", KeyType.EC_P256);
  private static final DeviceIdentity EC_BOB = TestIdentities.of(BOB_NAME.toString(), KeyType.EC_P256);
  private static final DeviceIdentity RSA_ALICE = TestIdentities.of("alice._device.example.test", KeyType.RSA);
  private static final DeviceIdentity RSA_BOB = TestIdentities.of(BOB_NAME.toString(), KeyType.RSA);
  /** Bob's next key during a rollover. */
  private static final DeviceIdentity EC_BOB_NEXT = TestIdentities.fresh(BOB_NAME.toString(), KeyType.EC_P256);
  private static final DeviceIdentity EC_CAROL = TestIdentities.of(CAROL_NAME.toString(), KeyType.EC_P256);
  private static final DeviceIdentity LEGACY_ALICE = LegacyVectors.identity(LegacyVectors.ALICE);
  private static final DeviceIdentity LEGACY_BOB = LegacyVectors.identity(LegacyVectors.BOB);
  private static final PublicKey P384_KEY = p384Key();
  private static final PublicKey RSA_1024_KEY = rsa1024Key();

  private static final BigInteger P = new BigInteger(
      "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff", 16);
  private static final BigInteger B = new BigInteger(
      "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b", 16);
  private static final BigInteger N = new BigInteger(
      "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16);

  private static final Clock CLOCK = Clock.fixed(Instant.now(), ZoneOffset.UTC);
  private static final Envelope.Settings SETTINGS = Envelope.Settings.defaults()
      .withMaxPayloadBytes(512 * 1024)
      .withClock(CLOCK)
      .withLegacyPeers(LegacyPeers.of(List.of("alice._device.example.test")));

  /** One way of configuring providers, in the product and in the reference alike. */
  private record Configuration(String name, Envelope envelope, ReferenceEnvelope reference) {}

  private static final List<Configuration> CONFIGURATIONS = List.of(
      new Configuration("fast providers", new Envelope(SETTINGS, true), new ReferenceEnvelope(SETTINGS, true)),
      new Configuration("JDK providers", new Envelope(SETTINGS.withBouncyCastleForEc(false), false),
          new ReferenceEnvelope(SETTINGS.withBouncyCastleForEc(false), false)));

  /** A payload and the keys to open it with. */
  private record Case(String description, byte[] payload, DnsName self, List<DeviceIdentity> own,
      List<PublicKey> senderKeys) {}

  /** What a case is built from: a payload, its sender and its recipient. */
  private record Message(String description, byte[] payload, DeviceIdentity sender, DeviceIdentity recipient) {}

  private final Map<String, Integer> outcomes = new TreeMap<>();

  @Test
  void envelopeOpensAndRejectsExactlyAsTheJose4jReferenceDoes() throws Exception {
    int cases = Integer.getInteger("danemsg.differential.cases", 3_000);
    long seed = Long.getLong("danemsg.differential.seed", DEFAULT_SEED);
    Random master = new Random(seed);
    long started = System.nanoTime();
    for (int i = 0; i < cases; i++) {
      long caseSeed = master.nextLong();
      Random random = new Random(caseSeed);
      Case c;
      try {
        c = withKeys(message(random), random);
      } catch (Exception e) {
        throw new AssertionError("the harness could not build case " + i + " (seed " + seed + ")", e);
      }
      compare(c, CONFIGURATIONS.get(random.nextInt(CONFIGURATIONS.size())), seed, i);
    }
    System.out.println("differential: " + cases + " cases in " + (System.nanoTime() - started) / 1_000_000
        + " ms (seed " + seed + ", conscrypt " + CryptoProviders.conscrypt().isPresent() + "): " + outcomes);
    if (cases >= 1_000) {
      // The cases must reach every step, not only the first checks.
      assertTrue(outcomes.getOrDefault("OPENED", 0) >= cases / 10, () -> "too few opened: " + outcomes);
      for (String reason : List.of("DECRYPTION_FAILED", "SIGNATURE_INVALID", "NOT_FOR_THIS_NODE",
          "CLAIMS_INVALID", "SENDER_KEYS_UNAVAILABLE", "NOT_A_JWE")) {
        assertTrue(outcomes.getOrDefault(reason, 0) > 0, () -> "no " + reason + ": " + outcomes);
      }
    }
  }

  @Test
  void theLegacyVectorsOpenAlikeInBoth() {
    for (String name : List.of("message-1.payload.json", "message-2.payload.json", "accepted-variant.payload.json",
        "compact-jwe-not-jws.payload.txt")) {
      for (Configuration configuration : CONFIGURATIONS) {
        compare(new Case("legacy vector " + name, LegacyVectors.bytes(name), LegacyVectors.BOB, List.of(LEGACY_BOB),
            List.of(LEGACY_ALICE.publicKey())), configuration, 0, -1);
      }
    }
    assertEquals(4, outcomes.getOrDefault("OPENED", 0), outcomes::toString);
  }

  // ---------------------------------------------------------------------------------------------

  private Message message(Random random) throws Exception {
    int roll = random.nextInt(100);
    if (roll < 20) {
      return sealed(random);
    }
    if (roll < 45) {
      return cryptoChange(random);
    }
    if (roll < 75) {
      return memberChange(random);
    }
    Message valid = random.nextBoolean() ? sealed(random) : cryptoChange(random);
    return new Message("BYTES of " + valid.description(), changeBytes(valid.payload(), random), valid.sender(),
        valid.recipient());
  }

  /** A message as this project's sender seals it. */
  private static Message sealed(Random random) throws Exception {
    int kind = random.nextInt(6);
    DeviceIdentity sender = switch (kind) {
      case 0, 2 -> EC_ALICE;
      case 5 -> LEGACY_ALICE;
      default -> RSA_ALICE;
    };
    DeviceIdentity recipient = switch (kind) {
      case 0, 1 -> EC_BOB;
      case 2, 3 -> RSA_BOB;
      case 4 -> EC_BOB_NEXT;
      default -> LEGACY_BOB;
    };
    Profile profile = kind == 5 ? Profile.LEGACY : Profile.NATIVE;
    String text = randomText(random);
    byte[] payload = CONFIGURATIONS.get(0).envelope().seal(text, sender, recipient.name(), recipient.publicKey(),
        profile);
    return new Message("sealed " + profile + " " + sender.keyType() + " -> " + recipient.keyType(), payload, sender,
        recipient);
  }

  /** A native message whose crypto is changed where a reader could be lenient or strict. */
  private static Message cryptoChange(Random random) throws Exception {
    boolean legacy = random.nextInt(5) == 0;
    boolean rsaRecipient = legacy || random.nextInt(3) == 0;
    DeviceIdentity sender = legacy ? LEGACY_ALICE : random.nextBoolean() ? EC_ALICE : RSA_ALICE;
    DeviceIdentity recipient = legacy ? LEGACY_BOB : rsaRecipient ? RSA_BOB : EC_BOB;
    RawMessage m = legacy ? RawMessage.legacyMessage(sender, recipient.name(), recipient.publicKey())
        : onTheClock(RawMessage.nativeMessage(sender, recipient.name(), recipient.publicKey()));
    m.claims.string("msg", randomText(random));
    m.legacyText = randomText(random);
    String alg = rsaRecipient ? "RSA-OAEP-256" : "ECDH-ES";
    String enc = legacy ? "A256CBC-HS512" : "A256GCM";
    // The signed part in compact form; the legacy sender writes it flattened (below).
    String inner = legacy ? RawJose.sign(m.jwsHeader.toString(), m.legacyText.getBytes(StandardCharsets.UTF_8),
        sender.privateKey()) : m.signedPart();
    String description;
    int ivLength = legacy ? 16 : 12;
    int change = random.nextInt(10);
    switch (change) {
      case 0, 1 -> {
        String[] p = inner.split("\\.", -1);
        byte[] signature = Base64.getUrlDecoder().decode(p[2]);
        Changed changed = sender.keyType() == KeyType.EC_P256 ? changeEcSignature(signature, random)
            : changeRsaSignature(signature, random);
        inner = p[0] + "." + p[1] + "." + RawJose.b64(changed.signature());
        description = "signature " + changed.what();
      }
      case 2 -> {
        if (!rsaRecipient) {
          m.jweHeader.raw("epk", otherEpk(random));
          description = "epk changed";
        } else {
          description = "unchanged";
        }
      }
      case 3 -> {
        ivLength = random.nextBoolean() ? 1 + random.nextInt(32) : 16;
        description = "IV of " + ivLength + " bytes";
      }
      default -> description = "unchanged before the parts are changed";
    }
    if (legacy) {
      inner = RawJose.flattenedJws(inner);
    }
    // AES-CBC takes no other IV than 16 bytes: a legacy message gets its other IV after encryption (its
    // tag then fails, as it would for a sender that wrote one).
    String compact = RawJose.encrypt(m.jweHeader.toString(), alg, enc, inner.getBytes(StandardCharsets.UTF_8),
        recipient.publicKey(), legacy ? 16 : ivLength);
    if (legacy && ivLength != 16) {
      String[] p = compact.split("\\.", -1);
      byte[] iv = new byte[ivLength];
      random.nextBytes(iv);
      p[2] = RawJose.b64(iv);
      compact = String.join(".", p);
    }
    if (change >= 4) {
      String[] p = compact.split("\\.", -1);
      byte[] ciphertext = Base64.getUrlDecoder().decode(p[3]);
      byte[] tag = Base64.getUrlDecoder().decode(p[4]);
      switch (change) {
        case 4 -> { // the same bytes, split elsewhere between ciphertext and tag
          byte[] all = concat(ciphertext, tag);
          int at = 1 + random.nextInt(all.length - 1);
          p[3] = RawJose.b64(Arrays.copyOf(all, at));
          p[4] = RawJose.b64(Arrays.copyOfRange(all, at, all.length));
          description = "ciphertext|tag split at " + at + " of " + all.length;
        }
        case 5 -> {
          byte[] key = new byte[random.nextInt(4) == 0 ? 0 : 1 + random.nextInt(300)];
          random.nextBytes(key);
          if (rsaRecipient && random.nextBoolean()) {
            key = oaep(recipient.publicKey(), new byte[pick(random, List.of(16, 32, 64))]);
          }
          p[1] = RawJose.b64(key);
          description = "encrypted key of " + key.length + " bytes";
        }
        case 6 -> {
          p[4] = random.nextBoolean() ? "" : RawJose.b64(Arrays.copyOf(tag, random.nextInt(tag.length)));
          description = "tag shortened to " + p[4].length() + " characters";
        }
        case 7 -> {
          p[random.nextBoolean() ? 3 : 2] = "";
          description = "ciphertext or IV empty";
        }
        case 8 -> {
          tag[random.nextInt(tag.length)] ^= (byte) (1 << random.nextInt(8));
          p[4] = RawJose.b64(tag);
          description = "tag bit flipped";
        }
        default -> description = "unchanged";
      }
      compact = String.join(".", p);
    }
    String payload = legacy ? RawJose.flattenedJwe(compact) : compact;
    return new Message("crypto change (" + (legacy ? "legacy " : "") + sender.keyType() + " -> "
        + recipient.keyType() + "): " + description, payload.getBytes(StandardCharsets.US_ASCII), sender, recipient);
  }

  /** A changed signature and how it was changed. */
  private record Changed(byte[] signature, String what) {}

  /** Changes an ES256 signature (r || s) the ways a verifier must handle. */
  private static Changed changeEcSignature(byte[] signature, Random random) {
    BigInteger r = new BigInteger(1, Arrays.copyOf(signature, 32));
    BigInteger s = new BigInteger(1, Arrays.copyOfRange(signature, 32, 64));
    String what;
    byte[] changed;
    switch (random.nextInt(9)) {
      case 0 -> {
        changed = concat(fixed(r), fixed(N.subtract(s)));
        what = "high s (n - s)";
      }
      case 1 -> {
        changed = concat(new byte[32], fixed(s));
        what = "r = 0";
      }
      case 2 -> {
        changed = concat(fixed(r), fixed(N));
        what = "s = n";
      }
      case 3 -> {
        changed = concat(fixed(r.add(N).mod(BigInteger.ONE.shiftLeft(256))), fixed(s));
        what = "r + n";
      }
      case 4 -> {
        changed = Arrays.copyOf(signature, random.nextInt(64));
        what = "truncated to " + changed.length;
      }
      case 5 -> {
        changed = Arrays.copyOf(signature, 65 + random.nextInt(8));
        what = "extended to " + changed.length;
      }
      case 6 -> {
        changed = signature.clone();
        changed[random.nextInt(64)] ^= (byte) (1 << random.nextInt(8));
        what = "bit flipped";
      }
      case 7 -> {
        // r and s without their leading byte: the same numbers only where that byte is zero
        changed = concat(Arrays.copyOfRange(signature, 1, 32), Arrays.copyOfRange(signature, 33, 64));
        what = "62 bytes";
      }
      default -> {
        changed = signature;
        what = "unchanged";
      }
    }
    return new Changed(changed, what);
  }

  private static Changed changeRsaSignature(byte[] signature, Random random) {
    byte[] changed;
    String what;
    switch (random.nextInt(4)) {
      case 0 -> {
        changed = signature.clone();
        changed[random.nextInt(changed.length)] ^= (byte) (1 << random.nextInt(8));
        what = "bit flipped";
      }
      case 1 -> {
        changed = concat(new byte[1], signature);
        what = "a leading zero byte";
      }
      case 2 -> {
        changed = Arrays.copyOf(signature, random.nextInt(signature.length));
        what = "truncated to " + changed.length;
      }
      default -> {
        changed = signature;
        what = "unchanged";
      }
    }
    return new Changed(changed, what);
  }

  /** An ephemeral key other than the one the content was encrypted with. */
  private static String otherEpk(Random random) throws Exception {
    BigInteger x;
    BigInteger y;
    switch (random.nextInt(4)) {
      case 0 -> { // off the curve
        x = new BigInteger(256, random).mod(P);
        y = new BigInteger(256, random).mod(P);
      }
      case 1 -> { // x beyond the field, the same point modulo p
        BigInteger[] point = smallPoint(random);
        x = point[0].add(P);
        y = point[1];
      }
      case 2 -> { // a real point, not the sender's
        BigInteger[] point = smallPoint(random);
        x = point[0];
        y = point[1];
      }
      default -> { // the sender's key with x and y swapped
        String epk = RawJose.epkJson();
        String xs = epk.replaceAll(".*\"x\":\"([^\"]+)\".*", "$1");
        String ys = epk.replaceAll(".*\"y\":\"([^\"]+)\".*", "$1");
        return "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" + ys + "\",\"y\":\"" + xs + "\"}";
      }
    }
    return "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" + RawJose.b64(fixed(x)) + "\",\"y\":\""
        + RawJose.b64(fixed(y)) + "\"}";
  }

  /** A point of P-256 with a small x (so that x + p still fits in 32 bytes). */
  private static BigInteger[] smallPoint(Random random) {
    for (BigInteger x = BigInteger.valueOf(random.nextInt(1000)); ; x = x.add(BigInteger.ONE)) {
      BigInteger rhs = x.pow(3).subtract(x.multiply(BigInteger.valueOf(3))).add(B).mod(P);
      BigInteger y = rhs.modPow(P.add(BigInteger.ONE).shiftRight(2), P); // p = 3 mod 4
      if (y.multiply(y).mod(P).equals(rhs)) {
        return new BigInteger[] {x, random.nextBoolean() ? y : P.subtract(y)};
      }
    }
  }

  /** A member of a header or the claims changed, then signed and encrypted properly. */
  private static Message memberChange(Random random) throws Exception {
    int target = random.nextInt(5);
    boolean legacy = target == 4;
    DeviceIdentity sender = legacy ? LEGACY_ALICE : random.nextBoolean() ? EC_ALICE : RSA_ALICE;
    DeviceIdentity recipient = legacy ? LEGACY_BOB : random.nextBoolean() ? EC_BOB : RSA_BOB;
    RawMessage m = legacy ? RawMessage.legacyMessage(sender, recipient.name(), recipient.publicKey())
        : onTheClock(RawMessage.nativeMessage(sender, recipient.name(), recipient.publicKey()));
    JsonText json = switch (target) {
      case 0 -> m.jweHeader;
      case 1 -> m.jwsHeader;
      case 4 -> random.nextBoolean() ? m.jweHeader : m.jwsHeader;
      default -> m.claims;
    };
    List<JsonText.Member> members = json.members();
    JsonText.Member member = members.get(random.nextInt(members.size()));
    String description;
    switch (random.nextInt(4)) {
      case 0 -> {
        String value = pick(random, EnvelopeStructureFuzzTest.HOSTILE);
        if (value.length() > 2000) {
          value = JsonText.quote("long");
        }
        json.raw(member.name(), value);
        description = "SET " + member.name() + " = " + SafeText.cut(value, 60);
      }
      case 1 -> {
        json.remove(member.name());
        description = "REMOVE " + member.name();
      }
      case 2 -> {
        json.append(member.name(), member.rawValue());
        description = "DUPLICATE " + member.name();
      }
      default -> {
        String name = pick(random, EnvelopeStructureFuzzTest.UNKNOWN_NAMES);
        json.raw(name, JsonText.quote("x"));
        description = "ADD " + SafeText.line(name);
      }
    }
    return new Message("member change " + (legacy ? "legacy " : "native ") + description, m.build(), sender,
        recipient);
  }

  /** The message's iat and exp on the envelopes' fixed clock, however long the test runs. */
  private static RawMessage onTheClock(RawMessage m) {
    long now = CLOCK.instant().getEpochSecond();
    m.claims.number("iat", now).number("exp", now + 300);
    return m;
  }

  /** Raw byte changes, as a broker or an attacker could make them. */
  private static byte[] changeBytes(byte[] payload, Random random) {
    byte[] bytes = payload.clone();
    switch (random.nextInt(5)) {
      case 0 -> bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
      case 1 -> {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
        bytes[random.nextInt(bytes.length)] = (byte) alphabet.charAt(random.nextInt(alphabet.length()));
      }
      case 2 -> bytes = Arrays.copyOf(bytes, random.nextInt(bytes.length));
      case 3 -> bytes = concat(" \n".getBytes(StandardCharsets.US_ASCII), concat(bytes, "\u2003".getBytes(StandardCharsets.UTF_8)));
      default -> {
        int at = random.nextInt(bytes.length);
        bytes = concat(Arrays.copyOf(bytes, at), concat(new byte[] {(byte) 0xc3, (byte) 0xa9},
            Arrays.copyOfRange(bytes, at, bytes.length)));
      }
    }
    return bytes;
  }

  /** The keys to open a message with: mostly the right ones, often with others around them. */
  private static Case withKeys(Message m, Random random) {
    DnsName self = random.nextInt(20) == 0 ? CAROL_NAME : m.recipient().name();
    List<DeviceIdentity> own = switch (random.nextInt(12)) {
      case 0 -> List.of(EC_BOB_NEXT, m.recipient());
      case 1 -> List.of(RSA_BOB, EC_BOB);
      case 2 -> List.of();
      case 3 -> {
        List<DeviceIdentity> many = new ArrayList<>(Collections.nCopies(Envelope.MAX_KEYS_TRIED, EC_BOB_NEXT));
        many.add(m.recipient());
        yield many;
      }
      case 4 -> Arrays.asList(null, m.recipient());
      case 5 -> List.of(EC_BOB_NEXT);
      default -> List.of(m.recipient());
    };
    PublicKey right = m.sender().publicKey();
    List<PublicKey> keys = switch (random.nextInt(14)) {
      case 0 -> List.of(right.equals(EC_ALICE.publicKey()) ? RSA_ALICE.publicKey() : EC_ALICE.publicKey(), right);
      case 1 -> List.of(EC_CAROL.publicKey(), right);
      case 2 -> List.of(P384_KEY, RSA_1024_KEY, right);
      case 3 -> List.of(P384_KEY);
      case 4 -> List.of(RSA_1024_KEY);
      case 5 -> List.of(EC_CAROL.publicKey());
      case 6 -> List.of();
      case 7 -> {
        List<PublicKey> many = new ArrayList<>(Collections.nCopies(Envelope.MAX_KEYS_TRIED, EC_CAROL.publicKey()));
        many.add(right);
        yield many;
      }
      case 8 -> Arrays.asList(null, right);
      default -> List.of(right);
    };
    return new Case(m.description(), m.payload(), self, own, keys);
  }

  private void compare(Case c, Configuration configuration, long seed, int index) {
    Supplier<String> where = () -> "case " + index + " (seed " + seed + ", -Ddanemsg.differential.seed=" + seed
        + ") with " + configuration.name() + ": " + c.description() + "; payload (base64) "
        + SafeText.cut(Base64.getEncoder().encodeToString(c.payload()), 3000);
    Object expected = configuration.reference().decrypt(c.payload(), c.self(), c.own());
    Envelope.DecryptResult actual = configuration.envelope().decrypt(c.payload(), c.self(), c.own());
    if (expected instanceof Envelope.Rejected rejected) {
      assertEquals(rejected, actual, where);
      count(rejected.rejection().reason().name());
      return;
    }
    ReferenceEnvelope.Signed signed = (ReferenceEnvelope.Signed) expected;
    assertTrue(actual instanceof Envelope.Decrypted, () -> "decrypted only by the reference: " + actual + " in "
        + where.get());
    SignedMessage message = ((Envelope.Decrypted) actual).message();
    assertEquals(signed.profile(), message.profile(), where);
    assertEquals(signed.claimedSender(), message.claimedSender(), where);
    assertEquals(signed.recipient(), message.recipient(), where);
    Envelope.OpenResult expectedOpen = configuration.reference().verify(signed, c.senderKeys());
    Envelope.OpenResult actualOpen = configuration.envelope().verify(message, c.senderKeys());
    assertEquals(expectedOpen, actualOpen, where);
    count(expectedOpen instanceof Envelope.Rejected r ? r.rejection().reason().name() : "OPENED");
  }

  private void count(String outcome) {
    outcomes.merge(outcome, 1, Integer::sum);
  }

  // ---------------------------------------------------------------------------------------------

  private static String randomText(Random random) {
    StringBuilder sb = new StringBuilder();
    int length = random.nextInt(4) == 0 ? random.nextInt(400) : random.nextInt(120);
    String extra = "éü€😀 \n\t\"\\/<>";
    for (int i = 0; i < length; i++) {
      sb.append(random.nextInt(8) == 0 ? extra.charAt(random.nextInt(extra.length()))
          : (char) ('a' + random.nextInt(26)));
    }
    // A lone surrogate half of the emoji is no text: keep pairs whole.
    return SafeText.wellFormed(sb.toString()).replace("\ufffd", "?");
  }

  private static byte[] oaep(PublicKey key, byte[] secret) throws Exception {
    Cipher cipher = Cipher.getInstance("RSA/ECB/OAEPPadding");
    cipher.init(Cipher.ENCRYPT_MODE, key, new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256,
        PSource.PSpecified.DEFAULT));
    return cipher.doFinal(secret);
  }

  private static byte[] fixed(BigInteger value) {
    byte[] raw = value.toByteArray();
    byte[] out = new byte[32];
    int n = Math.min(raw.length, 32);
    System.arraycopy(raw, raw.length - n, out, 32 - n, n);
    return out;
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static <T> T pick(Random random, List<T> list) {
    return list.get(random.nextInt(list.size()));
  }

  private static PublicKey p384Key() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp384r1"));
      return generator.generateKeyPair().getPublic();
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static PublicKey rsa1024Key() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
      generator.initialize(1024);
      return generator.generateKeyPair().getPublic();
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
