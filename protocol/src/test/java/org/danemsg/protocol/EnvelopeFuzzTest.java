package org.danemsg.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random and mutated payloads into {@link Envelope#open}: no exception escapes, and every case is
 * either a valid message or a rejection with a reason and a detail. Seeded, so a failure repeats.
 */
class EnvelopeFuzzTest {

  private static final long SEED = 0x5eed_da7e_2026L;
  private static final DeviceIdentity ALICE = TestIdentities.of("alice._device.example.test", KeyType.EC_P256);
  private static final DeviceIdentity BOB = TestIdentities.of("bob._device.example.test", KeyType.EC_P256);
  private static final DeviceIdentity ALICE_RSA = TestIdentities.of("alice._device.example.test", KeyType.RSA);
  private static final DeviceIdentity BOB_RSA = TestIdentities.of("bob._device.example.test", KeyType.RSA);
  private static final DeviceIdentity LEGACY_BOB = LegacyVectors.identity(LegacyVectors.BOB);

  private final Envelope envelope = new Envelope(Envelope.Settings.defaults()
      .withLegacyPeers(LegacyPeers.parse("alice._device.example.test")));
  private final Map<Rejection.Reason, Integer> reasons = new EnumMap<>(Rejection.Reason.class);
  private int opened;

  @Test
  void randomAndMutatedPayloadsAlwaysGiveAReasonOrAMessage() throws Exception {
    Random random = new Random(SEED);
    List<byte[]> seeds = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      seeds.add(envelope.seal("fuzz seed " + i, ALICE, BOB.name(), BOB.publicKey()));
    }
    seeds.add(envelope.seal("rsa seed", ALICE_RSA, BOB.name(), BOB.publicKey()));
    seeds.add(envelope.seal("legacy seed", ALICE_RSA, BOB_RSA.name(), BOB_RSA.publicKey(), Profile.LEGACY));
    seeds.add(LegacyVectors.bytes("message-1.payload.json"));
    seeds.add(LegacyVectors.bytes("accepted-variant.payload.json"));
    seeds.add(LegacyVectors.bytes("compact-jwe-not-jws.payload.txt"));

    int cases = 0;
    for (int i = 0; i < 1500; i++, cases++) {
      check(randomBytes(random));
    }
    for (int i = 0; i < 1500; i++, cases++) {
      check(randomJoseLike(random));
    }
    for (int i = 0; i < 4000; i++, cases++) {
      byte[] seed = seeds.get(random.nextInt(seeds.size()));
      byte[] mutant = mutate(seed, random);
      if (check(mutant) && !java.util.Arrays.equals(seed, mutant)) {
        fail("a changed payload opened: " + new String(mutant, StandardCharsets.ISO_8859_1));
      }
    }
    assertEquals(7000, cases);
    // Sanity: the seeds themselves still open, so the harness is not rejecting everything.
    for (byte[] seed : seeds.subList(0, 7)) {
      org.junit.jupiter.api.Assertions.assertInstanceOf(Envelope.Opened.class, open(seed));
    }
    System.out.println("fuzz: " + cases + " cases, " + opened + " opened, rejections " + reasons);
  }

  /** Opens one case; true when it opened. */
  private boolean check(byte[] payload) {
    Envelope.OpenResult result;
    try {
      result = open(payload);
    } catch (RuntimeException e) {
      fail("exception escaped for payload " + Base64.getEncoder().encodeToString(payload), e);
      return false;
    }
    if (result instanceof Envelope.Rejected rejected) {
      assertNotNull(rejected.rejection().reason());
      if (rejected.rejection().detail() == null || rejected.rejection().detail().isBlank()) {
        fail("rejection without detail: " + rejected.rejection());
      }
      reasons.merge(rejected.rejection().reason(), 1, Integer::sum);
      return false;
    }
    opened++;
    return true;
  }

  private Envelope.OpenResult open(byte[] payload) {
    return envelope.open(payload, BOB.name(), List.of(BOB, BOB_RSA, LEGACY_BOB), name -> name.equals(ALICE.name())
        ? new Envelope.SenderKeys.Found(List.of(ALICE.publicKey(), ALICE_RSA.publicKey(),
            LegacyVectors.identity(LegacyVectors.ALICE).publicKey()))
        : new Envelope.SenderKeys.Unavailable("no TLSA record at " + name));
  }

  private static byte[] randomBytes(Random random) {
    byte[] bytes = new byte[random.nextInt(300)];
    random.nextBytes(bytes);
    return bytes;
  }

  /** Dots, base64url and JSON fragments: gets past the first checks more often than noise does. */
  private static byte[] randomJoseLike(Random random) {
    String[] pieces = {".", "{", "}", "\"protected\":", "\"ciphertext\":", "\"recipients\":[]", ",", "\"",
        "eyJhbGciOiJFQ0RILUVTIiwiZW5jIjoiQTI1NkdDTSJ9", "eyJhbGciOiJub25lIn0", "AAAA", "_-", "null", "[", "]"};
    StringBuilder sb = new StringBuilder();
    int n = random.nextInt(40);
    for (int i = 0; i < n; i++) {
      sb.append(pieces[random.nextInt(pieces.length)]);
    }
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] mutate(byte[] seed, Random random) {
    byte[] bytes = seed.clone();
    switch (random.nextInt(5)) {
      case 0 -> bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
      case 1 -> { // several byte changes
        for (int i = 0; i < 1 + random.nextInt(8); i++) {
          bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
        }
      }
      case 2 -> { // truncate
        bytes = java.util.Arrays.copyOf(bytes, random.nextInt(bytes.length));
      }
      case 3 -> { // swap two base64url characters
        int a = random.nextInt(bytes.length);
        int b = random.nextInt(bytes.length);
        byte t = bytes[a];
        bytes[a] = bytes[b];
        bytes[b] = t;
      }
      default -> { // duplicate a slice
        int from = random.nextInt(bytes.length);
        int to = Math.min(bytes.length, from + random.nextInt(64));
        byte[] longer = new byte[bytes.length + (to - from)];
        System.arraycopy(bytes, 0, longer, 0, to);
        System.arraycopy(bytes, from, longer, to, to - from);
        System.arraycopy(bytes, to, longer, 2 * to - from, bytes.length - to);
        bytes = longer;
      }
    }
    return bytes;
  }
}
