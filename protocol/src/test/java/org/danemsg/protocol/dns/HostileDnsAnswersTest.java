package org.danemsg.protocol.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.SafeText;
import org.danemsg.protocol.TlsaRecord;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.TestCertificates;
import org.danemsg.testing.TestCertificates.Identity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TLSARecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.Update;

/**
 * Answers a hostile or broken zone or server may give. Each must come back as a {@link LookupResult}
 * with a reason a person can act on, within about the lookup's timeout: never an exception, a hang,
 * or a key from a record that does not hold one.
 */
class HostileDnsAnswersTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();

  /** Lookup timeout here; a lookup may overrun it by scheduling noise, not by another timeout. */
  private static final Duration TIMEOUT = Duration.ofSeconds(1);
  private static final Duration SLACK = Duration.ofSeconds(1);

  private final DaneLookup lookup = DaneLookup.create(knot.lookupSettings().withTimeout(TIMEOUT));

  // --- (1) CNAME loop in the signed zone -------------------------------------------------------

  @Test
  void reportsACnameLoopAsBogusNamingTheLoop() throws IOException {
    DnsName a = knot.uniqueName("loop-a");
    DnsName b = knot.uniqueName("loop-b");
    assertEquals(Rcode.NOERROR, update(u -> {
      u.add(new CNAMERecord(name(a), DClass.IN, 60, name(b)));
      u.add(new CNAMERecord(name(b), DClass.IN, 60, name(a)));
    }));

    LookupResult result = lookupWithinTimeout(lookup, a);

    // Signed CNAMEs that never reach a TLSA record and no proof of absence: the validator cannot
    // accept the answer (Bogus, kept briefly and rejected at once); the reason says why.
    LookupResult.Bogus bogus = assertInstanceOf(LookupResult.Bogus.class, result, result.describe());
    assertTrue(bogus.validatorReason().startsWith("CNAME loop " + name(a) + " -> " + name(b) + " -> " + name(a)),
        bogus.validatorReason());
    assertTrue(bogus.validatorReason().contains("NODATA"), bogus.validatorReason());
  }

  /**
   * The loop is explained from an unvalidated answer, so whoever is on the path chooses the names:
   * long ones with control bytes must come out as one short safe line.
   */
  @Test
  void cutsTheNamesOfACnameLoopFromACraftedAnswerToOneShortSafeLine() throws IOException {
    DnsName start = DnsName.parse("m._device.example.test");
    Name first = Name.fromString("\\027[2J" + "a".repeat(56) + "." + "b".repeat(60) + "." + start.absolute());
    Name second = Name.fromString("\\010FAKE-LOG-LINE" + "c".repeat(48) + "." + "d".repeat(60) + "." + start.absolute());
    try (MisbehavingDnsServer server = MisbehavingDnsServer.start(query -> reply(query, r -> {
      if (r.getQuestion().getType() == Type.TLSA) { // every other question: an empty answer
        r.addRecord(new CNAMERecord(name(start), DClass.IN, 60, first), Section.ANSWER);
        r.addRecord(new CNAMERecord(first, DClass.IN, 60, second), Section.ANSWER);
        r.addRecord(new CNAMERecord(second, DClass.IN, 60, first), Section.ANSWER);
      }
      return r.toWire();
    }))) {
      LookupResult result = lookupWithinTimeout(lookupAt(server), start);

      LookupResult.Bogus bogus = assertInstanceOf(LookupResult.Bogus.class, result, result.describe());
      String reason = bogus.validatorReason();
      assertTrue(reason.startsWith("CNAME loop " + start.absolute() + " -> \\\\027[2Jaaa"), reason);
      String chain = reason.substring(0, reason.indexOf(": the zone's CNAMEs"));
      assertTrue(chain.length() <= "CNAME loop ".length() + SafeText.DETAIL_LIMIT + 20, chain);
      assertTrue(chain.endsWith(" chars)"), chain);
      assertTrue(reason.contains("(validator: "), reason);
      assertTrue(SafeText.isSafeLine(result.describe()), result.describe());
    }
  }

  // --- (2) malformed TLSA records in the signed zone --------------------------------------------

  @Test
  void listsEachMalformedRecordAsUnusableNextToTheGoodKey() throws IOException {
    DnsName mallory = knot.uniqueName("mallory");
    Identity good = TestCertificates.ec(mallory);
    List<TlsaRecord> bad = malformedRecords(mallory);
    assertEquals(Rcode.NOERROR, addRecords(mallory, concat(bad, List.of(TlsaRecord.of(good.certificate())))));

    LookupResult result = lookupWithinTimeout(lookup, mallory);

    LookupResult.Secure secure = assertInstanceOf(LookupResult.Secure.class, result, result.describe());
    assertEquals(List.of(good.keys().getPublic()), secure.usableKeys());
    assertEquals(bad.size() + 1, secure.records().size());
    assertEachMalformedRecordExplained(secure.unusable());
  }

  @Test
  void reportsNoUsableKeyWithAReasonForEachMalformedRecord() throws IOException {
    DnsName mallory = knot.uniqueName("mallory");
    List<TlsaRecord> bad = malformedRecords(mallory);
    assertEquals(Rcode.NOERROR, addRecords(mallory, bad));

    LookupResult result = lookupWithinTimeout(lookup, mallory);

    LookupResult.NoUsableKey none = assertInstanceOf(LookupResult.NoUsableKey.class, result, result.describe());
    assertTrue(none.authenticated());
    assertEquals(bad.size(), none.records().size());
    assertEachMalformedRecordExplained(none.reasons());
  }

  // --- (3) many records at one name ------------------------------------------------------------

  @Test
  void usesAtMostEightKeysOfANameAndSaysSoInTheDescription() throws IOException {
    DnsName crowd = knot.uniqueName("crowd");
    List<TlsaRecord> records = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      records.add(TlsaRecord.of(TestCertificates.ec(crowd).certificate()));
    }
    assertEquals(Rcode.NOERROR, addRecords(crowd, records));

    LookupResult result = lookupWithinTimeout(lookup, crowd);

    LookupResult.Secure secure = assertInstanceOf(LookupResult.Secure.class, result, result.describe());
    assertEquals(8, secure.usableKeys().size());
    assertEquals(records.size(), secure.records().size());
    String note = "4 more record(s) not examined: too many records, only the first 8 usable keys of a name are used";
    assertEquals(List.of(note), secure.unusable());
    assertTrue(secure.describe().endsWith("; ignored: " + note), secure.describe());
  }

  /**
   * Knot signs an RRset only while its canonical form fits one 64 KiB DNS message, so it refuses the
   * update that would make it larger (SERVFAIL, "not enough space provided"): an answer over 64 KiB
   * cannot be had from it at all. The largest it serves (about 80 RSA certificates, some 60 KB) comes
   * over TCP after a truncated UDP answer and validates; the key cap then applies.
   */
  @Test
  void fetchesTheLargestRrsetKnotServesOverTcpAndCapsItsKeys() throws IOException, GeneralSecurityException {
    DnsName huge = knot.uniqueName("huge");
    KeyPair rsa = rsaKeys(); // one slow key, many distinct certificates
    int published = 0;
    for (int batch = 0; batch < 3; batch++) { // 60 records (about 47 KB) are known to fit
      assertEquals(Rcode.NOERROR, addRecords(huge, certificates(huge, rsa, 20)));
      published += 20;
    }
    int rcode = Rcode.NOERROR;
    while (rcode == Rcode.NOERROR && published < 120) {
      rcode = addRecords(huge, certificates(huge, rsa, 1));
      published += rcode == Rcode.NOERROR ? 1 : 0;
    }
    assertEquals(Rcode.SERVFAIL, rcode, "Knot accepted " + published + " RSA certificates at one name");
    assertTrue(knot.log().contains("not enough space"), knot.log());
    Message overTcp = tcpAnswer(huge);
    int size = overTcp.toWire().length;
    assertTrue(size > 55_000 && size <= 65_535, "answer of " + size + " bytes");

    LookupResult result = lookupWithinTimeout(lookup, huge);

    LookupResult.Secure secure = assertInstanceOf(LookupResult.Secure.class, result, result.describe());
    assertEquals(published, secure.records().size());
    assertEquals(DaneLookup.MAX_KEYS_PER_NAME, secure.usableKeys().size());
    assertEquals(1, secure.unusable().size(), secure.describe());
    assertTrue(secure.unusable().get(0).startsWith((published - DaneLookup.MAX_KEYS_PER_NAME) + " more record(s)"),
        secure.describe());
  }

  // --- (4) broken servers ----------------------------------------------------------------------

  @Test
  void givesATransientFailureWhenUdpAnswersAreTruncatedAndTcpIsRefused() throws IOException {
    try (MisbehavingDnsServer server = MisbehavingDnsServer.start(query -> reply(query, r -> {
      r.getHeader().setFlag(Flags.TC);
      return r.toWire();
    }))) {
      LookupResult result = lookupWithinTimeout(lookupAt(server), DnsName.parse("trudy._device.example.test"));

      LookupResult.TransientFailure failure =
          assertInstanceOf(LookupResult.TransientFailure.class, result, result.describe());
      assertEquals(LookupResult.TransientFailure.Kind.NETWORK, failure.kind());
      assertTrue(failure.detail().contains("truncated") && failure.detail().contains("TCP"), failure.detail());
      assertEquals(1, server.queries());
    }
  }

  @Test
  void givesABadResponseForGarbageBytesCarryingTheQueryId() throws IOException {
    Random random = new Random(6698); // the same garbage every run
    try (MisbehavingDnsServer server = MisbehavingDnsServer.start(query -> {
      byte[] garbage = new byte[64];
      random.nextBytes(garbage);
      garbage[0] = query[0]; // so that the parser, not the id check, has to reject it
      garbage[1] = query[1];
      return garbage;
    })) {
      LookupResult result = lookupWithinTimeout(lookupAt(server), DnsName.parse("trudy._device.example.test"));

      LookupResult.TransientFailure failure =
          assertInstanceOf(LookupResult.TransientFailure.class, result, result.describe());
      assertEquals(LookupResult.TransientFailure.Kind.BAD_RESPONSE, failure.kind());
      assertTrue(failure.detail().startsWith("the reply is not a valid DNS answer"), failure.detail());
    }
  }

  @Test
  void givesABadResponseForAReplyShorterThanADnsHeader() throws IOException {
    try (MisbehavingDnsServer server = MisbehavingDnsServer.start(query -> new byte[] {query[0], query[1], 0x7f})) {
      LookupResult result = lookupWithinTimeout(lookupAt(server), DnsName.parse("trudy._device.example.test"));

      LookupResult.TransientFailure failure =
          assertInstanceOf(LookupResult.TransientFailure.class, result, result.describe());
      assertEquals(LookupResult.TransientFailure.Kind.BAD_RESPONSE, failure.kind());
      assertTrue(failure.detail().contains("too short"), failure.detail());
    }
  }

  /**
   * A reply whose id is not the query's is skipped (a spoofing attempt is never taken) and the wait
   * goes on; when only such replies come, the lookup ends as a timeout within its timeout.
   */
  @Test
  void skipsAReplyWithAnotherIdAndTimesOutWhenNoOtherComes() throws IOException {
    try (MisbehavingDnsServer server = MisbehavingDnsServer.start(query -> reply(query, r -> {
      r.getHeader().setID((r.getHeader().getID() + 1) & 0xffff);
      return r.toWire();
    }))) {
      LookupResult result = lookupWithinTimeout(lookupAt(server), DnsName.parse("trudy._device.example.test"));

      LookupResult.TransientFailure failure =
          assertInstanceOf(LookupResult.TransientFailure.class, result, result.describe());
      assertEquals(LookupResult.TransientFailure.Kind.TIMEOUT, failure.kind(), failure.describe());
      assertEquals(1, server.queries());
    }
  }

  /**
   * Spoofed replies racing the real one (other ids, and garbage too short to carry an id) cost the
   * lookup nothing: the real answer, relayed from Knot after them, is taken and validates.
   */
  @Test
  void takesTheRealAnswerAfterSpoofedRepliesWithOtherIds() throws Exception {
    Identity alice = TestCertificates.ec(knot.uniqueName("alice"));
    knot.publish(alice.name(), TlsaRecord.of(alice.certificate()));
    InetSocketAddress knotAt = new InetSocketAddress(knot.server().host(), knot.server().port());
    try (MisbehavingDnsServer server = MisbehavingDnsServer.startSending(query -> {
      byte[] real = relay(query, knotAt);
      byte[] spoof = real.clone();
      spoof[1] ^= 0x5a; // another id, the rest the real answer
      return List.of(spoof, new byte[] {query[0]}, real);
    })) {
      LookupResult result = lookupWithinTimeout(lookupAt(server), alice.name());

      LookupResult.Secure secure = assertInstanceOf(LookupResult.Secure.class, result, result.describe());
      assertEquals(alice.certificate().getPublicKey(), secure.usableKeys().get(0));
    }
  }

  /**
   * A validation needs more than one query (here the zone's DNSKEY after the TLSA answer); a server
   * that answers the first and never the second ends the lookup within its one timeout, not one
   * timeout per query.
   */
  @Test
  void endsWithinOneTimeoutWhenALaterQueryOfTheValidationIsNeverAnswered() throws Exception {
    Identity bob = TestCertificates.ec(knot.uniqueName("bob"));
    knot.publish(bob.name(), TlsaRecord.of(bob.certificate()));
    InetSocketAddress knotAt = new InetSocketAddress(knot.server().host(), knot.server().port());
    try (MisbehavingDnsServer server = MisbehavingDnsServer.startSending(query -> {
      try {
        boolean dnskey = new Message(query).getQuestion().getType() == Type.DNSKEY;
        return dnskey ? List.of() : List.of(relay(query, knotAt));
      } catch (IOException e) {
        return List.of();
      }
    })) {
      LookupResult result = lookupWithinTimeout(lookupAt(server), bob.name());

      LookupResult.TransientFailure failure =
          assertInstanceOf(LookupResult.TransientFailure.class, result, result.describe());
      assertEquals(LookupResult.TransientFailure.Kind.TIMEOUT, failure.kind(), failure.describe());
      assertEquals(1, server.queries(Type.TLSA));
      assertEquals(1, server.queries(Type.DNSKEY));
    }
  }

  /** {@code query} asked of {@code server} over UDP: its answer's bytes. */
  private static byte[] relay(byte[] query, InetSocketAddress server) {
    try (java.net.DatagramSocket socket = new java.net.DatagramSocket()) {
      socket.setSoTimeout(2000);
      socket.send(new java.net.DatagramPacket(query, query.length, server));
      byte[] buffer = new byte[65535];
      java.net.DatagramPacket answer = new java.net.DatagramPacket(buffer, buffer.length);
      socket.receive(answer);
      return java.util.Arrays.copyOf(buffer, answer.getLength());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  // --- helpers ---------------------------------------------------------------------------------

  private static LookupResult lookupWithinTimeout(DaneLookup lookup, DnsName name) {
    long start = System.nanoTime();
    LookupResult result = lookup.lookup(name);
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertTrue(took.compareTo(TIMEOUT.plus(SLACK)) < 0, "the lookup took " + took + ": " + result.describe());
    return result;
  }

  private static DaneLookup lookupAt(MisbehavingDnsServer server) {
    return DaneLookup.create(DaneLookup.Settings.validating(server.server(), knot.trustAnchors()).withTimeout(TIMEOUT));
  }

  /** Records no key can be taken from, one of each kind, each with a distinct reason. */
  private static List<TlsaRecord> malformedRecords(DnsName name) {
    try {
      Identity other = TestCertificates.ec(name);
      KeyPairGenerator p384 = KeyPairGenerator.getInstance("EC");
      p384.initialize(new ECGenParameterSpec("secp384r1"));
      return List.of(
          new TlsaRecord(3, 0, 0, "this is not a certificate".getBytes(StandardCharsets.US_ASCII)),
          new TlsaRecord(3, 1, 0, "this is not a public key".getBytes(StandardCharsets.US_ASCII)),
          TlsaRecord.ofKey(other.keys().getPublic(), TlsaRecord.MatchingType.SHA256),
          new TlsaRecord(1, 0, 0, other.certificate().getEncoded()),
          new TlsaRecord(2, 0, 0, other.certificate().getEncoded()),
          TlsaRecord.of(TestCertificates.rsa(name, 1024).certificate()),
          TlsaRecord.of(TestCertificates.rsaPublicKeyOnly(name, 8192).certificate()),
          TlsaRecord.of(TestCertificates.withKeys(name, p384.generateKeyPair()).certificate()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void assertEachMalformedRecordExplained(List<String> reasons) {
    List<String> expected = List.of("selector 0 data is not a DER X.509 certificate",
        "selector 1 data is not a DER SubjectPublicKeyInfo", "matching type 1 is a hash",
        "certificate usage 1 is not supported", "certificate usage 2 is not supported",
        "RSA key of 1024 bits is too short", "RSA key of 8192 bits: only 2048 to 4096 are accepted",
        "EC key is not on curve P-256");
    assertEquals(expected.size(), reasons.size(), String.join("\n", reasons));
    for (String reason : expected) {
      assertTrue(reasons.stream().anyMatch(r -> r.contains(reason)), reason + " missing from " + reasons);
    }
  }

  private static List<TlsaRecord> certificates(DnsName name, KeyPair keys, int count) {
    List<TlsaRecord> records = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      records.add(TlsaRecord.of(TestCertificates.withKeys(name, keys).certificate()));
    }
    return records;
  }

  private static KeyPair rsaKeys() throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    return generator.generateKeyPair();
  }

  private static <T> List<T> concat(List<T> first, List<T> second) {
    List<T> all = new ArrayList<>(first);
    all.addAll(second);
    return all;
  }

  /** A reply to {@code query} (same id, the question, no records) as {@code finish} alters it. */
  private static byte[] reply(byte[] query, ReplyFinisher finish) {
    try {
      Message question = new Message(query);
      Message reply = new Message(question.getHeader().getID());
      reply.getHeader().setFlag(Flags.QR);
      reply.addRecord(question.getQuestion(), Section.QUESTION);
      return finish.apply(reply);
    } catch (IOException e) {
      return null; // not a query: no answer
    }
  }

  @FunctionalInterface
  private interface ReplyFinisher {
    byte[] apply(Message reply) throws IOException;
  }

  @FunctionalInterface
  private interface Changes {
    void apply(Update update) throws IOException;
  }

  private static int addRecords(DnsName owner, List<TlsaRecord> records) throws IOException {
    return update(u -> {
      for (TlsaRecord r : records) {
        u.add(new TLSARecord(name(owner), DClass.IN, 60, r.usage(), r.selector(), r.matchingType(), r.data()));
      }
    });
  }

  /** One RFC 2136 update of the signed zone over TCP, signed with the fixture's TSIG key; its rcode. */
  private static int update(Changes changes) throws IOException {
    Update update = new Update(name(KnotServer.SIGNED_ZONE));
    changes.apply(update);
    SimpleResolver primary = new SimpleResolver(new InetSocketAddress("127.0.0.1", knot.port()));
    primary.setTSIGKey(knot.tsigKey().signer());
    primary.setTCP(true);
    primary.setTimeout(Duration.ofSeconds(5));
    return primary.send(update).getRcode();
  }

  private static Message tcpAnswer(DnsName owner) throws IOException {
    SimpleResolver tcp = new SimpleResolver(new InetSocketAddress("127.0.0.1", knot.port()));
    tcp.setTCP(true);
    tcp.setEDNS(0, 1232, ExtendedFlags.DO, List.of());
    return tcp.send(Message.newQuery(Record.newRecord(name(owner), Type.TLSA, DClass.IN)));
  }

  private static Name name(DnsName name) {
    try {
      return Name.fromString(name.absolute());
    } catch (TextParseException e) {
      throw new IllegalArgumentException(e);
    }
  }
}
