package org.danemsg.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.RSAKeyGenParameterSpec;
import java.security.spec.RSAPublicKeySpec;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X962Parameters;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.danemsg.protocol.TlsaRecord.MatchingType;
import org.danemsg.protocol.TlsaRecord.Selector;
import org.danemsg.testing.TestCertificates;
import org.junit.jupiter.api.Test;

class TlsaRecordTest {

  private static final DeviceIdentity EC = DeviceIdentity.generate(
      DnsName.parse("ec._device.example.test"), KeyType.EC_P256, Duration.ofDays(1));
  private static final DeviceIdentity OTHER = DeviceIdentity.generate(
      DnsName.parse("other._device.example.test"), KeyType.EC_P256, Duration.ofDays(1));

  @Test
  void defaultRecordIsTheFullCertificate() throws Exception {
    TlsaRecord record = EC.tlsaRecord();
    assertEquals(3, record.usage());
    assertEquals(0, record.selector());
    assertEquals(0, record.matchingType());
    assertArrayEquals(EC.certificate().getEncoded(), record.data());
  }

  @Test
  void onlyAFullCertificateRecordGivesItsCertificate() {
    assertEquals(EC.certificate(), EC.tlsaRecord().certificate().orElseThrow());
    assertTrue(TlsaRecord.of(EC.certificate(), Selector.PUBLIC_KEY, MatchingType.EXACT).certificate().isEmpty());
    assertTrue(TlsaRecord.of(EC.certificate(), Selector.FULL_CERTIFICATE, MatchingType.SHA256).certificate()
        .isEmpty());
    assertTrue(TlsaRecord.parse("3 0 0 0102").certificate().isEmpty());
  }

  @Test
  void rendersAZoneFileLine() {
    TlsaRecord record = TlsaRecord.of(EC.certificate(), Selector.PUBLIC_KEY, MatchingType.SHA256);
    String line = record.zoneLine(EC.name(), 60);
    assertEquals("ec._device.example.test. 60 IN TLSA 3 1 1 " + EC.fingerprint(), line);
  }

  @Test
  void parsesWhatItRendersInEveryForm() {
    for (Selector selector : Selector.values()) {
      for (MatchingType matching : MatchingType.values()) {
        TlsaRecord record = TlsaRecord.of(EC.certificate(), selector, matching);
        assertEquals(record, TlsaRecord.parse(record.zoneLine(EC.name(), 300)));
        assertEquals(record, TlsaRecord.parse(record.rdata()));
        assertEquals(record, TlsaRecord.parse(record.rdata().toUpperCase()));
        assertTrue(record.matches(EC.certificate()), record.rdata());
        assertFalse(record.matches(OTHER.certificate()), record.rdata());
      }
    }
  }

