package org.danemsg.protocol.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.TlsaRecord;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.TestCertificates;
import org.danemsg.testing.TestCertificates.Identity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;

class DnsPublisherTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();

  private final DaneLookup lookup = DaneLookup.create(knot.lookupSettings());
  private final DnsPublisher publisher = knot.publisher();

  @Test
  void publishesARecordThatThenResolvesSecurely() {
    Identity alice = TestCertificates.ec(knot.uniqueName("alice"));

    PublishResult result = publisher.replace(alice.name(), TlsaRecord.of(alice.certificate()));

    assertTrue(result.isPublished(), result.describe());
    assertEquals(KnotServer.SIGNED_ZONE, result.zone(), "zone found from the server's SOA");
    assertEquals(List.of(alice.keys().getPublic()), lookup.lookup(alice.name()).usableKeys());
  }

  @Test
  void replaceLeavesOnlyTheNewRecord() {
    DnsName bob = knot.uniqueName("bob");
    Identity old = TestCertificates.ec(bob);
    Identity next = TestCertificates.ec(bob);
    publisher.replace(bob, TlsaRecord.of(old.certificate()));

    PublishResult result = publisher.replace(bob, TlsaRecord.of(next.certificate()));

    assertTrue(result.isPublished(), result.describe());
    assertEquals(List.of(next.keys().getPublic()), lookup.lookup(bob).usableKeys());
  }

  @Test
  void addKeepsTheExistingRecordForARollover() {
    DnsName carol = knot.uniqueName("carol");
    Identity old = TestCertificates.ec(carol);
    Identity next = TestCertificates.ec(carol);
    publisher.replace(carol, TlsaRecord.of(old.certificate()));

    PublishResult result = publisher.add(carol, TlsaRecord.of(next.certificate()));

    assertTrue(result.isPublished(), result.describe());
    assertEquals(Set.of(old.keys().getPublic(), next.keys().getPublic()),
        Set.copyOf(lookup.lookup(carol).usableKeys()));
  }

  @Test
  void removeDeletesOnlyThatRecord() {
    DnsName dave = knot.uniqueName("dave");
    Identity old = TestCertificates.ec(dave);
    Identity next = TestCertificates.ec(dave);
    publisher.replace(dave, TlsaRecord.of(old.certificate()));
    publisher.add(dave, TlsaRecord.of(next.certificate()));

    PublishResult result = publisher.remove(dave, TlsaRecord.of(old.certificate()));

    assertTrue(result.isPublished(), result.describe());
    assertEquals(List.of(next.keys().getPublic()), lookup.lookup(dave).usableKeys());
  }

  @Test
  void removeAllRevokesTheName() {
    Identity erin = TestCertificates.ec(knot.uniqueName("erin"));
    publisher.replace(erin.name(), TlsaRecord.of(erin.certificate()));

    PublishResult result = publisher.removeAll(erin.name());

    assertTrue(result.isPublished(), result.describe());
    assertInstanceOf(LookupResult.NoSuchName.class, lookup.lookup(erin.name()));
  }

  @Test
  void usesTheConfiguredZone() {
    Identity frank = TestCertificates.ec(knot.uniqueName("frank", KnotServer.UNSIGNED_ZONE));

    PublishResult result = publisher.withZone(KnotServer.UNSIGNED_ZONE)
        .replace(frank.name(), TlsaRecord.of(frank.certificate()));

    assertTrue(result.isPublished(), result.describe());
    assertEquals(KnotServer.UNSIGNED_ZONE, result.zone());
  }

  @Test
  void reportsBadSigWhenTheSecretIsWrong() {
    TsigKey wrongSecret = TsigKey.of("hmac-sha256", knot.tsigKey().name(), new byte[32]);
    Identity grace = TestCertificates.ec(knot.uniqueName("grace"));

    PublishResult result = DnsPublisher.create(knot.server(), wrongSecret)
        .replace(grace.name(), TlsaRecord.of(grace.certificate()));

    PublishResult.Failed failed = assertInstanceOf(PublishResult.Failed.class, result);
    assertEquals(PublishResult.Reason.BADSIG, failed.reason(), failed.describe());
    assertTrue(failed.message().contains("secret"), failed.message());
    assertInstanceOf(LookupResult.NoSuchName.class, lookup.lookup(grace.name()));
  }

  @Test
  void reportsBadKeyWhenTheServerDoesNotKnowTheKey() {
    TsigKey unknown = TsigKey.of("hmac-sha256", "no-such-key", new byte[32]);
    Identity heidi = TestCertificates.ec(knot.uniqueName("heidi"));

    PublishResult result = DnsPublisher.create(knot.server(), unknown)
        .replace(heidi.name(), TlsaRecord.of(heidi.certificate()));

    PublishResult.Failed failed = assertInstanceOf(PublishResult.Failed.class, result);
    assertEquals(PublishResult.Reason.BADKEY, failed.reason(), failed.describe());
  }

  @Test
  void reportsNotAuthForAZoneTheServerDoesNotServe() {
    DnsName ivan = DnsName.parse("ivan._device.elsewhere.test");
    Identity identity = TestCertificates.ec(ivan);

    PublishResult result = publisher.withZone(DnsName.parse("elsewhere.test"))
        .replace(ivan, TlsaRecord.of(identity.certificate()));

    PublishResult.Failed failed = assertInstanceOf(PublishResult.Failed.class, result);
    assertEquals(PublishResult.Reason.NOTAUTH, failed.reason(), failed.describe());
  }

  @Test
  void refusesANameOutsideTheConfiguredZone() {
    Identity judy = TestCertificates.ec(knot.uniqueName("judy"));

    PublishResult result = publisher.withZone(KnotServer.UNSIGNED_ZONE)
        .replace(judy.name(), TlsaRecord.of(judy.certificate()));

    PublishResult.Failed failed = assertInstanceOf(PublishResult.Failed.class, result);
    assertEquals(PublishResult.Reason.NOTZONE, failed.reason(), failed.describe());
  }

  @Test
  void reportsATimeoutWhenTheServerDoesNotAnswer() {
    Identity ken = TestCertificates.ec(knot.uniqueName("ken"));
    knot.pause();
    try {
      PublishResult result = publisher.withZone(KnotServer.SIGNED_ZONE).withTimeout(Duration.ofMillis(300))
          .replace(ken.name(), TlsaRecord.of(ken.certificate()));

      PublishResult.Failed failed = assertInstanceOf(PublishResult.Failed.class, result);
      assertEquals(PublishResult.Reason.TIMEOUT, failed.reason(), failed.describe());
    } finally {
      knot.resume();
    }
  }

  @Test
  void rejectsAnUnsignedReply() throws Exception {
    try (ServerSocket forger = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      Thread answer = new Thread(() -> answerUnsigned(forger), "forged DNS reply");
      answer.setDaemon(true);
      answer.start();
      Identity leo = TestCertificates.ec(knot.uniqueName("leo"));

      PublishResult result = DnsPublisher.create(new DnsServer("127.0.0.1", forger.getLocalPort()), knot.tsigKey())
          .withZone(KnotServer.SIGNED_ZONE).replace(leo.name(), TlsaRecord.of(leo.certificate()));

      PublishResult.Failed failed = assertInstanceOf(PublishResult.Failed.class, result);
      assertEquals(PublishResult.Reason.REPLY_NOT_VERIFIED, failed.reason(), failed.describe());
    }
  }

  /** Answers one TCP DNS message with NOERROR and no TSIG, as a forger without the key would. */
  private static void answerUnsigned(ServerSocket server) {
    try (Socket socket = server.accept()) {
      DataInputStream in = new DataInputStream(socket.getInputStream());
      byte[] query = new byte[in.readUnsignedShort()];
      in.readFully(query);
      Message reply = new Message(new Message(query).getHeader().getID());
      reply.getHeader().setOpcode(Opcode.UPDATE);
      reply.getHeader().setFlag(Flags.QR);
      reply.getHeader().setRcode(Rcode.NOERROR);
      byte[] wire = reply.toWire();
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      out.writeShort(wire.length);
      out.write(wire);
      out.flush();
    } catch (IOException e) {
      // the test's assertion reports what the publisher saw
    }
  }
}
