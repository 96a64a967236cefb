package org.danemsg.protocol.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.PublicKey;
import java.time.Instant;
import java.util.List;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.SafeText;
import org.danemsg.protocol.TlsaRecord;
import org.danemsg.testing.TestCertificates;
import org.junit.jupiter.api.Test;

/** Which published key a sender encrypts to, and what a result's description may hold. */
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

  @Test
  void escapesControlAndBidiCharactersOfAReasonFromDns() {
    LookupResult.Bogus bogus = new LookupResult.Bogus(SERVER, NAME, "sig expired\u001b[2J\nFAKE LOG LINE\u202e");

    assertEquals("sig expired\\x1b[2J\\nFAKE LOG LINE\\u202e", bogus.validatorReason());
    assertTrue(SafeText.isSafeLine(bogus.describe()), bogus.describe());
  }

  @Test
  void cutsAReasonFromDnsToTheLimitNamingWhatWasCut() {
    LookupResult.TransientFailure failure = new LookupResult.TransientFailure(SERVER, NAME,
        LookupResult.TransientFailure.Kind.BAD_RESPONSE, "x".repeat(100_000));

    assertTrue(failure.detail().length() <= LookupResult.MAX_REASON, failure.detail().length() + " chars");
    assertTrue(failure.detail().endsWith("…(+" + (100_000 - (LookupResult.MAX_REASON - 32)) + " chars)"),
        failure.detail());
  }

  @Test
  void leavesAReasonThatIsAlreadySafeAsItIs() {
    LookupResult.NoUsableKey once = new LookupResult.NoUsableKey(SERVER, NAME, List.of(),
        List.of("record 3 1 0 00: bad\u0007", "y".repeat(5000)), true, 60);

    LookupResult.NoUsableKey twice = new LookupResult.NoUsableKey(SERVER, NAME, List.of(), once.reasons(), true, 60);

    assertEquals(once.reasons(), twice.reasons());
  }
}
