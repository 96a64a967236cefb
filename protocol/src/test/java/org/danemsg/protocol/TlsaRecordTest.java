package org.danemsg.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HexFormat;
import org.danemsg.protocol.TlsaRecord.MatchingType;
import org.danemsg.protocol.TlsaRecord.Selector;
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
}
