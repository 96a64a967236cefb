package org.danemsg.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Format-aware fuzzing: each case takes a correct message, changes one JSON member of its JWE header,
 * JWS header or claims (both profiles) to a hostile value, removes it, duplicates it or adds an
 * unknown one, and then signs and encrypts the result properly ({@link RawMessage}), so that the change
 * reaches the member checks instead of failing the crypto. Some cases change raw bytes of a valid
 * payload instead.
 *
 * <p>For every case: no exception escapes {@link Envelope#open}; a changed message opens only when
 * the change is one a real sender could make (a different text in {@code msg}), and then with exactly
 * that text; every rejection's detail is one safe line of at most {@value #MAX_DETAIL} characters.
 *
 * <p>{@code danemsg.fuzz.cases} sets the number of cases (default 10,000; the Maven profile
 * {@code fuzz} runs 100,000), {@code danemsg.fuzz.seed} the seed. A failure names the seed and the case.
 */
class EnvelopeStructureFuzzTest {

  private static final long DEFAULT_SEED = 0x11_5eed_e7e1_09eL;
  private static final int MAX_DETAIL = 330;
  private static final int MAX_PAYLOAD = 512 * 1024;

  private static final DeviceIdentity ALICE = TestIdentities.of("alice._device.example.test", KeyType.EC_P256);
  private static final DeviceIdentity BOB = TestIdentities.of("bob._device.example.test", KeyType.EC_P256);
  private static final DeviceIdentity LEGACY_ALICE = LegacyVectors.identity(LegacyVectors.ALICE);
  private static final DeviceIdentity LEGACY_BOB = LegacyVectors.identity(LegacyVectors.BOB);

  /** Big enough that a 100 KB member reaches the checks instead of the size limit. */
  private static final Envelope ENVELOPE = new Envelope(Envelope.Settings.defaults()
      .withMaxPayloadBytes(MAX_PAYLOAD)
      .withLegacyPeers(LegacyPeers.of(List.of("alice._device.example.test"))));

  /** Hostile JSON values, as raw JSON text. */
  static final List<String> HOSTILE = List.of(
      q("\ud800"), q("\udc00x"), q("a\u0000b"), q("\u001b[2J\u001b[31mred\u001b[0m"), q("\u202egnp.exe"),
      q("line one\r\nline two"), q("\u0085\u2028\u2029"), q("\ufeff\u200b"), q(""), q(" "), q("\\"),
      q("A".repeat(100_000)), q("\u00e9\u20ac\ud83d\ude00".repeat(200)), q("none"), q("HS256"), q("RSA1_5"),
      q("dir"), q("jwt"), q("JWT\u0000"), q("ES256 "), q("A256GCM "), q("dns://mallory._device.example.test?type=TLSA"),
      q("dns:bob._device.example.test?type=TLSA\n"), q("bob._device.example.test"), q("../../etc/passwd"),
      "1e309", "-1e309", "-1", "0", "-0", "1", "1.5", "1E2", "9223372036854775807", "9223372036854775808",
      "18446744073709551616", "-9223372036854775809", "1" + "0".repeat(400),
      "null", "true", "false", "[]", "[\"x\"]", "[1,[2,[3]]]", "{}", "{\"a\":null}", "{\"kty\":\"EC\"}",
      "[".repeat(5000) + "]".repeat(5000), "{\"a\":".repeat(20) + "1" + "}".repeat(20));

  /** Member names that no header or claims set of either profile accepts, and some that one does. */
  static final List<String> UNKNOWN_NAMES = List.of("typ", "kid", "crit", "jku", "jwk", "x5c", "x5t",
      "x5t#S256", "zip", "cty", "epk", "apu", "apv", "p2s", "iv", "tag", "nbf", "sub", "iss", "msg", "",
      "\u0000", "alg ", "ALG", "\u202ealg", "__proto__");

  enum Target {
    NATIVE_JWE(false, m -> m.jweHeader),
    NATIVE_JWS(false, m -> m.jwsHeader),
    NATIVE_CLAIMS(false, m -> m.claims),
    NATIVE_RSA_JWE(false, m -> m.jweHeader),
    LEGACY_JWE(true, m -> m.jweHeader),
    LEGACY_JWS(true, m -> m.jwsHeader);

    final boolean legacy;
    final Function<RawMessage, JsonText> json;

    Target(boolean legacy, Function<RawMessage, JsonText> json) {
      this.legacy = legacy;
      this.json = json;
    }

    RawMessage message() {
      return switch (this) {
        case LEGACY_JWE, LEGACY_JWS -> RawMessage.legacyMessage(LEGACY_ALICE, LEGACY_BOB.name(), LEGACY_BOB.publicKey());
        case NATIVE_RSA_JWE -> RawMessage.nativeMessage(ALICE, LEGACY_BOB.name(), LEGACY_BOB.publicKey());
        default -> RawMessage.nativeMessage(ALICE, BOB.name(), BOB.publicKey());
      };
    }

    DeviceIdentity recipient() {
      return this == NATIVE_JWE || this == NATIVE_JWS || this == NATIVE_CLAIMS ? BOB : LEGACY_BOB;
    }
  }

  enum Operation { SET, REMOVE, DUPLICATE, ADD_UNKNOWN, LEGACY_TEXT_AS_CLAIMS, BYTES }

  /** One case: what was done, for the failure message, and what must come of it. */
  private record Case(String description, byte[] payload, DeviceIdentity recipient, String expectedText) {}

  private final Map<Rejection.Reason, Integer> reasons = new EnumMap<>(Rejection.Reason.class);
  private final Set<String> mutatedMembers = new TreeSet<>();
  private final List<byte[]> validPayloads = new ArrayList<>();
  private int opened;

  @Test
  void mutatedMembersAndBytesNeverOpenUnlessTheChangeIsAText() throws Exception {
    int cases = Integer.getInteger("danemsg.fuzz.cases", 10_000);
    long seed = Long.getLong("danemsg.fuzz.seed", DEFAULT_SEED);
    for (Target target : Target.values()) {
      byte[] valid = target.message().build();
      check(new Case("unchanged " + target, valid, target.recipient(), target.legacy ? "legacy hello" : "raw hello"),
          seed, -1);
      validPayloads.add(valid);
    }
    validPayloads.add(LegacyVectors.bytes("message-1.payload.json"));

    Random master = new Random(seed);
    long started = System.nanoTime();
    for (int i = 0; i < cases; i++) {
      long caseSeed = master.nextLong();
      Case c;
      try {
        c = makeCase(new Random(caseSeed));
      } catch (Exception e) {
        throw new AssertionError("the harness could not build case " + i + " (seed " + seed + ")", e);
      }
      check(c, seed, i);
    }
    long millis = (System.nanoTime() - started) / 1_000_000;
    System.out.println("structure fuzz: " + cases + " cases in " + millis + " ms (seed " + seed + "), "
        + opened + " opened (each a changed msg text), rejections " + reasons);

    Set<String> expected = new TreeSet<>();
    for (Target target : Target.values()) {
      target.json.apply(target.message()).members().forEach(m -> expected.add(target + "." + m.name()));
    }
    if (cases >= 10_000) {
      assertEquals(expected, mutatedMembers.stream().filter(expected::contains)
          .collect(java.util.stream.Collectors.toCollection(TreeSet::new)), "every member is mutated");
    }
  }

  private Case makeCase(Random random) throws Exception {
    int roll = random.nextInt(100);
    if (roll < 12) {
      return byteCase(random);
    }
    Target target = roll < 40 ? Target.NATIVE_CLAIMS : roll < 58 ? Target.NATIVE_JWE : roll < 76 ? Target.NATIVE_JWS
        : roll < 80 ? Target.NATIVE_RSA_JWE : roll < 90 ? Target.LEGACY_JWE : Target.LEGACY_JWS;
    RawMessage message = target.message();
    if (target == Target.LEGACY_JWS && random.nextInt(6) == 0) {
      // The downgrade: native claims signed in the legacy form.
      RawMessage claims = RawMessage.nativeMessage(LEGACY_ALICE, LEGACY_BOB.name(), LEGACY_BOB.publicKey());
      List<JsonText.Member> members = claims.claims.members();
      message.legacyText = members.size() > 0 && random.nextBoolean()
          ? new JsonText().raw(members.get(random.nextInt(members.size())).name(), pick(random, HOSTILE)).toString()
          : claims.claims.toString();
      // JSON that is no object (too deep, say) carries no claims: it is just a text then.
      String text = StrictJson.parseObject(message.legacyText) instanceof StrictJson.Parsed ? null : message.legacyText;
      return new Case(target + " " + Operation.LEGACY_TEXT_AS_CLAIMS + " " + SafeText.cut(message.legacyText, 80),
          message.build(), target.recipient(), text);
    }
    JsonText json = target.json.apply(message);
    List<JsonText.Member> members = json.members();
    JsonText.Member member = members.get(random.nextInt(members.size()));
    Operation op = Operation.values()[random.nextInt(4)];
    String expectedText = null;
    String description;
    switch (op) {
      case SET -> {
        String value;
        do {
          value = pick(random, HOSTILE);
        } while (value.equals(member.rawValue()));
        json.raw(member.name(), value);
        if (target == Target.NATIVE_CLAIMS && member.name().equals("msg")) {
          expectedText = textOf(value); // any well-formed text is a message a sender could write
        }
        description = target + " SET " + member.name() + " = " + SafeText.cut(value, 80);
      }
      case REMOVE -> {
        json.remove(member.name());
        description = target + " REMOVE " + member.name();
      }
      case DUPLICATE -> {
        String value = random.nextBoolean() ? member.rawValue() : pick(random, HOSTILE);
        json.append(member.name(), value);
        description = target + " DUPLICATE " + member.name() + " = " + SafeText.cut(value, 80);
      }
      default -> {
        String name;
        do {
          name = pick(random, UNKNOWN_NAMES);
        } while (json.rawValue(name) != null);
        String value = random.nextBoolean() ? JsonText.quote("x") : pick(random, HOSTILE);
        json.raw(name, value);
        description = target + " ADD " + SafeText.line(name) + " = " + SafeText.cut(value, 80);
      }
    }
    if (op != Operation.ADD_UNKNOWN) {
      mutatedMembers.add(target + "." + member.name());
    }
    return new Case(description, message.build(), target.recipient(), expectedText);
  }

  /** Raw byte changes of a valid payload: never openable (the same payload is not generated). */
  private Case byteCase(Random random) {
    int which = random.nextInt(validPayloads.size());
    byte[] seed = validPayloads.get(which);
    byte[] bytes;
    do {
      bytes = seed.clone();
      switch (random.nextInt(4)) {
        case 0 -> bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
        case 1 -> {
          for (int n = 1 + random.nextInt(8); n > 0; n--) {
            bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
          }
        }
        case 2 -> bytes = Arrays.copyOf(bytes, random.nextInt(bytes.length));
        default -> { // insert a hostile value's bytes somewhere
          byte[] insert = pick(random, HOSTILE).getBytes(StandardCharsets.UTF_8);
          insert = Arrays.copyOf(insert, Math.min(insert.length, 64));
          int at = random.nextInt(bytes.length);
          byte[] longer = new byte[bytes.length + insert.length];
          System.arraycopy(bytes, 0, longer, 0, at);
          System.arraycopy(insert, 0, longer, at, insert.length);
          System.arraycopy(bytes, at, longer, at + insert.length, bytes.length - at);
          bytes = longer;
        }
      }
    } while (Arrays.equals(bytes, seed));
    DeviceIdentity recipient = which < Target.values().length ? Target.values()[which].recipient() : LEGACY_BOB;
    return new Case("BYTES of valid payload " + which, bytes, recipient, null);
  }

  private void check(Case c, long seed, int index) {
    // The payload too: the crypto is randomized, so a byte mutation's payload differs from run to run.
    java.util.function.Supplier<String> where = () -> "case " + index + " (seed " + seed + ", -Ddanemsg.fuzz.seed=" + seed + "): " + c.description()
        + "; payload (base64) " + SafeText.cut(java.util.Base64.getEncoder().encodeToString(c.payload()), 2000);
    Envelope.OpenResult result;
    try {
      result = open(c.payload(), c.recipient());
    } catch (RuntimeException | Error e) {
      throw new AssertionError("an exception escaped open in " + where.get(), e);
    }
    if (result instanceof Envelope.Opened o) {
      if (c.expectedText() == null) {
        fail("a changed message opened in " + where.get() + ": " + o.message());
      }
      assertEquals(c.expectedText(), o.message().text(), where);
      opened++;
      return;
    }
    Rejection rejection = ((Envelope.Rejected) result).rejection();
    if (c.expectedText() != null && c.payload().length <= MAX_PAYLOAD) {
      fail("a message a sender could write was rejected in " + where.get() + ": " + rejection);
    }
    String detail = rejection.detail();
    assertTrue(detail != null && !detail.isBlank(), () -> "no detail in " + where.get());
    assertTrue(SafeText.isSafeLine(detail), () -> "unsafe detail in " + where.get() + ": " + SafeText.line(detail));
    assertTrue(detail.length() <= MAX_DETAIL, () -> detail.length() + " characters of detail in " + where.get());
    for (String internal : List.of("java.", "Exception", "ArrayList", "HashMap", "Infinity")) {
      assertTrue(!detail.contains(internal), () -> "Java internals in the detail in " + where.get() + ": " + detail);
    }
    reasons.merge(rejection.reason(), 1, Integer::sum);
  }

  private static Envelope.OpenResult open(byte[] payload, DeviceIdentity recipient) {
    PublicKey aliceKey = (recipient == LEGACY_BOB ? LEGACY_ALICE : ALICE).publicKey();
    List<PublicKey> keys = List.of(aliceKey, recipient == LEGACY_BOB ? ALICE.publicKey() : LEGACY_ALICE.publicKey());
    return ENVELOPE.open(payload, recipient.name(), List.of(recipient), name -> name.equals(ALICE.name())
        ? new Envelope.SenderKeys.Found(keys)
        : new Envelope.SenderKeys.Unavailable("no TLSA record at " + name));
  }

  /** The text a JSON value stands for when it is a string of well-formed Unicode, else {@code null}. */
  private static String textOf(String rawValue) {
    if (StrictJson.parseObject("{\"v\":" + rawValue + "}") instanceof StrictJson.Parsed parsed
        && parsed.members().get("v") instanceof String text && SafeText.wellFormed(text) == text) {
      return text;
    }
    return null;
  }

  private static String q(String text) {
    return JsonText.quote(text);
  }

  private static <T> T pick(Random random, List<T> list) {
    return list.get(random.nextInt(list.size()));
  }
}
