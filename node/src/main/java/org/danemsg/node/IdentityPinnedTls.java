package org.danemsg.node;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.apache.pekko.ConfigurationException;
import org.apache.pekko.remote.artery.tcp.SSLEngineProvider;
import org.apache.pekko.remote.artery.tcp.SSLEngineProviderSetup;
import org.apache.pekko.remote.artery.tcp.SslTransportException;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.SafeText;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * Cluster mode's remoting security (Pekko Artery {@code tls-tcp}): mutual TLS 1.3 in which each side
 * must present a certificate whose key is one of this identity's keys. Every member holds the
 * identity's key files, so "a member" is exactly "a holder of this identity's key": no CA, no host
 * names, no keystore files or passwords; the context is built in memory from the keys the node
 * decrypts with ({@link KeyRing}).
 *
 * <ul>
 *   <li>It presents the current key's certificate (the first of {@link IdentityKeeper.Keys}).
 *   <li>It trusts a peer whose certificate carries the SubjectPublicKeyInfo of any key in the ring:
 *       the current key and, during a rollover ({@code tools identity rotate}), the staged next key,
 *       the retired one and the one replaced while the node ran. Members that reload their files a few
 *       seconds apart therefore keep trusting each other through a rotation. The certificate's
 *       issuer, dates and names are not looked at: the key is the pin (DANE-EE style). The key as
 *       the JDK reads it (the one the handshake's signature is checked with) must be the same bytes.
 *   <li>The server side requires a client certificate; TLS 1.3 only, AEAD suites only.
 *   <li>Each refused connection (another key, no certificate, not TLS at all) is logged as one WARN
 *       line without a stack trace, at most once a minute per peer and 20 a minute in all: a hostile
 *       peer can connect as often as it likes. Pekko creates the server side's engine without the
 *       peer's address, so an inbound refusal names the peer by what it presented.
 * </ul>
 *
 * <p>Pekko gets this provider from {@link #setup()}, given to the actor system by {@code Node.start}:
 * the identity goes from object to object, never through configuration or a global registry. The
 * class name in {@code pekko.remote.artery.ssl.ssl-engine-provider} only makes a system started
 * without the setup fail instead of falling back to Pekko's keystore-based provider.
 */
public final class IdentityPinnedTls implements SSLEngineProvider {

  /** The only protocol: TLS 1.3 (SunJSSE has it on every Java 17). */
  static final String PROTOCOL = "TLSv1.3";

  /** TLS 1.3's AEAD suites (TLS 1.3 has no others but CCM, which is left out). */
  static final List<String> CIPHER_SUITES =
      List.of("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256");

  private static final Logger LOG = LoggerFactory.getLogger(IdentityPinnedTls.class);

  /** The JDK's own TLS, named so that the provider order (Bouncy Castle first) does not pick another. */
  private static final String JSSE = "SunJSSE";

  private final KeyRing keys;
  private final RefusalLog refusals = new RefusalLog();
  private volatile Context context;

  /**
   * A provider for the keys in {@code keys}, checked now: a key that TLS cannot use fails here.
   *
   * @throws IllegalStateException when the current key cannot serve as a TLS key (the message says why)
   */
  public IdentityPinnedTls(KeyRing keys) {
    this.keys = keys;
    this.context = build(keys.current());
  }

  /**
   * The constructor Pekko calls when the class is named in configuration but the actor system was
   * started without {@link #setup()}: it has no identity to pin to, so remoting does not start.
   */
  public IdentityPinnedTls(org.apache.pekko.actor.ActorSystem system) {
    throw new ConfigurationException("cluster remoting needs the node's identity to pin its TLS to; the"
        + " node gives it through SSLEngineProviderSetup (Node.start), not through configuration");
  }

  /** This provider as an actor system setup: Pekko's Artery takes it instead of the configured class. */
  public SSLEngineProviderSetup setup() {
    return SSLEngineProviderSetup.create(system -> this);
  }

  @Override
  public SSLEngine createServerSSLEngine(String hostname, int port) {
    SSLEngine engine = context().ssl().createSSLEngine();
    engine.setUseClientMode(false);
    SSLParameters parameters = parameters(engine);
    parameters.setNeedClientAuth(true);
    engine.setSSLParameters(parameters);
    return new Watched(engine, "an inbound connection to " + hostPort(hostname, port), "inbound");
  }

  @Override
  public SSLEngine createClientSSLEngine(String hostname, int port) {
    SSLEngine engine = context().ssl().createSSLEngine(hostname, port);
    engine.setUseClientMode(true);
    SSLParameters parameters = parameters(engine);
    parameters.setServerNames(List.of()); // nothing to select on the other side; names stay off the wire
    engine.setSSLParameters(parameters);
    String peer = hostPort(hostname, port);
    return new Watched(engine, "the connection to " + peer, "outbound " + peer);
  }

  @Override
  public Option<Throwable> verifyClientSession(String hostname, SSLSession session) {
    return verify(session, "the connection to " + hostname, "outbound " + hostname);
  }

  @Override
  public Option<Throwable> verifyServerSession(String hostname, SSLSession session) {
    return verify(session, "an inbound connection to " + hostname, "inbound");
  }

  /**
   * The check after the handshake, again against the keys of now: the trust manager decided during the
   * handshake (perhaps on a resumed session's certificate), this makes the rule hold by construction.
   */
  private Option<Throwable> verify(SSLSession session, String peer, String source) {
    String problem;
    if (!PROTOCOL.equals(session.getProtocol())) {
      problem = "it negotiated " + SafeText.detail(session.getProtocol()) + ", not " + PROTOCOL;
    } else if (!CIPHER_SUITES.contains(session.getCipherSuite())) {
      problem = "it negotiated the suite " + SafeText.detail(session.getCipherSuite());
    } else {
      problem = pinProblem(peerCertificates(session), context().pins());
    }
    if (problem == null) {
      return Option.empty();
    }
    refused(peer, source, problem);
    return Option.apply(new SslTransportException("cluster remoting refused " + peer + ": " + problem, null));
  }

  private static X509Certificate[] peerCertificates(SSLSession session) {
    try {
      return Arrays.stream(session.getPeerCertificates()).filter(X509Certificate.class::isInstance)
          .map(X509Certificate.class::cast).toArray(X509Certificate[]::new);
    } catch (SSLPeerUnverifiedException e) {
      return new X509Certificate[0];
    }
  }

  /** The context for the keys of now: built again when a rotation changed them. */
  private Context context() {
    IdentityKeeper.Keys now = keys.current();
    Context built = context;
    if (built.keys() != now) {
      try {
        built = build(now);
        context = built;
      } catch (IllegalStateException e) {
        // A new key TLS cannot use (the keeper loaded it, so it is a valid identity): keep the last
        // context, for this snapshot too, so that this is tried and logged once per change, not per
        // connection.
        LOG.warn("cluster remoting keeps its TLS key {} and the keys it trusted: the new key cannot be used"
            + " for TLS: {}", built.presented(), e.getMessage());
        built = new Context(now, built.ssl(), built.pins(), built.presented());
        context = built;
      }
    }
    return built;
  }

  private static SSLParameters parameters(SSLEngine engine) {
    SSLParameters parameters = engine.getSSLParameters();
    parameters.setProtocols(new String[] {PROTOCOL});
    List<String> supported = Arrays.asList(engine.getSupportedCipherSuites());
    parameters.setCipherSuites(CIPHER_SUITES.stream().filter(supported::contains).toArray(String[]::new));
    parameters.setEndpointIdentificationAlgorithm(null); // the pin replaces host names
    return parameters;
  }

  private static String hostPort(String host, int port) {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  /**
   * One snapshot of the keys, its TLS context, the keys a peer may present and the fingerprint of the
   * key this member presents.
   */
  private record Context(IdentityKeeper.Keys keys, SSLContext ssl, List<byte[]> pins, String presented) {}

  private Context build(IdentityKeeper.Keys snapshot) {
    DeviceIdentity own = snapshot.identities().get(0);
    List<byte[]> pins = new ArrayList<>();
    for (DeviceIdentity identity : snapshot.identities()) {
      pins.add(subjectPublicKeyInfo(identity.certificate()));
    }
    try {
      SSLContext ssl = SSLContext.getInstance(PROTOCOL, JSSE);
      ssl.init(new KeyManager[] {keyManager(own)}, new TrustManager[] {new PinnedPeers(pins)}, null);
      // No other code resumes these sessions, and a rotation builds a new context with its own caches.
      ssl.getClientSessionContext().setSessionTimeout(3600);
      ssl.getServerSessionContext().setSessionTimeout(3600);
      return new Context(snapshot, ssl, List.copyOf(pins), own.fingerprint());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot build TLS for key " + own.fingerprint() + ": " + e.getMessage(), e);
    }
  }

  /** A key manager that offers {@code identity}'s key and certificate, as the JDK's own key objects. */
  static KeyManager keyManager(DeviceIdentity identity) throws GeneralSecurityException {
    return new OwnKey(jdkKey(identity.privateKey()), jdkCertificate(identity.certificate()));
  }

  /**
   * The private key as a key of the JDK's own providers (SunEC, SunRsaSign), which SunJSSE signs with
   * reliably; the identity's key object may be Bouncy Castle's. In memory only.
   */
  private static PrivateKey jdkKey(PrivateKey key) throws GeneralSecurityException {
    boolean rsa = "RSA".equals(key.getAlgorithm());
    byte[] encoded = key.getEncoded();
    try {
      return KeyFactory.getInstance(rsa ? "RSA" : "EC", rsa ? "SunRsaSign" : "SunEC")
          .generatePrivate(new PKCS8EncodedKeySpec(encoded));
    } finally {
      Arrays.fill(encoded, (byte) 0);
    }
  }

  private static X509Certificate jdkCertificate(X509Certificate certificate) throws GeneralSecurityException {
    return (X509Certificate) CertificateFactory.getInstance("X.509", "SUN")
        .generateCertificate(new ByteArrayInputStream(certificate.getEncoded()));
  }

  /** The certificate's SubjectPublicKeyInfo as its DER bytes, read from the certificate itself. */
  static byte[] subjectPublicKeyInfo(X509Certificate certificate) {
    try {
      return org.bouncycastle.asn1.x509.Certificate.getInstance(certificate.getEncoded())
          .getSubjectPublicKeyInfo().getEncoded(org.bouncycastle.asn1.ASN1Encoding.DER);
    } catch (CertificateEncodingException | IOException | RuntimeException e) {
      return null;
    }
  }

  /** Why {@code chain} is not a holder of one of {@code pins}, or null when it is. */
  static String pinProblem(X509Certificate[] chain, List<byte[]> pins) {
    if (chain == null || chain.length == 0) {
      return "it presented no certificate";
    }
    byte[] presented = subjectPublicKeyInfo(chain[0]);
    if (presented == null) {
      return "its certificate cannot be read";
    }
    // The key the TLS handshake's signature was checked with is the JDK's reading of the certificate:
    // both readings must be the pinned key, so that no certificate parsed two ways can pass the pin
    // with one key and prove the handshake with another.
    byte[] verified = chain[0].getPublicKey() == null ? null : chain[0].getPublicKey().getEncoded();
    if (verified == null || !MessageDigest.isEqual(verified, presented)) {
      return "its certificate's key reads differently to the TLS stack than in the certificate";
    }
    for (byte[] pin : pins) {
      if (MessageDigest.isEqual(pin, presented)) {
        return null;
      }
    }
    return "its certificate's key is not one of this identity's keys (subject "
        + SafeText.cut(chain[0].getSubjectX500Principal().getName(), 80) + ", key sha256 " + sha256(presented)
        + ")";
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 is missing", e);
    }
  }

  /** Logs a refusal, within the {@link RefusalLog}'s budget. */
  private void refused(String peer, String source, String reason) {
    String heldBack = refusals.admit(source + " " + reason, System.nanoTime());
    if (heldBack != null) {
      LOG.warn("cluster remoting refused {}: {}; only holders of {}'s key are members{}", peer, reason,
          keys.current().self(), heldBack);
    }
  }

  private static final String ALERT = "Received fatal alert: ";

  /** The alerts with which JSSE refuses a certificate (the peer's trust manager said no). */
  private static final java.util.Set<String> CERTIFICATE_ALERTS = java.util.Set.of("certificate_unknown",
      "bad_certificate", "unsupported_certificate", "certificate_required", "unknown_ca", "access_denied");

  /** A refusal found in the handshake's failure: the trust manager's reason, or JSSE's, in words. */
  private static String reason(SSLException failure) {
    Throwable cause = failure;
    for (int depth = 0; cause != null && depth < 10; depth++, cause = cause.getCause()) {
      if (cause instanceof NotThisIdentity pinned) {
        return pinned.getMessage();
      }
    }
    String message = String.valueOf(failure.getMessage());
    if (message.contains("Unsupported or unrecognized SSL message") || message.contains("Unrecognized SSL message")) {
      return "it does not speak TLS (plain TCP, or another protocol)";
    }
    if (message.contains("Empty client certificate chain") || message.contains("Empty server certificate chain")) {
      return "it presented no certificate";
    }
    if (message.startsWith(ALERT)) {
      String alert = SafeText.cut(message.substring(ALERT.length()), 40);
      return CERTIFICATE_ALERTS.contains(alert)
          ? "it refused this member's certificate (alert " + alert + "): it holds another key, so it is not a member"
          : "it ended the handshake (alert " + alert + ")";
    }
    if (message.contains("protocol_version") || message.contains("No appropriate protocol")
        || message.contains("cipher suites in common")) {
      return "it offers no TLS 1.3 with an AEAD suite (" + SafeText.detail(message) + ")";
    }
    return "TLS failed: " + SafeText.detail(RootCause.describe(failure));
  }

  /**
   * At most one line a minute per peer (where the peer is known) and reason, and {@value #LINES_PER_MINUTE}
   * lines a minute in all; the next line that is written says how many were held back. Shared by the
   * stream threads of every connection.
   */
  static final class RefusalLog {
    static final int LINES_PER_MINUTE = 20;
    private static final long MINUTE = 60_000_000_000L;
    private static final int KEYS = 1000;

    private final Map<String, Long> lastLogged = new HashMap<>();
    private long windowStart = Long.MIN_VALUE;
    private int linesInWindow;
    private long heldBack;

    /**
     * Whether to log a refusal of {@code key} at {@code now} (nanoseconds): null when not, else the
     * suffix of the line that tells of refusals held back since the last one ("" if none).
     */
    synchronized String admit(String key, long now) {
      if (windowStart == Long.MIN_VALUE || now - windowStart >= MINUTE) {
        windowStart = now;
        linesInWindow = 0;
        lastLogged.values().removeIf(at -> now - at >= MINUTE);
      }
      Long last = lastLogged.get(key);
      boolean recent = last != null && now - last < MINUTE;
      if (recent || linesInWindow >= LINES_PER_MINUTE || (last == null && lastLogged.size() >= KEYS)) {
        heldBack++;
        return null;
      }
      lastLogged.put(key, now);
      linesInWindow++;
      String suffix = heldBack == 0 ? "" : " (" + heldBack + " more refused connection(s) not logged since the"
          + " last such line: one line a minute per peer, " + LINES_PER_MINUTE + " a minute in all)";
      heldBack = 0;
      return suffix;
    }
  }

  /** The trust manager's refusal, carrying the reason to the log line. */
  static final class NotThisIdentity extends CertificateException {
    NotThisIdentity(String reason) {
      super(reason);
    }
  }

  /** Trusts exactly the peers whose certificate carries one of the pinned keys, whatever else it says. */
  static final class PinnedPeers extends X509ExtendedTrustManager {
    private final List<byte[]> pins;

    PinnedPeers(List<byte[]> pins) {
      this.pins = List.copyOf(pins);
    }

    private void check(X509Certificate[] chain) throws CertificateException {
      String problem = pinProblem(chain, pins);
      if (problem != null) {
        throw new NotThisIdentity(problem);
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      check(chain);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0]; // no CA names on the wire: the pin is a key, not an issuer
    }
  }

  /** Offers the one key, for whichever key type the handshake asks for if it is this key's type. */
  private static final class OwnKey extends X509ExtendedKeyManager {
    private static final String ALIAS = "identity";
    private final PrivateKey key;
    private final X509Certificate[] chain;

    OwnKey(PrivateKey key, X509Certificate certificate) {
      this.key = key;
      this.chain = new X509Certificate[] {certificate};
    }

    private boolean fits(String keyType) {
      return key.getAlgorithm().equals(keyType);
    }

    private String[] aliases(String keyType) {
      return fits(keyType) ? new String[] {ALIAS} : null;
    }

    private String choose(String[] keyTypes) {
      return keyTypes != null && Arrays.stream(keyTypes).anyMatch(this::fits) ? ALIAS : null;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return aliases(keyType);
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
      return choose(keyTypes);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
      return choose(keyTypes);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return aliases(keyType);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return fits(keyType) ? ALIAS : null;
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
      return fits(keyType) ? ALIAS : null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return ALIAS.equals(alias) ? chain.clone() : null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return ALIAS.equals(alias) ? key : null;
    }
  }

  /**
   * The engine as JSSE made it, with its first failure logged as a refusal ({@link #refused}): the trust
   * manager never sees a peer without a certificate or one that does not speak TLS, the engine does.
   * Everything else is passed on as it is.
   */
  private final class Watched extends SSLEngine {
    private final SSLEngine engine;
    private final String peer;
    private final String source;
    private volatile boolean reported;
    private volatile boolean established;

    Watched(SSLEngine engine, String peer, String source) {
      super(engine.getPeerHost(), engine.getPeerPort());
      this.engine = engine;
      this.peer = peer;
      this.source = source;
    }

    private SSLEngineResult watched(boolean unwrapping, Step step) throws SSLException {
      try {
        SSLEngineResult result = step.run();
        if (unwrapping && result.bytesProduced() > 0) {
          established = true; // the peer sends data: it took this member's certificate
        }
        return result;
      } catch (SSLException e) {
        if (!reported) {
          reported = true;
          refused(peer, source, (established ? "the connection failed after the handshake: " : "") + reason(e));
        }
        throw e;
      }
    }

    @Override
    public SSLEngineResult wrap(ByteBuffer[] sources, int offset, int length, ByteBuffer destination)
        throws SSLException {
      return watched(false, () -> engine.wrap(sources, offset, length, destination));
    }

    @Override
    public SSLEngineResult unwrap(ByteBuffer source, ByteBuffer[] destinations, int offset, int length)
        throws SSLException {
      return watched(true, () -> engine.unwrap(source, destinations, offset, length));
    }

    @Override
    public Runnable getDelegatedTask() {
      return engine.getDelegatedTask();
    }

    @Override
    public void closeInbound() throws SSLException {
      engine.closeInbound();
    }

    @Override
    public boolean isInboundDone() {
      return engine.isInboundDone();
    }

    @Override
    public void closeOutbound() {
      engine.closeOutbound();
    }

    @Override
    public boolean isOutboundDone() {
      return engine.isOutboundDone();
    }

    @Override
    public String[] getSupportedCipherSuites() {
      return engine.getSupportedCipherSuites();
    }

    @Override
    public String[] getEnabledCipherSuites() {
      return engine.getEnabledCipherSuites();
    }

    @Override
    public void setEnabledCipherSuites(String[] suites) {
      engine.setEnabledCipherSuites(suites);
    }

    @Override
    public String[] getSupportedProtocols() {
      return engine.getSupportedProtocols();
    }

    @Override
    public String[] getEnabledProtocols() {
      return engine.getEnabledProtocols();
    }

    @Override
    public void setEnabledProtocols(String[] protocols) {
      engine.setEnabledProtocols(protocols);
    }

    @Override
    public SSLSession getSession() {
      return engine.getSession();
    }

    @Override
    public SSLSession getHandshakeSession() {
      return engine.getHandshakeSession();
    }

    @Override
    public void beginHandshake() throws SSLException {
      engine.beginHandshake();
    }

    @Override
    public SSLEngineResult.HandshakeStatus getHandshakeStatus() {
      return engine.getHandshakeStatus();
    }

    @Override
    public void setUseClientMode(boolean mode) {
      engine.setUseClientMode(mode);
    }

    @Override
    public boolean getUseClientMode() {
      return engine.getUseClientMode();
    }

    @Override
    public void setNeedClientAuth(boolean need) {
      engine.setNeedClientAuth(need);
    }

    @Override
    public boolean getNeedClientAuth() {
      return engine.getNeedClientAuth();
    }

    @Override
    public void setWantClientAuth(boolean want) {
      engine.setWantClientAuth(want);
    }

    @Override
    public boolean getWantClientAuth() {
      return engine.getWantClientAuth();
    }

    @Override
    public void setEnableSessionCreation(boolean flag) {
      engine.setEnableSessionCreation(flag);
    }

    @Override
    public boolean getEnableSessionCreation() {
      return engine.getEnableSessionCreation();
    }

    @Override
    public SSLParameters getSSLParameters() {
      return engine.getSSLParameters();
    }

    @Override
    public void setSSLParameters(SSLParameters parameters) {
      engine.setSSLParameters(parameters);
    }

    @Override
    public String getApplicationProtocol() {
      return engine.getApplicationProtocol();
    }

    @Override
    public String getHandshakeApplicationProtocol() {
      return engine.getHandshakeApplicationProtocol();
    }

    @Override
    public void setHandshakeApplicationProtocolSelector(BiFunction<SSLEngine, List<String>, String> selector) {
      engine.setHandshakeApplicationProtocolSelector(selector);
    }

    @Override
    public BiFunction<SSLEngine, List<String>, String> getHandshakeApplicationProtocolSelector() {
      return engine.getHandshakeApplicationProtocolSelector();
    }
  }

  @FunctionalInterface
  private interface Step {
    SSLEngineResult run() throws SSLException;
  }
}
