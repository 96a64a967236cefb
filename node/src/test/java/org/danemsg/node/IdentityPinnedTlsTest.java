package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.danemsg.protocol.CryptoProviders;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.TestIdentities;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The trust decision of cluster remoting's TLS: real TLS 1.3 handshakes between engines of the provider
 * in memory (no sockets), with the node's JVM-wide provider order (Bouncy Castle first).
 */
class IdentityPinnedTlsTest {

  private static final ByteBuffer NOTHING = ByteBuffer.allocate(0);

  @BeforeAll
  static void providersAsInTheNode() {
    CryptoProviders.installAll();
  }

  @Test
  void trustsTheIdentitysOwnCertificateAndRefusesAnotherOrNone() throws Exception {
    DeviceIdentity own = TestIdentities.of("pin-a._device.example.test", KeyType.EC_P256);
    DeviceIdentity sameNameOtherKey = TestIdentities.fresh("pin-a._device.example.test", KeyType.EC_P256);
    IdentityPinnedTls.PinnedPeers trust =
        new IdentityPinnedTls.PinnedPeers(List.of(IdentityPinnedTls.subjectPublicKeyInfo(own.certificate())));
    trust.checkClientTrusted(new X509Certificate[] {own.certificate()}, "UNKNOWN", (SSLEngine) null);
    trust.checkServerTrusted(new X509Certificate[] {own.certificate()}, "UNKNOWN", (SSLEngine) null);
    assertThrows(IdentityPinnedTls.NotThisIdentity.class, () -> trust.checkClientTrusted(
        new X509Certificate[] {sameNameOtherKey.certificate()}, "UNKNOWN", (SSLEngine) null));
    // The leaf is what counts: the identity's certificate further down a chain proves nothing.
    assertThrows(IdentityPinnedTls.NotThisIdentity.class, () -> trust.checkServerTrusted(
        new X509Certificate[] {sameNameOtherKey.certificate(), own.certificate()}, "UNKNOWN", (SSLEngine) null));
    assertThrows(IdentityPinnedTls.NotThisIdentity.class,
        () -> trust.checkClientTrusted(new X509Certificate[0], "UNKNOWN", (SSLEngine) null));
    assertThrows(IdentityPinnedTls.NotThisIdentity.class,
        () -> trust.checkClientTrusted(null, "UNKNOWN", (Socket) null));
    assertEquals(0, trust.getAcceptedIssuers().length, "no CA names offered");
  }

  @Test
  void aCertificateWhoseKeyReadsDifferentlyToTheJdkIsRefused() throws Exception {
    DeviceIdentity own = TestIdentities.of("pin-a._device.example.test", KeyType.EC_P256);
    java.security.PublicKey other = TestIdentities.fresh("pin-a._device.example.test", KeyType.EC_P256)
        .certificate().getPublicKey();
    List<byte[]> pins = List.of(IdentityPinnedTls.subjectPublicKeyInfo(own.certificate()));
    assertEquals(null, IdentityPinnedTls.pinProblem(new X509Certificate[] {own.certificate()}, pins));
    // The encoded certificate carries the pinned key, but the object the handshake would verify with reads
    // another one (a parser differential): refused.
    X509Certificate twoFaced = new ReadsAnotherKey(own.certificate(), other);
    assertEquals("its certificate's key reads differently to the TLS stack than in the certificate",
        IdentityPinnedTls.pinProblem(new X509Certificate[] {twoFaced}, pins));
  }

  /** A certificate whose encoding is {@code real}'s but whose {@code getPublicKey()} is {@code key}. */
  private static final class ReadsAnotherKey extends X509Certificate {
    private final X509Certificate real;
    private final java.security.PublicKey key;

    ReadsAnotherKey(X509Certificate real, java.security.PublicKey key) {
      this.real = real;
      this.key = key;
    }

