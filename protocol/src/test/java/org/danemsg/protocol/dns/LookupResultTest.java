package org.danemsg.protocol.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.PublicKey;
import java.time.Instant;
import java.util.List;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.TlsaRecord;
import org.danemsg.testing.TestCertificates;
import org.junit.jupiter.api.Test;

/** Which published key a sender encrypts to. */
class LookupResultTest {

  private static final DnsServer SERVER = DnsServer.parse("127.0.0.1:53");
  private static final DnsName NAME = DnsName.parse("bob._device.example.test");
  private static final Instant T = Instant.parse("2025-01-01T00:00:00Z");

  private static final TestCertificates.Identity OLD = TestCertificates.ec(NAME, T);
  private static final TestCertificates.Identity NEW = TestCertificates.ec(NAME, T.plusSeconds(3600));

  private static TlsaRecord record(TestCertificates.Identity identity) {
    return TlsaRecord.of(identity.certificate());
  }

  private static PublicKey key(TestCertificates.Identity identity) {
    return identity.certificate().getPublicKey();
  }

  private static LookupResult secure(List<TlsaRecord> records, List<PublicKey> keys) {
    return new LookupResult.Secure(SERVER, NAME, records, keys, List.of(), 60);
  }

  @Test
  void sendersEncryptToTheKeyWithTheNewestCertificateWhateverTheRecordOrder() {
    assertEquals(key(NEW), secure(List.of(record(OLD), record(NEW)), List.of(key(OLD), key(NEW)))
        .newestKey().orElseThrow());
    assertEquals(key(NEW), secure(List.of(record(NEW), record(OLD)), List.of(key(NEW), key(OLD)))
        .newestKey().orElseThrow());
  }

  @Test
  void aSingleKeyIsTheNewest() {
    assertEquals(key(OLD), secure(List.of(record(OLD)), List.of(key(OLD))).newestKey().orElseThrow());
  }

  @Test
  void withoutCertificateDatesTheLastUsableKeyIsTaken() {
    List<TlsaRecord> bareKeys = List.of(TlsaRecord.ofKey(key(NEW), TlsaRecord.MatchingType.EXACT),
        TlsaRecord.ofKey(key(OLD), TlsaRecord.MatchingType.EXACT));
    assertEquals(key(OLD), secure(bareKeys, List.of(key(NEW), key(OLD))).newestKey().orElseThrow());
  }

  @Test
  void aDatedCertificateWinsOverABareKey() {
    List<TlsaRecord> records = List.of(record(OLD), TlsaRecord.ofKey(key(NEW), TlsaRecord.MatchingType.EXACT));
    assertEquals(key(OLD), secure(records, List.of(key(OLD), key(NEW))).newestKey().orElseThrow());
  }

  @Test
  void unauthenticatedResultsChooseTheSameWay() {
    LookupResult lab = new LookupResult.Unauthenticated(SERVER, NAME, List.of(record(NEW), record(OLD)),
        List.of(key(NEW), key(OLD)), List.of(), 60);
    assertEquals(key(NEW), lab.newestKey().orElseThrow());
  }

  @Test
  void thereIsNoNewestKeyWithoutAUsableKey() {
    assertTrue(new LookupResult.NoRecords(SERVER, NAME, true).newestKey().isEmpty());
  }
}
