package org.danemsg.protocol.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.TlsaRecord;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.TestCertificates;
import org.danemsg.testing.TestCertificates.Identity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

class DaneLookupTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();

  private final DaneLookup lookup = DaneLookup.create(knot.lookupSettings());

  @Test
  void findsTheValidatedKeyOfAnEcIdentity() {
    Identity alice = TestCertificates.ec(knot.uniqueName("alice"));
    knot.publish(alice.name(), TlsaRecord.of(alice.certificate()));

    LookupResult result = lookup.lookup(alice.name());

    LookupResult.Secure secure = assertInstanceOf(LookupResult.Secure.class, result, result.describe());
    assertEquals(List.of(alice.keys().getPublic()), secure.usableKeys());
    assertEquals(List.of(TlsaRecord.of(alice.certificate())), secure.records());
    assertEquals(60, secure.ttlSeconds());
    assertEquals(knot.server(), secure.server());
    assertTrue(secure.unusable().isEmpty());
  }

  @Test
  void findsTheValidatedKeyOfAnRsaIdentity() {
    Identity bob = TestCertificates.rsa(knot.uniqueName("bob"));
    knot.publish(bob.name(), TlsaRecord.of(bob.certificate()));

    LookupResult result = lookup.lookup(bob.name());

    LookupResult.Secure secure = assertInstanceOf(LookupResult.Secure.class, result, result.describe());
    assertEquals(List.of(bob.keys().getPublic()), secure.usableKeys());
  }

  @Test
  void fetchesAnAnswerTooLargeForUdpOverTcp() throws IOException {
    DnsName carol = knot.uniqueName("carol");
    Identity first = TestCertificates.rsa(carol);
    Identity second = TestCertificates.rsa(carol);
    knot.publish(carol, TlsaRecord.of(first.certificate()));
    knot.addRecord(carol, TlsaRecord.of(second.certificate()));
    assertTrue(udpAnswerIsTruncated(carol), "precondition: the UDP answer is truncated");

    LookupResult result = lookup.lookup(carol);

    LookupResult.Secure secure = assertInstanceOf(LookupResult.Secure.class, result, result.describe());
    assertEquals(Set.of(first.keys().getPublic(), second.keys().getPublic()), Set.copyOf(secure.usableKeys()));
  }

  @Test
  void givesEveryKeyWhenANameHasTwoRecords() {
    DnsName dave = knot.uniqueName("dave");
    Identity old = TestCertificates.ec(dave);
    Identity rolled = TestCertificates.ec(dave);
    knot.publish(dave, TlsaRecord.of(old.certificate()));
    knot.addRecord(dave, TlsaRecord.ofKey(rolled.keys().getPublic(), TlsaRecord.MatchingType.EXACT));

    LookupResult result = lookup.lookup(dave);

    LookupResult.Secure secure = assertInstanceOf(LookupResult.Secure.class, result, result.describe());
    assertEquals(Set.of(old.keys().getPublic(), rolled.keys().getPublic()), Set.copyOf(secure.usableKeys()));
    assertEquals(2, secure.records().size());
  }

  @Test
  void reportsASecureAnswerWithoutUsableRecordsWithTheReasons() {
    DnsName erin = knot.uniqueName("erin");
    Identity identity = TestCertificates.ec(erin);
    knot.publish(erin, TlsaRecord.of(identity.certificate(), TlsaRecord.Selector.FULL_CERTIFICATE,
        TlsaRecord.MatchingType.SHA256));

    LookupResult result = lookup.lookup(erin);

    LookupResult.NoUsableKey none = assertInstanceOf(LookupResult.NoUsableKey.class, result, result.describe());
    assertTrue(none.authenticated());
    assertEquals(1, none.reasons().size());
    assertTrue(none.reasons().get(0).contains("hash"), none.reasons().get(0));
  }

  @Test
  void reportsANameThatDoesNotExist() {
    LookupResult result = lookup.lookup(knot.uniqueName("nobody"));

    LookupResult.NoSuchName none = assertInstanceOf(LookupResult.NoSuchName.class, result, result.describe());
    assertTrue(none.authenticated());
  }

  @Test
  void reportsANameWithoutTlsaRecords() {
    LookupResult result = lookup.lookup(knot.nameWithoutTlsa());

    LookupResult.NoRecords none = assertInstanceOf(LookupResult.NoRecords.class, result, result.describe());
    assertTrue(none.authenticated());
  }

  @Test
  void treatsAnUnsignedZoneAsInsecureWithoutKeys() {
    Identity frank = TestCertificates.ec(knot.uniqueName("frank", KnotServer.UNSIGNED_ZONE));
    knot.publish(frank.name(), TlsaRecord.of(frank.certificate()));

    LookupResult result = lookup.lookup(frank.name());

    LookupResult.Insecure insecure = assertInstanceOf(LookupResult.Insecure.class, result, result.describe());
    assertEquals(1, insecure.records().size());
    assertTrue(insecure.usableKeys().isEmpty());
    assertFalse(insecure.reason().isBlank());
  }

  @Test
  void givesUnsignedKeysLabelledUnauthenticatedInLabMode() {
    Identity grace = TestCertificates.ec(knot.uniqueName("grace", KnotServer.UNSIGNED_ZONE));
    knot.publish(grace.name(), TlsaRecord.of(grace.certificate()));
    DaneLookup lab = DaneLookup.create(DaneLookup.Settings.withoutDnssec(knot.server()));

    LookupResult result = lab.lookup(grace.name());

    LookupResult.Unauthenticated unauthenticated =
        assertInstanceOf(LookupResult.Unauthenticated.class, result, result.describe());
    assertEquals(List.of(grace.keys().getPublic()), unauthenticated.usableKeys());
    assertTrue(result.describe().contains("UNAUTHENTICATED"), result.describe());
  }

  @Test
  void reportsBogusWithTheValidatorsReasonWhenTheTrustAnchorIsWrong() {
    Identity heidi = TestCertificates.ec(knot.uniqueName("heidi"));
    knot.publish(heidi.name(), TlsaRecord.of(heidi.certificate()));
    DaneLookup wrong = DaneLookup.create(
        knot.lookupSettings().withTrustAnchors(TrustAnchors.fromFile(knot.wrongAnchorFile())));

    LookupResult result = wrong.lookup(heidi.name());

    LookupResult.Bogus bogus = assertInstanceOf(LookupResult.Bogus.class, result, result.describe());
    assertTrue(bogus.validatorReason().contains("example.test"), bogus.validatorReason());
    assertTrue(bogus.usableKeys().isEmpty());
  }

  @Test
  void acceptsTheZonesDnskeyAsTrustAnchor() {
    Identity ivan = TestCertificates.ec(knot.uniqueName("ivan"));
    knot.publish(ivan.name(), TlsaRecord.of(ivan.certificate()));
    DaneLookup byDnskey = DaneLookup.create(
        knot.lookupSettings().withTrustAnchors(TrustAnchors.fromFile(knot.dnskeyAnchorFile())));

    LookupResult result = byDnskey.lookup(ivan.name());

    assertInstanceOf(LookupResult.Secure.class, result, result.describe());
  }

  @Test
  void givesATimeoutWhenTheServerNeverAnswers() throws IOException {
    try (DatagramSocket silent = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
      Thread drain = new Thread(() -> drop(silent), "silent DNS server");
      drain.setDaemon(true);
      drain.start();
      DaneLookup unanswered = DaneLookup.create(
          DaneLookup.Settings.validating(new DnsServer("127.0.0.1", silent.getLocalPort()), knot.trustAnchors())
              .withTimeout(Duration.ofMillis(300)));

      LookupResult result = unanswered.lookup(DnsName.parse("judy._device.example.test"));

      LookupResult.TransientFailure failure =
          assertInstanceOf(LookupResult.TransientFailure.class, result, result.describe());
      assertEquals(LookupResult.TransientFailure.Kind.TIMEOUT, failure.kind());
      assertTrue(failure.isTransient());
    }
  }

  @Test
  void countsOneUpstreamTlsaQueryPerLookup() {
    AtomicInteger tlsaQueries = new AtomicInteger();
    Identity ken = TestCertificates.ec(knot.uniqueName("ken"));
    knot.publish(ken.name(), TlsaRecord.of(ken.certificate()));
    DaneLookup counted = new DnsjavaLookup(knot.lookupSettings(), upstream -> new CountingResolver(upstream, tlsaQueries));

    counted.lookup(ken.name());
    counted.lookup(ken.name());

    assertEquals(2, tlsaQueries.get());
  }

  @Test
  void aWarmUpRehearsesTheLookupFromTheAnswersItGotWithoutTheServer() throws IOException {
    Identity lena = TestCertificates.ec(knot.uniqueName("lena"));
    knot.publish(lena.name(), TlsaRecord.of(lena.certificate()));
    AtomicInteger tlsaQueries = new AtomicInteger();
    RecordedAnswers answers = new RecordedAnswers();
    DnsjavaLookup recording = new DnsjavaLookup(knot.lookupSettings(),
        server -> answers.recording(new CountingResolver(server, tlsaQueries)));
    assertInstanceOf(LookupResult.Secure.class, recording.lookup(lena.name()));
    assertEquals(1, tlsaQueries.get());
    assertTrue(answers.size() >= 2, "the TLSA answer and the zone's keys: " + answers.size());

    // the same rounds through a lookup whose server does not exist: every answer comes from memory
    int deadPort;
    try (DatagramSocket socket = new DatagramSocket(0, java.net.InetAddress.getLoopbackAddress())) {
      deadPort = socket.getLocalPort();
    }
    DaneLookup.Settings nowhere = new DaneLookup.Settings(DnsServer.parse("127.0.0.1:" + deadPort),
        knot.lookupSettings().trustAnchors(), java.time.Duration.ofMillis(300), false);
    int secure = new DnsjavaLookup(nowhere).rehearse(lena.name(), answers, 25, System.nanoTime() + 60_000_000_000L);

    assertEquals(25, secure);
    assertEquals(1, tlsaQueries.get());
  }

  @Test
  void aWarmUpOfANameThatDoesNotValidateRehearsesNothingAndOneIsBoundedInTime() {
    Identity mia = TestCertificates.ec(knot.uniqueName("mia"));
    knot.publish(mia.name(), TlsaRecord.of(mia.certificate()));

    assertEquals(20, lookup.warmUp(mia.name(), 20, java.time.Duration.ofMinutes(1)));
    assertEquals(0, lookup.warmUp(knot.uniqueName("nobody"), 20, java.time.Duration.ofMinutes(1)));
    int rounds = lookup.warmUp(mia.name(), 10_000_000, java.time.Duration.ofMillis(300));
    assertTrue(rounds > 0 && rounds < 10_000_000, "rounds " + rounds);
    // the lookup's own caches are untouched: the next lookup still asks the server and validates
    assertInstanceOf(LookupResult.Secure.class, lookup.lookup(mia.name()));
  }

  private static void drop(DatagramSocket socket) {
    byte[] buffer = new byte[4096];
    while (!socket.isClosed()) {
      try {
        socket.receive(new DatagramPacket(buffer, buffer.length));
      } catch (IOException closed) {
        return;
      }
    }
  }

  private boolean udpAnswerIsTruncated(DnsName name) throws IOException {
    SimpleResolver udp = new SimpleResolver(new InetSocketAddress(InetAddress.getLoopbackAddress(), knot.port()));
    udp.setIgnoreTruncation(true);
    udp.setEDNS(0, 1232, org.xbill.DNS.ExtendedFlags.DO, List.of());
    Message reply = udp.send(Message.newQuery(Record.newRecord(Name.fromString(name.absolute()), Type.TLSA, DClass.IN)));
    return reply.getHeader().getFlag(Flags.TC);
  }
}