    @Override public java.security.PublicKey getPublicKey() { return key; }
    @Override public byte[] getEncoded() throws java.security.cert.CertificateEncodingException {
      return real.getEncoded();
    }
    @Override public void checkValidity() throws java.security.cert.CertificateExpiredException,
        java.security.cert.CertificateNotYetValidException { real.checkValidity(); }
    @Override public void checkValidity(java.util.Date date) throws java.security.cert.CertificateExpiredException,
        java.security.cert.CertificateNotYetValidException { real.checkValidity(date); }
    @Override public int getVersion() { return real.getVersion(); }
    @Override public java.math.BigInteger getSerialNumber() { return real.getSerialNumber(); }
    @Override public java.security.Principal getIssuerDN() { return real.getIssuerX500Principal(); }
    @Override public java.security.Principal getSubjectDN() { return real.getSubjectX500Principal(); }
    @Override public javax.security.auth.x500.X500Principal getSubjectX500Principal() {
      return real.getSubjectX500Principal();
    }
    @Override public java.util.Date getNotBefore() { return real.getNotBefore(); }
    @Override public java.util.Date getNotAfter() { return real.getNotAfter(); }
    @Override public byte[] getTBSCertificate() throws java.security.cert.CertificateEncodingException {
      return real.getTBSCertificate();
    }
    @Override public byte[] getSignature() { return real.getSignature(); }
    @Override public String getSigAlgName() { return real.getSigAlgName(); }
    @Override public String getSigAlgOID() { return real.getSigAlgOID(); }
    @Override public byte[] getSigAlgParams() { return real.getSigAlgParams(); }
    @Override public boolean[] getIssuerUniqueID() { return real.getIssuerUniqueID(); }
    @Override public boolean[] getSubjectUniqueID() { return real.getSubjectUniqueID(); }
    @Override public boolean[] getKeyUsage() { return real.getKeyUsage(); }
    @Override public int getBasicConstraints() { return real.getBasicConstraints(); }
    @Override public void verify(java.security.PublicKey k) { throw new UnsupportedOperationException(); }
    @Override public void verify(java.security.PublicKey k, String provider) {
      throw new UnsupportedOperationException();
    }
    @Override public String toString() { return "a certificate that reads another key"; }
    @Override public boolean hasUnsupportedCriticalExtension() { return real.hasUnsupportedCriticalExtension(); }
    @Override public java.util.Set<String> getCriticalExtensionOIDs() { return real.getCriticalExtensionOIDs(); }
    @Override public java.util.Set<String> getNonCriticalExtensionOIDs() {
      return real.getNonCriticalExtensionOIDs();
    }
    @Override public byte[] getExtensionValue(String oid) { return real.getExtensionValue(oid); }
  }

  @Test
  void membersOfOneIdentityCompleteAMutualTls13Handshake() throws Exception {
    for (KeyType type : List.of(KeyType.EC_P256, KeyType.RSA)) {
      IdentityPinnedTls member = provider(TestIdentities.of("pin-b._device.example.test", type));
      SSLEngine client = member.createClientSSLEngine("127.0.0.1", 2552);
      SSLEngine server = member.createServerSSLEngine("127.0.0.1", 2552);
      Handshake done = Handshake.run(client, server);
      assertNull(done.clientFailure(), type + ": " + done);
      assertNull(done.serverFailure(), type + ": " + done);
      assertEquals("TLSv1.3", client.getSession().getProtocol());
      assertTrue(IdentityPinnedTls.CIPHER_SUITES.contains(client.getSession().getCipherSuite()));
      assertTrue(member.verifyClientSession("127.0.0.1", client.getSession()).isEmpty());
      assertTrue(member.verifyServerSession("127.0.0.1", server.getSession()).isEmpty(),
          "the server saw the client's certificate");
    }
  }

  @Test
  void membersOfTwoKeysRefuseEachOther() throws Exception {
    IdentityPinnedTls member = provider(TestIdentities.of("pin-c._device.example.test", KeyType.EC_P256));
    IdentityPinnedTls stranger = provider(TestIdentities.fresh("pin-c._device.example.test", KeyType.EC_P256));
    // TLS 1.3: the client checks the server's certificate first, and ends the handshake.
    Handshake refused = Handshake.run(stranger.createClientSSLEngine("127.0.0.1", 2601),
        member.createServerSSLEngine("127.0.0.1", 2600));
    assertNotNull(refused.clientFailure(), refused.toString());
    assertNotNull(refused.serverFailure(), refused.toString());
    assertEquals(1, LogRecorder.linesWith("WARN cluster remoting refused the connection to 127.0.0.1:2601",
        "not one of this identity's keys").size());
    assertEquals(1, LogRecorder.linesWith("WARN cluster remoting refused an inbound connection to 127.0.0.1:2600",
        "it refused this member's certificate (alert certificate_unknown)").size());
  }