  @Test
  void parsesHexSplitAcrossWhiteSpace() {
    TlsaRecord record = TlsaRecord.parse("3 1 1 0102 0304\n\t0506");
    assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6}, record.data());
  }

  @Test
  void readsTheOriginalsTlsaOutputAndZoneSnippet() {
    DeviceIdentity alice = LegacyVectors.identity(LegacyVectors.ALICE);
    TlsaRecord fromTool = TlsaRecord.parse(LegacyVectors.text("alice._device.example.test.tlsa.txt"));
    assertTrue(fromTool.matches(alice.certificate()));
    String snippetLine = LegacyVectors.text("zone-snippet.txt").lines()
        .filter(l -> l.startsWith("alice.")).findFirst().orElseThrow();
    assertEquals(fromTool, TlsaRecord.parse(snippetLine));
    assertEquals(snippetLine.strip(), fromTool.zoneLine(LegacyVectors.ALICE, 60));
  }

  @Test
  void extractsTheKeyFromFullCertificateAndFullKeyRecords() {
    for (Selector selector : Selector.values()) {
      TlsaRecord record = TlsaRecord.of(EC.certificate(), selector, MatchingType.EXACT);
      TlsaRecord.UsableKey usable = assertInstanceOf(TlsaRecord.UsableKey.class, record.publicKey());
      assertEquals(EC.publicKey(), usable.key());
    }
  }

  @Test
  void anEcKeyIsConscryptsWhereConscryptIsInUse() {
    for (Selector selector : Selector.values()) {
      PublicKey key = assertInstanceOf(TlsaRecord.UsableKey.class,
          TlsaRecord.of(EC.certificate(), selector, MatchingType.EXACT).publicKey()).key();
      assertArrayEquals(EC.publicKey().getEncoded(), key.getEncoded());
      // Conscrypt loads on x86-64 and arm64 (CryptoProvidersTest); its key needs no rebuilding to be used
      assertEquals(CryptoProviders.conscrypt().isPresent(), key.getClass().getName().startsWith("org.conscrypt."),
          key.getClass().getName());
    }
  }

  @Test
  void anEcKeyWithExplicitCurveParametersIsUsableAsWithoutConscrypt() throws Exception {
    // BoringSSL takes named curves only; the key is then made by the next factory, as it was before
    X9ECParameters p256 = org.bouncycastle.asn1.x9.ECNamedCurveTable.getByName("P-256");
    java.security.interfaces.ECPublicKey ec = (java.security.interfaces.ECPublicKey) EC.publicKey();
    byte[] point = p256.getCurve().createPoint(ec.getW().getAffineX(), ec.getW().getAffineY()).getEncoded(false);
    byte[] explicit = new SubjectPublicKeyInfo(new AlgorithmIdentifier(X9ObjectIdentifiers.id_ecPublicKey,
        new X962Parameters(p256)), point).getEncoded("DER");
    PublicKey key = assertInstanceOf(TlsaRecord.UsableKey.class,
        new TlsaRecord(3, 1, 0, explicit).publicKey()).key();
    assertEquals(ec.getW(), ((java.security.interfaces.ECPublicKey) key).getW());
  }

  @Test
  void aPointOffTheCurveIsRefused() throws Exception {
    java.security.interfaces.ECPublicKey ec = (java.security.interfaces.ECPublicKey) EC.publicKey();
    byte[] point = new byte[65];
    point[0] = 4;
    copyCoordinate(ec.getW().getAffineX(), point, 1);
    copyCoordinate(ec.getW().getAffineY().add(BigInteger.ONE), point, 33);
    byte[] offCurve = new SubjectPublicKeyInfo(new AlgorithmIdentifier(X9ObjectIdentifiers.id_ecPublicKey,
        SECObjectIdentifiers.secp256r1), point).getEncoded("DER");
    TlsaRecord.UnusableRecord unusable = assertInstanceOf(TlsaRecord.UnusableRecord.class,
        new TlsaRecord(3, 1, 0, offCurve).publicKey());
    assertEquals("selector 1 data is not a DER SubjectPublicKeyInfo of an EC or RSA key", unusable.reason());
  }

  private static void copyCoordinate(BigInteger value, byte[] to, int at) {
    byte[] bytes = value.toByteArray(); // big-endian, perhaps with a leading zero or fewer than 32 bytes
    int length = Math.min(bytes.length, 32);
    System.arraycopy(bytes, bytes.length - length, to, at + 32 - length, length);
  }

  @Test
  void aHashRecordCannotSupplyAKey() {
    TlsaRecord record = TlsaRecord.of(EC.certificate(), Selector.PUBLIC_KEY, MatchingType.SHA256);
    TlsaRecord.UnusableRecord unusable = assertInstanceOf(TlsaRecord.UnusableRecord.class, record.publicKey());
    assertTrue(unusable.reason().contains("hash"), unusable.reason());
  }

  @Test
  void onlyDaneEeUsageIsUsable() throws Exception {
    TlsaRecord record = new TlsaRecord(1, 0, 0, EC.certificate().getEncoded());
    TlsaRecord.UnusableRecord unusable = assertInstanceOf(TlsaRecord.UnusableRecord.class, record.publicKey());
    assertTrue(unusable.reason().contains("usage 1"), unusable.reason());
    assertFalse(record.matches(EC.certificate()));
  }

  @Test
  void dataThatIsNotACertificateOrKeyIsUnusable() {
    byte[] junk = HexFormat.of().parseHex("deadbeef");
    var cert = assertInstanceOf(TlsaRecord.UnusableRecord.class, new TlsaRecord(3, 0, 0, junk).publicKey());
    assertTrue(cert.reason().contains("not a DER X.509 certificate"), cert.reason());
    var spki = assertInstanceOf(TlsaRecord.UnusableRecord.class, new TlsaRecord(3, 1, 0, junk).publicKey());
    assertTrue(spki.reason().contains("SubjectPublicKeyInfo"), spki.reason());
    var selector = assertInstanceOf(TlsaRecord.UnusableRecord.class, new TlsaRecord(3, 7, 0, junk).publicKey());
    assertTrue(selector.reason().contains("selector 7"), selector.reason());
  }

  @Test
  void rejectsMalformedPresentationWithAReason() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> TlsaRecord.parse("3 0 0"))
        .getMessage().contains("needs usage, selector, matching type and data"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> TlsaRecord.parse("3 0 0 xyz0"))
        .getMessage().contains("not hex"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> TlsaRecord.parse("3 0 0 abc"))
        .getMessage().contains("not hex"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> TlsaRecord.parse("300 0 0 ab"))
        .getMessage().contains("usage must be 0..255"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> TlsaRecord.parse("x. 60 IN TLSA three 0 0 ab"))
        .getMessage().contains("usage must be a number"));
    assertThrows(IllegalArgumentException.class, () -> TlsaRecord.parse(""));
  }

  @Test
  void anRsaKeyOf1024BitsIsUnusable() throws Exception {
    KeyPair small = rsaKeys(1024);
    for (TlsaRecord record : recordsFor(small)) {
      TlsaRecord.UnusableRecord unusable = assertInstanceOf(TlsaRecord.UnusableRecord.class, record.publicKey());
      assertEquals("RSA key of 1024 bits is too short (at least 2048 bits)", unusable.reason());
    }
  }

  @Test
  void anRsaKeyOf8192BitsIsUnusable() {
    TestCertificates.Identity huge = TestCertificates.rsaPublicKeyOnly(DnsName.parse("rsa._device.example.test"), 8192);
    List<TlsaRecord> records = List.of(TlsaRecord.of(huge.certificate()),
        TlsaRecord.ofKey(huge.certificate().getPublicKey(), MatchingType.EXACT));
    for (TlsaRecord record : records) {
      TlsaRecord.UnusableRecord unusable = assertInstanceOf(TlsaRecord.UnusableRecord.class, record.publicKey());
      assertEquals("RSA key of 8192 bits: only 2048 to 4096 are accepted", unusable.reason());
    }
  }

  @Test
  void anRsaKeyOf4096BitsIsUsable() throws Exception {
    PublicKey largest = rsaPublicKey(4096, RSAKeyGenParameterSpec.F4);
    TlsaRecord record = TlsaRecord.ofKey(largest, MatchingType.EXACT);
    assertEquals(largest, assertInstanceOf(TlsaRecord.UsableKey.class, record.publicKey()).key());
  }

  @Test
  void anRsaKeyWithAHugePublicExponentIsUnusable() throws Exception {
    PublicKey costly = rsaPublicKey(2048, BigInteger.ONE.shiftLeft(2000).add(BigInteger.ONE));
    TlsaRecord record = TlsaRecord.ofKey(costly, MatchingType.EXACT);
    TlsaRecord.UnusableRecord unusable = assertInstanceOf(TlsaRecord.UnusableRecord.class, record.publicKey());
    assertEquals("RSA public exponent of 2001 bits: at most 32 are accepted (65537 is usual)", unusable.reason());
  }

  /** The full-certificate and the full-key record of {@code keys}' public key. */
  private static List<TlsaRecord> recordsFor(KeyPair keys) {
    DnsName name = DnsName.parse("rsa._device.example.test");
    var certificate = TestCertificates.withKeys(name, keys).certificate();
    return List.of(TlsaRecord.of(certificate), TlsaRecord.ofKey(keys.getPublic(), MatchingType.EXACT));
  }

  private static KeyPair rsaKeys(int bits) throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(bits);
    return generator.generateKeyPair();
  }

  /** An RSA public key whose modulus is a random odd number of exactly {@code bits} bits. */
  private static PublicKey rsaPublicKey(int bits, BigInteger exponent) throws GeneralSecurityException {
    BigInteger modulus = new BigInteger(bits, new SecureRandom()).setBit(bits - 1).setBit(0);
    return KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(modulus, exponent));
  }
}
