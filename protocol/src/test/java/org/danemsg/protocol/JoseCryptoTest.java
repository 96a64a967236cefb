package org.danemsg.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.jose4j.jws.EcdsaUsingShaAlgorithm;
import org.junit.jupiter.api.Test;

class JoseCryptoTest {

  private static final DeviceIdentity ALICE = TestIdentities.of("alice._device.example.test", KeyType.EC_P256);
  private static final DeviceIdentity BOB = TestIdentities.of("bob._device.example.test", KeyType.EC_P256);
  private static final DeviceIdentity BOB_RSA = TestIdentities.of("bob._device.example.test", KeyType.RSA);

  @Test
  void convertsEs256SignaturesToDerExactlyAsJose4jDoes() throws Exception {
    Random random = new Random(0xde4);
    for (int i = 0; i < 20_000; i++) {
      byte[] signature = new byte[random.nextInt(4) == 0 ? 2 + random.nextInt(63) : 64];
      random.nextBytes(signature);
      // Leading zeros and high bits, where the encoding has its cases.
      int half = signature.length / 2;
      for (int zeros = random.nextInt(3) == 0 ? Math.min(half, random.nextInt(4)) : 0, k = 0; k < zeros; k++) {
        signature[k] = 0;
        signature[half + k] = random.nextBoolean() ? 0 : signature[half + k];
      }
      assertArrayEquals(EcdsaUsingShaAlgorithm.convertConcatenatedToDer(signature),
          JoseCrypto.concatenatedToDer(signature));
    }
  }

  @Test
  void opensAMessageRightAfterOneThatFailedItsTagCheckOnTheSameThread() throws Exception {
    Envelope envelope = new Envelope();
    for (DeviceIdentity recipient : List.of(BOB, BOB_RSA)) {
      byte[] good = envelope.seal("after the bad one", ALICE, recipient.name(), recipient.publicKey());
      String[] parts = new String(good, StandardCharsets.US_ASCII).split("\\.", -1);
      byte[] tag = java.util.Base64.getUrlDecoder().decode(parts[4]);
      tag[0] ^= 1;
      parts[4] = RawJose.b64(tag);
      byte[] bad = String.join(".", parts).getBytes(StandardCharsets.US_ASCII);
      for (int i = 0; i < 3; i++) {
        Envelope.DecryptResult failed = envelope.decrypt(bad, recipient.name(), List.of(recipient));
        assertEquals(Rejection.Reason.DECRYPTION_FAILED, ((Envelope.Rejected) failed).rejection().reason());
        assertInstanceOf(Envelope.Decrypted.class, envelope.decrypt(good, recipient.name(), List.of(recipient)));
      }
    }
  }

  @Test
  void threadsDecryptAndVerifyAtOnceEachWithItsOwnEngines() throws Exception {
    Envelope envelope = new Envelope();
    List<byte[]> payloads = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      DeviceIdentity recipient = i % 4 == 0 ? BOB_RSA : BOB;
      payloads.add(envelope.seal("message " + i, ALICE, recipient.name(), recipient.publicKey()));
    }
    ExecutorService threads = Executors.newFixedThreadPool(4);
    try {
      List<Future<String>> results = new ArrayList<>();
      for (int round = 0; round < 10; round++) {
        for (int i = 0; i < payloads.size(); i++) {
          byte[] payload = payloads.get(i);
          DeviceIdentity recipient = i % 4 == 0 ? BOB_RSA : BOB;
          results.add(threads.submit(() -> {
            Envelope.OpenResult opened = envelope.open(payload, recipient.name(), List.of(recipient),
                name -> new Envelope.SenderKeys.Found(List.of(ALICE.publicKey())));
            return ((Envelope.Opened) opened).message().text();
          }));
        }
      }
      for (int k = 0; k < results.size(); k++) {
        assertEquals("message " + (k % payloads.size()), results.get(k).get());
      }
    } finally {
      threads.shutdownNow();
    }
  }

  @Test
  void makesEachKeyReadyOncePerKeyObject() {
    JoseCrypto crypto = new JoseCrypto(true, true);
    assertSame(crypto.senderKey(ALICE.publicKey()), crypto.senderKey(ALICE.publicKey()));
    assertSame(crypto.ownKey(BOB), crypto.ownKey(BOB));
    assertNull(crypto.senderKey(ALICE.publicKey()).problem());
  }

  @Test
  void refusesAnEphemeralKeyOffTheCurve() {
    JoseCrypto crypto = new JoseCrypto(true, true);
    byte[] x = new byte[32];
    byte[] y = new byte[32];
    x[31] = 1;
    y[31] = 1;
    assertNull(crypto.ephemeralKey(x, y));
  }
}
