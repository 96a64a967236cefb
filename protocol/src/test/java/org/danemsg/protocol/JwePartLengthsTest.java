package org.danemsg.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The part lengths the algorithms fix are checked before any crypto: a JWE with another IV or tag
 * length, or an ECDH-ES JWE with bytes in its (unused) encrypted key part, is malformed whichever
 * provider would have accepted it (Conscrypt refuses an 8- or 16-byte GCM IV, the JDK accepts one).
 */
class JwePartLengthsTest {

  private static final DnsName BOB = DnsName.parse("bob._device.example.test");
  private static final DnsName ALICE = DnsName.parse("alice._device.example.test");
  private static final DeviceIdentity BOB_EC = DeviceIdentity.generate(BOB, KeyType.EC_P256,
      DeviceIdentity.DEFAULT_VALIDITY);
  private static final DeviceIdentity BOB_RSA = DeviceIdentity.generate(BOB, KeyType.RSA,
      DeviceIdentity.DEFAULT_VALIDITY);
  private static final DeviceIdentity ALICE_EC = DeviceIdentity.generate(ALICE, KeyType.EC_P256,
      DeviceIdentity.DEFAULT_VALIDITY);

  private final Envelope envelope = new Envelope();

  private static String b64(int bytes) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(new byte[bytes]);
  }

  private String[] sealed(DeviceIdentity to) throws Exception {
    byte[] payload = envelope.seal("part lengths", ALICE_EC, BOB, to.publicKey());
    return new String(payload, StandardCharsets.US_ASCII).split("\\.", -1);
  }

  private Rejection opened(String[] parts, DeviceIdentity own) {
    Envelope.DecryptResult result = envelope.decrypt(String.join(".", parts).getBytes(StandardCharsets.US_ASCII),
        BOB, List.of(own));
    return assertInstanceOf(Envelope.Rejected.class, result).rejection();
  }

  @Test
  void theSealedMessageHasTheLengthsItsAlgorithmsFix() throws Exception {
    String[] ec = sealed(BOB_EC);
    assertEquals("", ec[1]);
    assertEquals(b64(12).length(), ec[2].length());
    assertEquals(b64(16).length(), ec[4].length());
    assertInstanceOf(Envelope.Decrypted.class, envelope.decrypt(String.join(".", ec)
        .getBytes(StandardCharsets.US_ASCII), BOB, List.of(BOB_EC)));
  }

  @Test
  void anotherIvLengthIsMalformedBeforeAnyCrypto() throws Exception {
    for (int length : new int[] {8, 11, 13, 16}) {
      String[] parts = sealed(BOB_EC);
      parts[2] = b64(length);
      Rejection rejection = opened(parts, BOB_EC);
      assertEquals(Rejection.Reason.NOT_A_JWE, rejection.reason(), rejection.detail());
      assertTrue(rejection.detail().contains("12-byte IV"), rejection.detail());
    }
  }

  @Test
  void anotherTagLengthIsMalformed() throws Exception {
    String[] parts = sealed(BOB_RSA);
    parts[4] = b64(12);
    Rejection rejection = opened(parts, BOB_RSA);
    assertEquals(Rejection.Reason.NOT_A_JWE, rejection.reason(), rejection.detail());
    assertTrue(rejection.detail().contains("16-byte tag"), rejection.detail());
  }

  @Test
  void bytesInTheEncryptedKeyOfEcdhEsAreMalformed() throws Exception {
    String[] parts = sealed(BOB_EC);
    parts[1] = b64(32);
    Rejection rejection = opened(parts, BOB_EC);
    assertEquals(Rejection.Reason.NOT_A_JWE, rejection.reason(), rejection.detail());
    assertTrue(rejection.detail().contains("encrypted key part must be empty"), rejection.detail());
  }
}