  @Test
  void aClientPresentingAnotherKeyIsRefusedAndTheRefusalLoggedOnce() throws Exception {
    IdentityPinnedTls member = provider(TestIdentities.of("pin-g._device.example.test", KeyType.EC_P256));
    DeviceIdentity otherKey = TestIdentities.fresh("pin-g._device.example.test", KeyType.EC_P256);
    // A client that presents its key whatever the server is, so that the server's trust decides.
    SSLContext presenting = SSLContext.getInstance("TLSv1.3", "SunJSSE");
    presenting.init(new javax.net.ssl.KeyManager[] {IdentityPinnedTls.keyManager(otherKey)},
        new TrustManager[] {new TrustingEveryone()}, null);
    for (int i = 0; i < 5; i++) {
      SSLEngine client = presenting.createSSLEngine("127.0.0.1", 2641);
      client.setUseClientMode(true);
      Handshake refused = Handshake.run(client, member.createServerSSLEngine("127.0.0.1", 2640));
      assertNotNull(refused.serverFailure(), refused.toString());
    }
    List<String> lines = LogRecorder.linesWith("cluster remoting refused an inbound connection to 127.0.0.1:2640",
        "its certificate's key is not one of this identity's keys", "key sha256 " + otherKey.fingerprint());
    assertEquals(1, lines.size(), "five refusals of one peer within a minute: one line; " + lines);
    assertTrue(lines.get(0).startsWith("WARN "), lines.get(0));
  }

  @Test
  void aClientWithoutCertificateIsRefused() throws Exception {
    IdentityPinnedTls member = provider(TestIdentities.of("pin-d._device.example.test", KeyType.EC_P256));
    SSLContext anonymous = SSLContext.getInstance("TLSv1.3");
    anonymous.init(null, new TrustManager[] {new TrustingEveryone()}, null);
    SSLEngine client = anonymous.createSSLEngine("127.0.0.1", 2610);
    client.setUseClientMode(true);
    Handshake refused = Handshake.run(client, member.createServerSSLEngine("127.0.0.1", 2610));
    assertNotNull(refused.serverFailure(), refused.toString());
    assertEquals(1, LogRecorder.linesWith("refused an inbound connection to 127.0.0.1:2610",
        "it presented no certificate").size());
  }

  @Test
  void bytesThatAreNotTlsAreRefused() throws Exception {
    IdentityPinnedTls member = provider(TestIdentities.of("pin-e._device.example.test", KeyType.EC_P256));
    SSLEngine server = member.createServerSSLEngine("127.0.0.1", 2620);
    server.beginHandshake();
    ByteBuffer garbage = ByteBuffer.wrap("PEKKO\0\0\0GET / HTTP/1.1\r\n\r\n".repeat(10).getBytes(StandardCharsets.UTF_8));
    assertThrows(SSLException.class, () -> server.unwrap(garbage, ByteBuffer.allocate(1 << 16)));
    assertEquals(1, LogRecorder.linesWith("refused an inbound connection to 127.0.0.1:2620",
        "it does not speak TLS").size());
  }

  @Test
  void duringARotationTheOtherKeyIsTrustedUntilItLeavesTheRing() throws Exception {
    DeviceIdentity old = TestIdentities.of("pin-f._device.example.test", KeyType.EC_P256);
    DeviceIdentity next = TestIdentities.fresh("pin-f._device.example.test", KeyType.EC_P256);
    // This member has promoted the next key and still holds the old one.
    KeyRing rotated = new KeyRing(new IdentityKeeper.Keys(next.name(), List.of(next, old)));
    IdentityPinnedTls member = new IdentityPinnedTls(rotated);
    // The peer has not reloaded yet: the old key is still its current one, the next one its staged one.
    IdentityPinnedTls notYetReloaded =
        new IdentityPinnedTls(new KeyRing(new IdentityKeeper.Keys(old.name(), List.of(old, next))));
    Handshake both = Handshake.run(notYetReloaded.createClientSSLEngine("127.0.0.1", 2630),
        member.createServerSSLEngine("127.0.0.1", 2630));
    assertNull(both.clientFailure(), both.toString());
    assertNull(both.serverFailure(), both.toString());

    rotated.publish(new IdentityKeeper.Keys(next.name(), List.of(next))); // the old key's files are gone
    Handshake refused = Handshake.run(notYetReloaded.createClientSSLEngine("127.0.0.1", 2631),
        member.createServerSSLEngine("127.0.0.1", 2631));
    assertNotNull(refused.serverFailure(), refused.toString());
  }

  @Test
  void refusalLinesAreLimitedPerPeerAndInAll() {
    IdentityPinnedTls.RefusalLog log = new IdentityPinnedTls.RefusalLog();
    long minute = 60_000_000_000L;
    assertEquals("", log.admit("peer 1", 0));
    assertNull(log.admit("peer 1", 1), "the same peer within the minute");
    int admitted = 1;
    for (int peer = 2; peer < 100; peer++) {
      if (log.admit("peer " + peer, 2) != null) {
        admitted++;
      }
    }
    assertEquals(IdentityPinnedTls.RefusalLog.LINES_PER_MINUTE, admitted);
    String next = log.admit("peer 1", minute + 1);
    assertNotNull(next, "a minute later");
    // Held back since the last line: the 79 peers after the 20th (peer 1's second refusal was told by peer 2's line).
    assertTrue(next.contains("79 more refused connection(s) not logged"), next);
  }

  private static IdentityPinnedTls provider(DeviceIdentity identity) {
    return new IdentityPinnedTls(new KeyRing(new IdentityKeeper.Keys(identity.name(), List.of(identity))));
  }

  /** A handshake between two engines, record by record in memory; each side's failure, if any. */
  private record Handshake(SSLException clientFailure, SSLException serverFailure) {

    static Handshake run(SSLEngine client, SSLEngine server) throws Exception {
      ByteBuffer toServer = ByteBuffer.allocate(1 << 17);
      ByteBuffer toClient = ByteBuffer.allocate(1 << 17);
      ByteBuffer clientApp = ByteBuffer.allocate(1 << 17);
      ByteBuffer serverApp = ByteBuffer.allocate(1 << 17);
      SSLException clientFailure = null;
      SSLException serverFailure = null;
      client.beginHandshake();
      server.beginHandshake();
      for (int round = 0; round < 50; round++) {
        try {
          if (clientFailure == null || !client.isOutboundDone()) {
            send(client, toServer);
          }
        } catch (SSLException e) {
          clientFailure = clientFailure == null ? e : clientFailure;
        }
        try {
          receive(server, toServer, serverApp);
          send(server, toClient);
        } catch (SSLException e) {
          serverFailure = serverFailure == null ? e : serverFailure;
          sendQuietly(server, toClient); // its alert
        }
        try {
          receive(client, toClient, clientApp);
        } catch (SSLException e) {
          clientFailure = clientFailure == null ? e : clientFailure;
        }
        boolean settled = toServer.position() == 0 && toClient.position() == 0;
        boolean done = client.getHandshakeStatus() == HandshakeStatus.NOT_HANDSHAKING
            && server.getHandshakeStatus() == HandshakeStatus.NOT_HANDSHAKING;
        if (settled && (done || clientFailure != null || serverFailure != null) && round > 2) {
          break;
        }
      }
      return new Handshake(clientFailure, serverFailure);
    }

    private static void send(SSLEngine engine, ByteBuffer network) throws SSLException {
      while (engine.getHandshakeStatus() == HandshakeStatus.NEED_WRAP) {
        if (engine.wrap(NOTHING, network).bytesProduced() == 0) {
          break;
        }
        tasks(engine);
      }
    }

    private static void sendQuietly(SSLEngine engine, ByteBuffer network) {
      try {
        send(engine, network);
      } catch (SSLException e) {
        // the alert could not be written: the other side sees the connection end
      }
    }

    private static void receive(SSLEngine engine, ByteBuffer network, ByteBuffer application) throws SSLException {
      network.flip();
      try {
        while (network.hasRemaining()) {
          if (engine.unwrap(network, application).bytesConsumed() == 0) {
            break;
          }
          tasks(engine);
        }
      } finally {
        network.compact();
      }
    }

    private static void tasks(SSLEngine engine) {
      for (Runnable task = engine.getDelegatedTask(); task != null; task = engine.getDelegatedTask()) {
        task.run();
      }
    }
  }

  /** A client that accepts any server: to show the server's own refusal of what the client presents. */
  static final class TrustingEveryone extends X509ExtendedTrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
