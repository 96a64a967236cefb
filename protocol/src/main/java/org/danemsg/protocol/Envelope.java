package org.danemsg.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.jose4j.json.JsonUtil;
import org.jose4j.jca.ProviderContext;
import org.jose4j.jwe.ContentEncryptionAlgorithmIdentifiers;
import org.jose4j.jwe.JsonWebEncryption;
import org.jose4j.jwe.KeyManagementAlgorithmIdentifiers;
import org.jose4j.jwk.PublicJsonWebKey;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwx.HeaderParameterNames;
import org.jose4j.lang.HashUtil;
import org.jose4j.lang.JoseException;

/**
 * Seals messages (sign, then encrypt to the recipient's published key) and opens them (decrypt with
 * this node's key, then verify with the sender's published key), in the native or the legacy
 * profile (see {@link Profile}).
 *
 * <p>Opening happens in two steps so that a caller can look up the sender's keys asynchronously:
 * {@link #decrypt} needs only this node's own keys and yields a {@link SignedMessage} naming the
 * claimed sender; {@link #verify} then needs the sender's validated keys. {@link #open} does both with a
 * synchronous key source. No method of this class throws on bad input: every problem comes back as a
 * {@link Rejection} with its own {@link Rejection.Reason}.
 *
 * <p>Received messages are held to the exact shape their profile's senders write, member by member,
 * before any library reads them: in the native profile a JWE header of {@code alg} (ECDH-ES or
 * RSA-OAEP-256), {@code enc} (A256GCM), {@code kid}, {@code x5u}, {@code cty} "JWT" (and {@code epk}
 * for ECDH-ES), a JWS header of {@code alg} (ES256 or RS256), {@code x5u} and {@code typ} "JWT", and
 * exactly the claims iss, aud, iat, exp, jti and msg; in the legacy profile the Python original's
 * headers and nothing else (see {@link Profile#LEGACY}), and only from the configured
 * {@link LegacyPeers}. An unknown member, a member of the wrong type, a duplicate member, a huge or
 * fractional number where seconds are expected: each is refused with a reason, never ignored. At most
 * {@value #MAX_KEYS_TRIED} own keys and {@value #MAX_KEYS_TRIED} sender keys are tried per message.
 * Instances are immutable and thread-safe.
 */
public final class Envelope {

  /** Outcome of {@link #decrypt}. */
  public sealed interface DecryptResult permits Decrypted, Rejected {}

  /** Outcome of {@link #verify} and {@link #open}. */
  public sealed interface OpenResult permits Opened, Rejected {}

  /** The payload was decrypted; the signature is still to be checked. */
  public record Decrypted(SignedMessage message) implements DecryptResult {}

  /** The message is authentic and for this node. */
  public record Opened(OpenedMessage message) implements OpenResult {}

  /** The payload was rejected, with the reason. */
  public record Rejected(Rejection rejection) implements DecryptResult, OpenResult {}

  /** What a key source knows about a sender's published keys. */
  public sealed interface SenderKeys permits SenderKeys.Found, SenderKeys.Unavailable {
    /** Validated keys of the sender (several during a key rollover). */
    record Found(List<PublicKey> keys) implements SenderKeys {
      /** Copies the list. */
      public Found {
        keys = List.copyOf(keys);
      }
    }

    /** No validated key could be had, and why. */
    record Unavailable(String reason) implements SenderKeys {}
  }

  /** Gives the validated published keys of a sender. */
  @FunctionalInterface
  public interface SenderKeySource {
    /** The keys published for {@code sender}, or why there are none. */
    SenderKeys keysOf(DnsName sender);
  }

  /**
   * Envelope settings.
   *
   * @param maxPayloadBytes the largest payload accepted or produced (default 64 KiB)
   * @param lifetime how long a sealed native message stays valid ({@code exp - iat}, default 7 days,
   *     so that a device offline for days still gets the messages its broker kept)
   * @param maxLifetime the longest {@code exp - iat} accepted (default 30 days), which bounds how long a
   *     replay window must remember a message
   * @param clockSkew tolerance for {@code iat} in the future and {@code exp} in the past (default 60 s)
   * @param clock the time source
   * @param bouncyCastleForEc use the fast EC provider for ES256, ECDH-ES and AES-GCM: Conscrypt where
   *     its native library loads, else Bouncy Castle (false: the JDK's providers)
   * @param legacyPeers the senders whose messages in the legacy format are accepted (default none)
   */
  public record Settings(int maxPayloadBytes, Duration lifetime, Duration maxLifetime,
      Duration clockSkew, Clock clock, boolean bouncyCastleForEc, LegacyPeers legacyPeers) {

    /** The default largest payload: 64 KiB. */
    public static final int DEFAULT_MAX_PAYLOAD = 64 * 1024;
    /** The default lifetime of a sealed message: 7 days. */
    public static final Duration DEFAULT_LIFETIME = Duration.ofDays(7);
    /** The longest lifetime a sender may choose and a receiver accepts: 30 days. */
    public static final Duration MAX_LIFETIME = Duration.ofDays(30);

    /** Checks the values. */
    public Settings {
      if (maxPayloadBytes < 1024) {
        throw new IllegalArgumentException("the payload limit must be at least 1024 bytes, got "
            + maxPayloadBytes);
      }
      Objects.requireNonNull(clock, "clock");
      Objects.requireNonNull(legacyPeers, "legacyPeers (LegacyPeers.none() for none)");
      if (lifetime.isNegative() || lifetime.isZero() || lifetime.compareTo(maxLifetime) > 0) {
        throw new IllegalArgumentException("message lifetime must be positive and at most "
            + maxLifetime + ", got " + lifetime);
      }
      if (clockSkew.isNegative()) {
        throw new IllegalArgumentException("clock skew must not be negative, got " + clockSkew);
      }
    }

    /** The defaults. */
    public static Settings defaults() {
      return new Settings(DEFAULT_MAX_PAYLOAD, DEFAULT_LIFETIME, MAX_LIFETIME,
          Duration.ofSeconds(60), Clock.systemUTC(), true, LegacyPeers.none());
    }

    /** These settings with another payload limit. */
    public Settings withMaxPayloadBytes(int bytes) {
      return new Settings(bytes, lifetime, maxLifetime, clockSkew, clock, bouncyCastleForEc, legacyPeers);
    }

    /** These settings with another message lifetime. */
    public Settings withLifetime(Duration newLifetime) {
      return new Settings(maxPayloadBytes, newLifetime, maxLifetime, clockSkew, clock, bouncyCastleForEc,
          legacyPeers);
    }

    /** These settings with another clock. */
    public Settings withClock(Clock newClock) {
      return new Settings(maxPayloadBytes, lifetime, maxLifetime, clockSkew, newClock, bouncyCastleForEc,
          legacyPeers);
    }

    /** These settings with the EC provider chosen. */
    public Settings withBouncyCastleForEc(boolean useBouncyCastle) {
      return new Settings(maxPayloadBytes, lifetime, maxLifetime, clockSkew, clock, useBouncyCastle,
          legacyPeers);
    }

    /** These settings accepting legacy-format messages from {@code peers} only. */
    public Settings withLegacyPeers(LegacyPeers peers) {
      return new Settings(maxPayloadBytes, lifetime, maxLifetime, clockSkew, clock, bouncyCastleForEc, peers);
    }
  }

  /** The most keys tried for one message, own keys in decrypt and the sender's in verify. */
  public static final int MAX_KEYS_TRIED = 8;
  /** The shortest RSA key used, in bits. */
  public static final int MIN_RSA_BITS = KeyType.MIN_RSA_BITS;
  /** The longest RSA key used, in bits: a longer one would make each message cost too much. */
  public static final int MAX_RSA_BITS = 4096;
  /** The prefix of a legacy message's {@linkplain OpenedMessage#id() id}. */
  public static final String LEGACY_ID_PREFIX = "sha256-";

  private static final Set<String> NATIVE_JWE_ALGS = Set.of(
      KeyManagementAlgorithmIdentifiers.ECDH_ES, KeyManagementAlgorithmIdentifiers.RSA_OAEP_256);
  private static final Set<String> LEGACY_JWE_ALGS = Set.of(KeyManagementAlgorithmIdentifiers.RSA_OAEP_256);
  private static final Set<String> NATIVE_JWS_ALGS = Set.of(
      AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256,
      AlgorithmIdentifiers.RSA_USING_SHA256);
  private static final Set<String> LEGACY_JWS_ALGS = Set.of(AlgorithmIdentifiers.RSA_USING_SHA256);
  // Every member a header may hold, per profile: what this project's and the Python original's
  // senders write. Anything else (jku, jwk, x5c, kid where none is written, typ where none is
  // written, ...) is refused rather than ignored.
  private static final Set<String> NATIVE_RSA_JWE_MEMBERS = Set.of("alg", "enc", "kid", "x5u", "cty");
  private static final Set<String> NATIVE_ECDH_JWE_MEMBERS = Set.of("alg", "enc", "kid", "x5u", "cty", "epk");
  private static final Set<String> LEGACY_JWE_MEMBERS = Set.of("alg", "enc", "typ", "x5u");
  private static final Set<String> NATIVE_JWS_MEMBERS = Set.of("alg", "x5u", "typ");
  private static final Set<String> LEGACY_JWS_MEMBERS = Set.of("alg", "x5u");
  private static final Set<String> EPK_MEMBERS = Set.of("kty", "crv", "x", "y");
  private static final List<String> NATIVE_CLAIM_ORDER = List.of("iss", "aud", "iat", "exp", "jti", "msg");
  private static final Set<String> NATIVE_CLAIMS = Set.copyOf(NATIVE_CLAIM_ORDER);
  private static final List<String> FLATTENED_JWE_ORDER = List.of("protected", "encrypted_key", "iv", "ciphertext", "tag");
  private static final List<String> FLATTENED_JWS_ORDER = List.of("protected", "payload", "signature");
  private static final int MIN_JTI = 8;
  private static final int MAX_JTI = 64;
  /** 9999-12-31T23:59:59Z: a time claim beyond it is not a time (and would overflow the arithmetic). */
  private static final long MAX_EPOCH_SECOND = 253_402_300_799L;

  private final Settings settings;
  private final ProviderContext ecContext;
  private final ProviderContext jdkContext = new ProviderContext();
  private final ProviderContext rsaContext;
  /** Opening's crypto, on the providers these contexts name. */
  private final JoseCrypto crypto;
  /** The last sender's private key made ready for signing; replaced when another identity signs. */
  private volatile SigningKey signingKey;

  /**
   * An envelope with these settings. RSA-OAEP-256 and RS256 go through Conscrypt where it loads (see
   * {@link CryptoProviders#conscrypt()}), else through the JCA's provider order.
   */
  public Envelope(Settings settings) {
    this(settings, true);
  }

  /** For measurements: {@code conscryptForRsa} false puts RSA on the JCA's provider order. */
  Envelope(Settings settings, boolean conscryptForRsa) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.ecContext = settings.bouncyCastleForEc() ? bouncyCastleContext() : jdkContext;
    this.rsaContext = conscryptForRsa && CryptoProviders.conscrypt().isPresent()
        ? conscryptRsaContext() : jdkContext;
    // jose4j's initialization vectors and content keys: else it seeds a new SecureRandom for each
    for (ProviderContext context : List.of(ecContext, rsaContext, jdkContext)) {
      context.setSecureRandom(CryptoProviders.random());
    }
    this.crypto = new JoseCrypto(settings.bouncyCastleForEc(), conscryptForRsa);
  }

  /** An envelope with the default settings. */
  public Envelope() {
    this(Settings.defaults());
  }

  /** The settings. */
  public Settings settings() {
    return settings;
  }

  /** The JWK thumbprint (RFC 7638, SHA-256, base64url) of a public key: the JWE {@code kid}. */
  public static String keyId(PublicKey key) {
    String known = KEY_IDS.get(key);
    if (known != null) {
      return known;
    }
    String id = thumbprint(key);
    if (KEY_IDS.size() >= 1024) {
      KEY_IDS.clear(); // a sender talks to few peers; bound the memory, not worth an LRU
    }
    KEY_IDS.put(key, id);
    return id;
  }

  /** Thumbprints of recent keys: sealing needs the recipient's for every message. */
  private static final java.util.concurrent.ConcurrentHashMap<PublicKey, String> KEY_IDS =
      new java.util.concurrent.ConcurrentHashMap<>();

  private static String thumbprint(PublicKey key) {
    try {
      return PublicJsonWebKey.Factory.newPublicJwk(key).calculateBase64urlEncodedThumbprint(HashUtil.SHA_256);
    } catch (JoseException e) {
      throw new IllegalArgumentException("cannot compute a thumbprint of " + KeyType.describe(key), e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Sealing

  /**
   * Signs {@code text} as {@code sender} and encrypts it to {@code recipientKey}, in the native profile.
   *
   * @return the MQTT payload (ASCII)
   * @throws SealException when the key is unusable or the result exceeds the payload limit
   */
  public byte[] seal(String text, DeviceIdentity sender, DnsName recipient, PublicKey recipientKey)
      throws SealException {
    return seal(text, sender, recipient, recipientKey, Profile.NATIVE);
  }

  /**
   * Signs {@code text} as {@code sender} and encrypts it to {@code recipientKey} in the given profile.
   * The legacy profile needs RSA keys on both sides, as the Python original does.
   *
   * @return the MQTT payload (ASCII)
   * @throws SealException when a key is unusable for the profile or the result exceeds the payload limit
   */
  public byte[] seal(String text, DeviceIdentity sender, DnsName recipient, PublicKey recipientKey,
      Profile profile) throws SealException {
    return sealMessage(text, sender, recipient, recipientKey, profile).payload();
  }

  /**
   * A sealed message: the MQTT payload and the message's id, the {@link OpenedMessage#id()} its recipient
   * will see (a native message's {@code jti}; for a legacy one, which carries none, the digest the
   * recipient computes).
   */
  public record Sealed(byte[] payload, String id) {}

  /**
   * {@link #seal(String, DeviceIdentity, DnsName, PublicKey, Profile)}, with the message's id.
   *
   * @throws SealException when a key is unusable for the profile or the result exceeds the payload limit
   */
  public Sealed sealMessage(String text, DeviceIdentity sender, DnsName recipient, PublicKey recipientKey,
      Profile profile) throws SealException {
    Objects.requireNonNull(text, "text");
    String problem = KeyType.problemWith(recipientKey);
    if (problem != null) {
      throw new SealException("cannot encrypt to " + recipient + ": " + problem);
    }
    SealedText sealed;
    try {
      sealed = profile == Profile.NATIVE
          ? sealNative(text, sender, recipient, recipientKey)
          : sealLegacy(text, sender, recipient, recipientKey);
    } catch (JoseException e) {
      throw new IllegalStateException("sealing failed: " + e.getMessage(), e);
    }
    byte[] bytes = sealed.payload().getBytes(StandardCharsets.US_ASCII);
    if (bytes.length > settings.maxPayloadBytes()) {
      throw new SealException("message too large: sealed it is " + bytes.length
          + " bytes, the limit is " + settings.maxPayloadBytes() + " bytes (MAX_MESSAGE_SIZE)");
    }
    return new Sealed(bytes, sealed.id());
  }

  /** A payload as text, and its message's id. */
  private record SealedText(String payload, String id) {}

  private SealedText sealNative(String text, DeviceIdentity sender, DnsName recipient, PublicKey recipientKey)
      throws JoseException {
    Instant sentAt = settings.clock().instant();
    String id = newMessageId(sentAt.toEpochMilli());
    long now = sentAt.getEpochSecond();
    Map<String, Object> claims = new LinkedHashMap<>();
    claims.put("iss", sender.name().toString());
    claims.put("aud", recipient.toString());
    claims.put("iat", now);
    claims.put("exp", now + settings.lifetime().toSeconds());
    claims.put("jti", id);
    claims.put("msg", text);

    JsonWebSignature jws = new JsonWebSignature();
    jws.setAlgorithmHeaderValue(sender.keyType() == KeyType.RSA
        ? AlgorithmIdentifiers.RSA_USING_SHA256
        : AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256);
    jws.setHeader(HeaderParameterNames.X509_URL, DnsUri.of(sender.name()));
    jws.setHeader(HeaderParameterNames.TYPE, "JWT");
    jws.setPayload(JsonUtil.toJson(claims));
    jws.setKey(privateKeyOf(sender));
    jws.setProviderContext(contextFor(sender.keyType()));
    String signed = jws.getCompactSerialization();

    JsonWebEncryption jwe = new JsonWebEncryption();
    boolean rsa = recipientKey instanceof RSAPublicKey;
    jwe.setAlgorithmHeaderValue(rsa
        ? KeyManagementAlgorithmIdentifiers.RSA_OAEP_256
        : KeyManagementAlgorithmIdentifiers.ECDH_ES);
    jwe.setEncryptionMethodHeaderParameter(ContentEncryptionAlgorithmIdentifiers.AES_256_GCM);
    jwe.setKeyIdHeaderValue(keyId(recipientKey));
    jwe.setHeader(HeaderParameterNames.X509_URL, DnsUri.of(recipient));
    jwe.setContentTypeHeaderValue("JWT");
    jwe.setPayload(signed);
    jwe.setKey(recipientKey);
    jwe.setProviderContext(contextFor(rsa ? KeyType.RSA : KeyType.EC_P256));
    return new SealedText(jwe.getCompactSerialization(), id);
  }

  private SealedText sealLegacy(String text, DeviceIdentity sender, DnsName recipient, PublicKey recipientKey)
      throws JoseException, SealException {
    if (sender.keyType() != KeyType.RSA) {
      throw new SealException("the legacy profile needs an RSA sender identity (create one with"
          + " tools identity init --rsa); " + sender.name() + " has an " + KeyType.describe(sender.publicKey())
          + " key");
    }
    if (!(recipientKey instanceof RSAPublicKey)) {
      throw new SealException("the legacy profile needs an RSA recipient key; " + recipient
          + " publishes an " + KeyType.describe(recipientKey) + " key");
    }
    // Header bytes exactly as the Python original writes them (sorted keys, no spaces, '/' unescaped).
    JsonWebSignature jws = new JsonWebSignature();
    jws.getHeaders().setFullHeaderAsJsonString(
        "{\"alg\":\"RS256\",\"x5u\":\"" + DnsUri.of(sender.name()) + "\"}");
    jws.setPayload(text);
    jws.setKey(sender.privateKey());
    String[] jwsParts = jws.getCompactSerialization().split("\\.", -1);
    Map<String, Object> flattenedJws = new TreeMap<>();
    flattenedJws.put("payload", jwsParts[1]);
    flattenedJws.put("protected", jwsParts[0]);
    flattenedJws.put("signature", jwsParts[2]);

    JsonWebEncryption jwe = new JsonWebEncryption();
    jwe.getHeaders().setFullHeaderAsJsonString(
        "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256CBC-HS512\",\"typ\":\"JWE\",\"x5u\":\""
            + DnsUri.of(recipient) + "\"}");
    jwe.setPayload(compactJson(flattenedJws));
    jwe.setKey(recipientKey);
    String[] jweParts = jwe.getCompactSerialization().split("\\.", -1);
    Map<String, Object> flattenedJwe = new TreeMap<>();
    flattenedJwe.put("ciphertext", jweParts[3]);
    flattenedJwe.put("encrypted_key", jweParts[1]);
    flattenedJwe.put("iv", jweParts[2]);
    flattenedJwe.put("protected", jweParts[0]);
    flattenedJwe.put("tag", jweParts[4]);
    return new SealedText(compactJson(flattenedJwe), legacyId(jwsParts[0], jwsParts[1]));
  }

  /** JSON of string members without escaping '/', as Python's json.dumps writes it. */
  private static String compactJson(Map<String, Object> members) {
    StringBuilder sb = new StringBuilder("{");
    for (var member : members.entrySet()) {
      if (sb.length() > 1) {
        sb.append(',');
      }
      sb.append('"').append(member.getKey()).append("\":\"").append(member.getValue()).append('"');
    }
    return sb.append('}').toString();
  }

  /** Base-62 digits in ASCII order, so that ids sort as their times do. */
  private static final char[] TIME_DIGITS =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();
  private static final int TIME_CHARS = 8; // 62^8 ms: the year 8900

  /**
   * A new message id: the sending time in milliseconds as {@value #TIME_CHARS} base-62 digits, then
   * 96 random bits as 16 base64url characters. The random part alone makes it unique; the time
   * prefix makes one sender's ids sort in sending order, so a receiver's replay window (kept by
   * sender and id, in a B-tree) grows at its end instead of at random places: a commit of a hundred
   * messages writes a few pages instead of a hundred. The receiver learns nothing it does not see in
   * {@code iat} already, and the broker sees neither (the id is inside the encryption).
   */
  private static String newMessageId(long epochMillis) {
    char[] id = new char[TIME_CHARS];
    long t = Math.max(0, epochMillis);
    for (int i = TIME_CHARS - 1; i >= 0; i--) {
      id[i] = TIME_DIGITS[(int) (t % TIME_DIGITS.length)];
      t /= TIME_DIGITS.length;
    }
    byte[] random = new byte[12];
    CryptoProviders.random().nextBytes(random);
    return new String(id) + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
  }

  // ---------------------------------------------------------------------------------------------
  // Opening

  /**
   * Decrypts and verifies a payload in one go.
   *
   * @param payload the MQTT payload
   * @param self this node's name (the MQTT topic it subscribed to)
   * @param ownKeys this node's identities (several during a key rollover; at most the first
   *     {@value #MAX_KEYS_TRIED} are tried)
   * @param senderKeys where to get the validated published keys of the claimed sender
   */
  public OpenResult open(byte[] payload, DnsName self, List<DeviceIdentity> ownKeys,
      SenderKeySource senderKeys) {
    DecryptResult decrypted = decrypt(payload, self, ownKeys);
    if (decrypted instanceof Rejected rejected) {
      return rejected;
    }
    SignedMessage signed = ((Decrypted) decrypted).message();
    SenderKeys keys;
    try {
      keys = senderKeys.keysOf(signed.claimedSender());
    } catch (RuntimeException e) {
      // The key source is the caller's code; its exception's text is no business of the sender's.
      keys = new SenderKeys.Unavailable("the key lookup failed unexpectedly");
    }
    if (keys instanceof SenderKeys.Unavailable unavailable) {
      return reject(Rejection.Reason.SENDER_KEYS_UNAVAILABLE,
          "no validated key for " + signed.claimedSender() + ": " + unavailable.reason(),
          signed.claimedSender());
    }
    if (!(keys instanceof SenderKeys.Found found)) {
      return reject(Rejection.Reason.SENDER_KEYS_UNAVAILABLE,
          "the key source gave nothing for " + signed.claimedSender(), signed.claimedSender());
    }
    return verify(signed, found.keys());
  }

  /**
   * Checks the payload's size and form, and decrypts it with one of this node's keys. Every member of
   * the JWE header and of the signed content's JWS header is checked here, before any key lookup; a
   * legacy message is refused here unless its claimed sender is one of the configured
   * {@link Settings#legacyPeers() legacy peers}.
   *
   * @param payload the MQTT payload
   * @param self this node's name
   * @param ownKeys this node's identities (several during a key rollover); all must be named {@code self};
   *     at most the first {@value #MAX_KEYS_TRIED} are tried, and RSA keys outside
   *     {@value #MIN_RSA_BITS}..{@value #MAX_RSA_BITS} bits never are
   */
  public DecryptResult decrypt(byte[] payload, DnsName self, List<DeviceIdentity> ownKeys) {
    if (payload == null || payload.length == 0) {
      return reject(Rejection.Reason.EMPTY, "the payload is empty", null);
    }
    if (payload.length > settings.maxPayloadBytes()) {
      return reject(Rejection.Reason.TOO_LARGE, "the payload has " + payload.length
          + " bytes, the limit is " + settings.maxPayloadBytes(), null);
    }
    try {
      return new Decrypted(decryptText(payload, self, ownKeys));
    } catch (Refused e) {
      return new Rejected(e.rejection());
    } catch (RuntimeException | StackOverflowError e) {
      // Last resort: every member is checked before a library sees it, so this is a library's fault on
      // input nobody foresaw. It stays one more malformed payload; the exception's text names Java
      // internals, so it is not shown.
      return reject(Rejection.Reason.NOT_A_JWE, "malformed payload: it could not be read", null);
    }
  }

  private SignedMessage decryptText(byte[] payload, DnsName self, List<DeviceIdentity> ownKeys)
      throws Refused {
    String text = utf8(payload);
    if (text == null) {
      throw new Refused(Rejection.Reason.NOT_A_JWE, "the payload is not text (not UTF-8)");
    }
    text = text.strip();
    Profile profile;
    String[] parts;
    if (text.startsWith("{")) {
      profile = Profile.LEGACY;
      parts = flattenedParts(text, FLATTENED_JWE_ORDER, "JWE", Rejection.Reason.NOT_A_JWE);
    } else {
      profile = Profile.NATIVE;
      parts = compactParts(text);
      if (parts != null && parts.length == 3) {
        throw new Refused(Rejection.Reason.NOT_ENCRYPTED,
            "the payload is a signed but unencrypted JWS; messages must be encrypted");
      }
      if (parts == null || parts.length != 5) {
        throw new Refused(Rejection.Reason.NOT_A_JWE,
            "the payload is neither a compact JWE nor a JWE in JSON serialization");
      }
    }
    JsonMembers header = protectedHeader(parts[0], "JWE", Rejection.Reason.NOT_A_JWE, null);
    String alg = checkJweHeader(header, profile, self);

    KeyType wanted = alg.equals(KeyManagementAlgorithmIdentifiers.ECDH_ES) ? KeyType.EC_P256 : KeyType.RSA;
    String lengths = partLengthProblem(parts, profile, wanted);
    if (lengths != null) {
      throw new Refused(Rejection.Reason.NOT_A_JWE, lengths);
    }
    String kid = profile == Profile.NATIVE ? (String) header.get(HeaderParameterNames.KEY_ID) : null;
    List<DeviceIdentity> candidates = new ArrayList<>();
    String unusable = null;
    for (DeviceIdentity own : firstKeys(ownKeys)) {
      if (own == null || own.keyType() != wanted || (kid != null && !kid.equals(own.keyId()))) {
        continue;
      }
      String problem = crypto.ownKey(own).problem();
      if (problem != null) {
        unusable = "this node's " + problem;
        continue;
      }
      candidates.add(own);
    }
    if (candidates.isEmpty()) {
      String detail = unusable != null ? unusable
          : kid != null ? "the JWE kid '" + kid + "' is not a key of this node (an old or foreign key)"
          : "the JWE is encrypted for an " + wanted + " key and this node holds none";
      throw new Refused(Rejection.Reason.NOT_FOR_THIS_NODE, detail + beyondTheLimit(ownKeys.size(), "own"));
    }

    byte[] plaintext = profile == Profile.LEGACY ? decryptLegacy(parts, candidates)
        : decryptNative(parts, header, wanted, candidates);
    if (plaintext == null) {
      throw new Refused(Rejection.Reason.DECRYPTION_FAILED,
          "the JWE does not decrypt with this node's key (changed in transit, or for another key)");
    }
    return readSignedContent(plaintext, profile, self);
  }

  /** Checks every member of a JWE protected header against the profile's shape; returns the alg. */
  private String checkJweHeader(JsonMembers header, Profile profile, DnsName self) throws Refused {
    boolean legacy = profile == Profile.LEGACY;
    String alg = header.string(HeaderParameterNames.ALGORITHM, Rejection.Reason.ENCRYPTION_ALGORITHM_NOT_ALLOWED);
    if (!(legacy ? LEGACY_JWE_ALGS : NATIVE_JWE_ALGS).contains(alg)) {
      throw new Refused(Rejection.Reason.ENCRYPTION_ALGORITHM_NOT_ALLOWED, "JWE alg '" + alg
          + "' is not allowed (allowed: " + (legacy ? "RSA-OAEP-256 in the legacy format"
          : "ECDH-ES, RSA-OAEP-256") + ")");
    }
    String enc = header.string(HeaderParameterNames.ENCRYPTION_METHOD,
        Rejection.Reason.ENCRYPTION_ALGORITHM_NOT_ALLOWED);
    String allowedEnc = legacy ? ContentEncryptionAlgorithmIdentifiers.AES_256_CBC_HMAC_SHA_512
        : ContentEncryptionAlgorithmIdentifiers.AES_256_GCM;
    if (!enc.equals(allowedEnc)) {
      throw new Refused(Rejection.Reason.ENCRYPTION_ALGORITHM_NOT_ALLOWED, "JWE enc '" + enc
          + "' is not allowed (allowed: " + allowedEnc + (legacy ? " in the legacy format)" : ")"));
    }
    if (header.has(HeaderParameterNames.ZIP)) {
      throw new Refused(Rejection.Reason.ENCRYPTION_ALGORITHM_NOT_ALLOWED,
          "JWE header member 'zip' is not accepted: compression is not allowed");
    }
    if (header.has(HeaderParameterNames.CRITICAL)) {
      throw new Refused(Rejection.Reason.UNSUPPORTED_SERIALIZATION,
          "JWE header member 'crit' is not accepted: this reader implements no critical extension");
    }
    boolean ecdh = alg.equals(KeyManagementAlgorithmIdentifiers.ECDH_ES);
    if (legacy) {
      header.onlyThese(LEGACY_JWE_MEMBERS, Rejection.Reason.UNSUPPORTED_SERIALIZATION,
          "a legacy JWE header has exactly alg, enc, typ and x5u");
      header.requireValue(HeaderParameterNames.TYPE, "JWE", Rejection.Reason.UNSUPPORTED_SERIALIZATION,
          "as the legacy sender writes it");
    } else {
      header.onlyThese(ecdh ? NATIVE_ECDH_JWE_MEMBERS : NATIVE_RSA_JWE_MEMBERS,
          Rejection.Reason.UNSUPPORTED_SERIALIZATION, "a native JWE header has exactly alg, enc, kid, x5u, cty"
              + (ecdh ? " and epk" : ""));
      header.requireValue(HeaderParameterNames.CONTENT_TYPE, "JWT", Rejection.Reason.UNSUPPORTED_SERIALIZATION,
          "it carries a signed JWT");
    }
    String recipientUri = header.string(HeaderParameterNames.X509_URL, Rejection.Reason.NOT_FOR_THIS_NODE);
    DnsName recipient;
    try {
      recipient = DnsUri.nameOf(recipientUri);
    } catch (IllegalArgumentException e) {
      throw new Refused(Rejection.Reason.NOT_FOR_THIS_NODE, "the JWE x5u is invalid: " + e.getMessage());
    }
    if (!recipient.equals(self)) {
      throw new Refused(Rejection.Reason.NOT_FOR_THIS_NODE,
          "the JWE is addressed to " + recipient + ", this node is " + self);
    }
    if (!legacy) {
      header.string(HeaderParameterNames.KEY_ID, Rejection.Reason.NOT_FOR_THIS_NODE);
      if (ecdh) {
        checkEphemeralKey(header.get(HeaderParameterNames.EPHEMERAL_PUBLIC_KEY));
      }
    }
    return alg;
  }

  /** The ECDH-ES ephemeral key must be a P-256 JWK of exactly kty, crv, x and y. */
  private static void checkEphemeralKey(Object epk) throws Refused {
    if (!(epk instanceof Map<?, ?> map)) {
      throw new Refused(Rejection.Reason.NOT_A_JWE, "JWE header member 'epk' must be an EC P-256 public key"
          + " (a JSON object), got " + StrictJson.describe(epk));
    }
    @SuppressWarnings("unchecked")
    JsonMembers key = new JsonMembers((Map<String, Object>) map, "JWE epk member", null);
    key.onlyThese(EPK_MEMBERS, Rejection.Reason.NOT_A_JWE, "an ephemeral key has exactly kty, crv, x and y");
    key.requireValue("kty", "EC", Rejection.Reason.NOT_A_JWE, "ECDH-ES uses an EC key");
    key.requireValue("crv", "P-256", Rejection.Reason.NOT_A_JWE, "only P-256 is accepted");
    for (String coordinate : List.of("x", "y")) {
      String value = key.string(coordinate, Rejection.Reason.NOT_A_JWE);
      if (value.length() != 43 || !isCanonicalBase64url(value)) {
        throw new Refused(Rejection.Reason.NOT_A_JWE,
            "JWE epk member '" + coordinate + "' must be 32 bytes in base64url (43 characters)");
      }
    }
  }

  /**
   * Why the lengths of a JWE's parts are not those its algorithms fix, or null: A256GCM has a 12-byte IV
   * and a 16-byte tag, A256CBC-HS512 a 16-byte IV and a 32-byte tag, and ECDH-ES (direct key agreement)
   * an empty encrypted key. Checked before any crypto, so that no provider decides (Conscrypt refuses an
   * 8- or 16-byte GCM IV, the JDK accepts one) and no unused bytes ride along. The parts are canonical
   * base64url, so a part of n characters is n * 6 / 8 bytes.
   */
  static String partLengthProblem(String[] parts, Profile profile, KeyType wanted) {
    long iv = parts[2].length() * 6L / 8;
    long tag = parts[4].length() * 6L / 8;
    if (profile == Profile.LEGACY && (iv != 16 || tag != 32)) {
      return "A256CBC-HS512 has a 16-byte IV and a 32-byte tag; this JWE has " + iv + " and " + tag;
    }
    if (profile == Profile.NATIVE && (iv != 12 || tag != 16)) {
      return "A256GCM has a 12-byte IV and a 16-byte tag; this JWE has " + iv + " and " + tag;
    }
    if (wanted == KeyType.EC_P256 && !parts[1].isEmpty()) {
      return "ECDH-ES agrees on the key directly: its encrypted key part must be empty";
    }
    return null;
  }

  /**
   * The plaintext of a native JWE (every member checked) with the first of {@code candidates} it decrypts
   * with, or {@code null}. The parts are canonical base64url, so each decodes to the one byte string it
   * stands for.
   */
  private byte[] decryptNative(String[] parts, JsonMembers header, KeyType wanted, List<DeviceIdentity> candidates) {
    Base64.Decoder base64url = Base64.getUrlDecoder();
    byte[] iv = base64url.decode(parts[2]);
    byte[] ciphertext = base64url.decode(parts[3]);
    byte[] tag = base64url.decode(parts[4]);
    byte[] aad = parts[0].getBytes(StandardCharsets.US_ASCII);
    if (wanted == KeyType.EC_P256) {
      // checkEphemeralKey saw to it: an object of kty, crv and two coordinates of 43 characters.
      Map<?, ?> epk = (Map<?, ?>) header.get(HeaderParameterNames.EPHEMERAL_PUBLIC_KEY);
      PublicKey ephemeral = crypto.ephemeralKey(base64url.decode((String) epk.get("x")),
          base64url.decode((String) epk.get("y")));
      for (DeviceIdentity own : candidates) {
        byte[] plaintext = crypto.openEcdhEs(crypto.ownKey(own), ephemeral, iv, ciphertext, tag, aad);
        if (plaintext != null) {
          return plaintext;
        }
      }
      return null;
    }
    // The encrypted key of ECDH-ES is empty (partLengthProblem).
    byte[] encryptedKey = base64url.decode(parts[1]);
    for (DeviceIdentity own : candidates) {
      byte[] plaintext = crypto.openRsaOaep(crypto.ownKey(own), encryptedKey, iv, ciphertext, tag, aad);
      if (plaintext != null) {
        return plaintext;
      }
    }
    return null;
  }

  /** The plaintext of a legacy JWE (A256CBC-HS512) with the first of {@code candidates} it decrypts with. */
  private byte[] decryptLegacy(String[] parts, List<DeviceIdentity> candidates) {
    Base64.Decoder base64url = Base64.getUrlDecoder();
    byte[] encryptedKey = base64url.decode(parts[1]);
    byte[] iv = base64url.decode(parts[2]);
    byte[] ciphertext = base64url.decode(parts[3]);
    byte[] tag = base64url.decode(parts[4]);
    byte[] aad = parts[0].getBytes(StandardCharsets.US_ASCII);
    for (DeviceIdentity own : candidates) {
      byte[] plaintext = crypto.openRsaOaepCbcHmac(crypto.ownKey(own), encryptedKey, iv, ciphertext, tag, aad);
      if (plaintext != null) {
        return plaintext;
      }
    }
    return null;
  }

  private SignedMessage readSignedContent(byte[] plaintext, Profile profile, DnsName self) throws Refused {
    String content = utf8(plaintext);
    if (content == null) {
      throw new Refused(Rejection.Reason.CONTENT_NOT_A_JWS, "the decrypted content is not text (not UTF-8)");
    }
    content = content.strip();
    boolean legacy = profile == Profile.LEGACY;
    boolean flattened = content.startsWith("{");
    String[] parts;
    if (flattened) {
      parts = flattenedParts(content, FLATTENED_JWS_ORDER, "JWS", Rejection.Reason.CONTENT_NOT_A_JWS);
    } else {
      parts = compactParts(content);
      if (parts == null || parts.length != 3) {
        throw new Refused(Rejection.Reason.CONTENT_NOT_A_JWS, "the decrypted content is not a JWS");
      }
    }
    JsonMembers header = protectedHeader(parts[0], "JWS", Rejection.Reason.CONTENT_NOT_A_JWS, null);
    byte[] signedBytes = Base64.getUrlDecoder().decode(parts[1]);
    if (legacy) {
      refuseDowngrade(header, signedBytes);
      if (!flattened) {
        throw new Refused(Rejection.Reason.UNSUPPORTED_SERIALIZATION, "a legacy message carries its JWS in"
            + " JSON flattened serialization, as the legacy sender writes it, not in compact form");
      }
    } else if (flattened) {
      throw new Refused(Rejection.Reason.UNSUPPORTED_SERIALIZATION,
          "a native message carries a compact JWS, not JSON serialization");
    }
    String alg = header.string(HeaderParameterNames.ALGORITHM, Rejection.Reason.SIGNATURE_ALGORITHM_NOT_ALLOWED);
    if (!(legacy ? LEGACY_JWS_ALGS : NATIVE_JWS_ALGS).contains(alg)) {
      throw new Refused(Rejection.Reason.SIGNATURE_ALGORITHM_NOT_ALLOWED, "JWS alg '" + alg
          + "' is not allowed (allowed: " + (legacy ? "RS256 in the legacy format" : "ES256, RS256") + ")");
    }
    if (header.has(HeaderParameterNames.CRITICAL)) {
      throw new Refused(Rejection.Reason.UNSUPPORTED_SERIALIZATION,
          "JWS header member 'crit' is not accepted: this reader implements no critical extension");
    }
    if (legacy) {
      header.onlyThese(LEGACY_JWS_MEMBERS, Rejection.Reason.UNSUPPORTED_SERIALIZATION,
          "a legacy JWS header has exactly alg and x5u");
    } else {
      header.onlyThese(NATIVE_JWS_MEMBERS, Rejection.Reason.UNSUPPORTED_SERIALIZATION,
          "a native JWS header has exactly alg, x5u and typ");
      header.requireValue(HeaderParameterNames.TYPE, "JWT", Rejection.Reason.UNSUPPORTED_SERIALIZATION,
          "it signs JWT claims");
    }
    if (!header.has(HeaderParameterNames.X509_URL)) {
      throw new Refused(Rejection.Reason.SENDER_URI_MISSING,
          "JWS header member 'x5u' is missing: nothing names the sender");
    }
    String senderUri = header.string(HeaderParameterNames.X509_URL, Rejection.Reason.SENDER_URI_INVALID);
    DnsName sender;
    try {
      sender = DnsUri.nameOf(senderUri);
    } catch (IllegalArgumentException e) {
      throw new Refused(Rejection.Reason.SENDER_URI_INVALID, "the JWS x5u is invalid: " + e.getMessage());
    }
    if (legacy) {
      if (utf8(signedBytes) == null) {
        throw new Refused(Rejection.Reason.CLAIMS_INVALID, "the signed legacy text is not UTF-8", sender);
      }
      if (!settings.legacyPeers().allows(sender)) {
        throw new Refused(Rejection.Reason.LEGACY_NOT_ALLOWED, "a message in the legacy format claims to come"
            + " from " + sender + ", which is not a configured legacy peer; to accept legacy messages from it,"
            + " add it to the legacy-peers setting (LEGACY_PEERS)", sender);
      }
    }
    return new SignedMessage(profile, sender, self, parts[0], parts[1], alg, signedBytes,
        Base64.getUrlDecoder().decode(parts[2]));
  }

  /**
   * A legacy JWS signs raw text. One that says it is a JWT, or that signs a native claims set, is a
   * native message's signed part re-wrapped in the legacy format: by the recipient it was meant for
   * (who can decrypt it), to pass it on to another node without the claims being checked.
   */
  private static void refuseDowngrade(JsonMembers header, byte[] signedBytes) throws Refused {
    if (header.get(HeaderParameterNames.TYPE) instanceof String typ
        && (typ.equalsIgnoreCase("JWT") || typ.equalsIgnoreCase("application/jwt"))) {
      throw new Refused(Rejection.Reason.LEGACY_DOWNGRADE, "the legacy JWS says typ '" + typ + "': it is a"
          + " native message's signed claims re-wrapped in the legacy format, which carries no claims");
    }
    String text = utf8(signedBytes);
    if (text != null && text.strip().startsWith("{")
        && StrictJson.parseObject(text) instanceof StrictJson.Parsed parsed) {
      String claim = new JsonMembers(parsed.members(), "claim", null).firstPresent(NATIVE_CLAIM_ORDER);
      if (claim != null) {
        throw new Refused(Rejection.Reason.LEGACY_DOWNGRADE, "the legacy JWS signs a JSON object with the"
            + " native claim '" + claim + "': a native message's signed claims re-wrapped in the legacy"
            + " format, which carries no claims");
      }
    }
  }

  /**
   * Verifies a decrypted message's signature under the sender's published keys and checks its claims.
   * At most the first {@value #MAX_KEYS_TRIED} keys are tried (more are ignored), and RSA keys outside
   * {@value #MIN_RSA_BITS}..{@value #MAX_RSA_BITS} bits are skipped: a sender cannot make one message
   * cost more than that.
   *
   * @param signed what {@link #decrypt} returned
   * @param senderKeys the validated keys published for {@link SignedMessage#claimedSender()}
   */
  public OpenResult verify(SignedMessage signed, List<PublicKey> senderKeys) {
    DnsName sender = signed == null ? null : signed.claimedSender();
    try {
      return verifyChecked(signed, senderKeys);
    } catch (Refused e) {
      return new Rejected(e.rejection());
    } catch (RuntimeException | StackOverflowError e) {
      // Last resort, as in decrypt: not expected, and the exception's text is not for the sender.
      return reject(Rejection.Reason.SIGNATURE_INVALID, "the signature could not be checked (malformed message)",
          sender);
    }
  }

  private OpenResult verifyChecked(SignedMessage signed, List<PublicKey> senderKeys) throws Refused {
    DnsName sender = signed.claimedSender();
    if (senderKeys == null || senderKeys.isEmpty()) {
      return reject(Rejection.Reason.SENDER_KEYS_UNAVAILABLE, "no published key for " + sender, sender);
    }
    boolean ec = AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256.equals(signed.alg());
    byte[] signingInput = null;
    int tried = 0;
    String unusable = null;
    boolean verified = false;
    for (PublicKey key : firstKeys(senderKeys)) {
      if (ec ? !(key instanceof ECPublicKey) : !(key instanceof RSAPublicKey)) {
        continue;
      }
      JoseCrypto.SenderKey ready = crypto.senderKey(key);
      if (ready.problem() != null) {
        unusable = ready.problem();
        continue;
      }
      tried++;
      if (signingInput == null) {
        signingInput = (signed.protectedHeader() + "." + signed.payload()).getBytes(StandardCharsets.US_ASCII);
      }
      if (crypto.verifies(ready, ec, signingInput, signed.signature())) {
        verified = true;
        break;
      }
    }
    if (!verified) {
      String detail = tried > 0
          ? "the signature does not verify under any of the " + tried + " usable key(s) published for " + sender
          : unusable != null ? "no usable key published for " + sender + ": the " + unusable
          : "the message is signed with " + signed.alg() + " but " + sender
              + " publishes no key of that type";
      return reject(Rejection.Reason.SIGNATURE_INVALID, detail + beyondTheLimit(senderKeys.size(), "published"),
          sender);
    }
    byte[] body = signed.body();
    if (signed.profile() == Profile.LEGACY) {
      String text = utf8(body);
      if (text == null) {
        throw new Refused(Rejection.Reason.CLAIMS_INVALID, "the signed legacy text is not UTF-8", sender);
      }
      return new Opened(new OpenedMessage(sender, signed.recipient(), text, null,
          legacyId(signed.protectedHeader(), signed.payload()), null, Profile.LEGACY));
    }
    String claims = utf8(body);
    if (claims == null) {
      throw new Refused(Rejection.Reason.CLAIMS_INVALID, "the signed payload is not text (not UTF-8)", sender);
    }
    return checkClaims(claims, sender, signed.recipient());
  }

  /**
   * The id of a legacy message: a digest of what its sender signed (the JWS signing input: protected
   * header and payload). Not of the MQTT payload, which anyone can re-encrypt to get another one.
   */
  static String legacyId(String protectedHeader, String payload) {
    try {
      java.security.MessageDigest sha256 = java.security.MessageDigest.getInstance("SHA-256");
      sha256.update(protectedHeader.getBytes(StandardCharsets.US_ASCII));
      sha256.update((byte) '.');
      sha256.update(payload.getBytes(StandardCharsets.US_ASCII));
      return LEGACY_ID_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(sha256.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  private OpenResult checkClaims(String body, DnsName sender, DnsName self) throws Refused {
    StrictJson.Result parsed = StrictJson.parseObject(body);
    if (parsed instanceof StrictJson.Malformed malformed) {
      throw new Refused(Rejection.Reason.CLAIMS_INVALID,
          "the signed payload is not a JSON object of claims: " + malformed.problem(), sender);
    }
    JsonMembers claims = new JsonMembers(((StrictJson.Parsed) parsed).members(), "claim", sender);
    for (String name : NATIVE_CLAIM_ORDER) {
      if (!claims.has(name)) {
        throw new Refused(Rejection.Reason.CLAIMS_INVALID, "claim '" + name + "' is missing", sender);
      }
    }
    claims.onlyThese(NATIVE_CLAIMS, Rejection.Reason.CLAIMS_INVALID,
        "a native message carries exactly the claims iss, aud, iat, exp, jti and msg");
    String iss = claims.string("iss", Rejection.Reason.CLAIMS_INVALID);
    String aud = claims.string("aud", Rejection.Reason.CLAIMS_INVALID);
    long iat = claims.integer("iat", 0, MAX_EPOCH_SECOND, "seconds since 1970", Rejection.Reason.CLAIMS_INVALID);
    long exp = claims.integer("exp", 0, MAX_EPOCH_SECOND, "seconds since 1970", Rejection.Reason.CLAIMS_INVALID);
    String jti = claims.string("jti", Rejection.Reason.CLAIMS_INVALID);
    String msg = claims.string("msg", Rejection.Reason.CLAIMS_INVALID);

    DnsName issuer = DnsName.parseOrNull(iss);
    if (issuer == null || !issuer.equals(sender)) {
      return reject(Rejection.Reason.ISSUER_MISMATCH,
          "iss '" + iss + "' differs from the signer's x5u name " + sender, sender);
    }
    DnsName audience = DnsName.parseOrNull(aud);
    if (audience == null || !audience.equals(self)) {
      return reject(Rejection.Reason.AUDIENCE_MISMATCH, "aud '" + aud + "' is not this node (" + self + ")", sender);
    }
    if (!isSafeMessageId(jti)) {
      return reject(Rejection.Reason.CLAIMS_INVALID, "jti '" + jti + "' is not a message id: it must be "
          + MIN_JTI + " to " + MAX_JTI + " characters of A-Z, a-z, 0-9, '_' and '-'", sender);
    }
    Instant now = settings.clock().instant();
    long skew = settings.clockSkew().toSeconds();
    if (exp < iat) {
      return reject(Rejection.Reason.CLAIMS_INVALID, "exp lies before iat", sender);
    }
    if (exp - iat > settings.maxLifetime().toSeconds()) {
      return reject(Rejection.Reason.CLAIMS_INVALID, "the message claims to stay valid "
          + (exp - iat) + " s, at most " + settings.maxLifetime().toSeconds() + " s are accepted", sender);
    }
    if (exp + skew < now.getEpochSecond()) {
      return reject(Rejection.Reason.EXPIRED, "the message expired at " + Instant.ofEpochSecond(exp)
          + " (now " + now.truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + ")", sender);
    }
    if (iat - skew > now.getEpochSecond()) {
      return reject(Rejection.Reason.ISSUED_IN_FUTURE, "the message claims to be sent at "
          + Instant.ofEpochSecond(iat) + ", in the future (now "
          + now.truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + "); check the clocks", sender);
    }
    return new Opened(new OpenedMessage(sender, self, msg, Instant.ofEpochSecond(iat), jti,
        Instant.ofEpochSecond(exp), Profile.NATIVE));
  }

  /**
   * Whether {@code jti} is a message id this node keeps: {@value #MIN_JTI} to {@value #MAX_JTI}
   * characters of A-Z, a-z, 0-9, '_' and '-'. Ids end up in records and file names, so none may
   * hold a space, a separator or anything else that could change a file's layout.
   */
  static boolean isSafeMessageId(String jti) {
    if (jti.length() < MIN_JTI || jti.length() > MAX_JTI) {
      return false;
    }
    for (int i = 0; i < jti.length(); i++) {
      char c = jti.charAt(i);
      if (!(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '_' && c != '-') {
        return false;
      }
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------------

  /** The first keys of a list, as many as one message may cost. */
  private static <T> List<T> firstKeys(List<T> keys) {
    return keys.size() > MAX_KEYS_TRIED ? keys.subList(0, MAX_KEYS_TRIED) : keys;
  }

  private static String beyondTheLimit(int keys, String which) {
    return keys > MAX_KEYS_TRIED
        ? " (only the first " + MAX_KEYS_TRIED + " of " + keys + " " + which + " keys are tried)" : "";
  }

  /** Why a key is not used for a message, or {@code null}: unsupported, or RSA too short or too long. */
  static String keyProblem(PublicKey key) {
    String problem = KeyType.problemWith(key);
    if (problem != null) {
      return problem;
    }
    if (key instanceof RSAPublicKey rsa && rsa.getModulus().bitLength() > MAX_RSA_BITS) {
      return "RSA key of " + rsa.getModulus().bitLength() + " bits is outside " + MIN_RSA_BITS + ".."
          + MAX_RSA_BITS + " bits and is not used";
    }
    return null;
  }

  /** A protected header: canonical base64url (checked by the caller) of a UTF-8 JSON object. */
  private static JsonMembers protectedHeader(String encoded, String what, Rejection.Reason reason,
      DnsName sender) throws Refused {
    String json = utf8(Base64.getUrlDecoder().decode(encoded));
    if (json == null) {
      throw new Refused(reason, "the " + what + " protected header is not UTF-8", sender);
    }
    StrictJson.Result parsed = StrictJson.parseObject(json);
    if (parsed instanceof StrictJson.Malformed malformed) {
      throw new Refused(reason, "the " + what + " protected header is not a JSON object: "
          + malformed.problem(), sender);
    }
    return new JsonMembers(((StrictJson.Parsed) parsed).members(), what + " header member", sender);
  }

  /**
   * The parts, in compact order, of a JWE or JWS in JSON flattened serialization: only the members
   * the legacy sender writes, each a base64url string. Unprotected headers or AAD would be silently
   * ignored by a compact reader, so they are refused.
   */
  private static String[] flattenedParts(String json, List<String> order, String what, Rejection.Reason reason)
      throws Refused {
    StrictJson.Result parsed = StrictJson.parseObject(json);
    if (parsed instanceof StrictJson.Malformed malformed) {
      throw new Refused(reason, "the " + (what.equals("JWE") ? "payload" : "decrypted content")
          + " starts with '{' but is not a JSON object: " + malformed.problem());
    }
    JsonMembers members = new JsonMembers(((StrictJson.Parsed) parsed).members(), what + " JSON member", null);
    if (members.has("recipients") || members.has("signatures")) {
      throw new Refused(Rejection.Reason.UNSUPPORTED_SERIALIZATION, what + " JSON general serialization is not"
          + " accepted (only flattened, as the legacy sender writes)");
    }
    members.onlyThese(Set.copyOf(order), Rejection.Reason.UNSUPPORTED_SERIALIZATION,
        "a flattened " + what + " has exactly " + String.join(", ", order));
    String[] parts = new String[order.size()];
    for (int i = 0; i < parts.length; i++) {
      String value = members.string(order.get(i), reason);
      if (!isCanonicalBase64url(value)) {
        throw new Refused(reason, "the " + what + " JSON member '" + order.get(i) + "' is not base64url");
      }
      parts[i] = value;
    }
    return parts;
  }

  /** The dot-separated parts of a compact serialization, or {@code null} when one is not base64url. */
  private static String[] compactParts(String text) {
    String[] parts = text.split("\\.", -1);
    if (parts.length > 5) {
      return parts;
    }
    for (String part : parts) {
      if (!isCanonicalBase64url(part)) {
        return null;
      }
    }
    return parts;
  }

  /** The bytes as UTF-8 text, or {@code null} when they are not well-formed UTF-8. */
  private static String utf8(byte[] bytes) {
    if (isAscii(bytes)) {
      return new String(bytes, StandardCharsets.ISO_8859_1); // ASCII is its own UTF-8, and needs no decoder
    }
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  private static boolean isAscii(byte[] bytes) {
    for (byte b : bytes) {
      if (b < 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether {@code text} is unpadded base64url in its one canonical spelling. Decoders ignore the
   * unused low bits of the last character, so without this check two payloads differing in one byte
   * could carry the same message.
   */
  static boolean isCanonicalBase64url(String text) {
    // Checked by hand: this runs over every payload (a regex and a decode-and-re-encode of the whole
    // ciphertext took a tenth of the node's CPU).
    int length = text.length();
    if (length % 4 == 1) {
      return false;
    }
    int last = 0;
    for (int i = 0; i < length; i++) {
      last = BASE64URL_VALUES[Math.min(text.charAt(i), 127)];
      if (last < 0) {
        return false;
      }
    }
    // The last character's bits beyond the data must be zero: 4 of them after 2 characters of a
    // group, 2 after 3.
    return switch (length % 4) {
      case 2 -> (last & 0x0f) == 0;
      case 3 -> (last & 0x03) == 0;
      default -> true;
    };
  }

  private static final int[] BASE64URL_VALUES = base64urlValues();

  private static int[] base64urlValues() {
    int[] values = new int[128];
    java.util.Arrays.fill(values, -1);
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int i = 0; i < alphabet.length(); i++) {
      values[alphabet.charAt(i)] = i;
    }
    values[127] = -1; // stands for every character from 127 up
    return values;
  }

  private ProviderContext contextFor(KeyType type) {
    return type == KeyType.EC_P256 ? ecContext : rsaContext;
  }

  /** The provider named for RSA work, or {@code null} for the JCA's order; for tests. */
  String rsaProvider() {
    return rsaContext.getSuppliedKeyProviderContext().getCipherProvider();
  }

  /**
   * The identity's private key as the provider of its key type's context takes it fastest (Conscrypt
   * parses any key but its own from the key's encoding at each signature), made once per identity
   * object: the key's own {@code hashCode}, which a cache by key would call, computes a Bouncy Castle EC
   * key's public point each time.
   */
  private java.security.PrivateKey privateKeyOf(DeviceIdentity identity) {
    SigningKey last = signingKey;
    if (last != null && last.identity() == identity) {
      return last.key();
    }
    java.security.PrivateKey key = identity.privateKey();
    if (contextFor(identity.keyType()) != jdkContext) {
      key = CryptoProviders.conscryptKey(key);
    }
    signingKey = new SigningKey(identity, key);
    return key;
  }

  /** The last sender's private key made ready for signing ({@link #privateKeyOf}). */
  private record SigningKey(DeviceIdentity identity, java.security.PrivateKey key) {}

  /**
   * The provider context for RSA work where Conscrypt loads: RSA-OAEP-256 (the node's per-message
   * private-key operation), RS256 and the content cipher (AES-GCM; AES-CBC of the legacy format) in
   * BoringSSL instead of Java {@code BigInteger} code. HMAC-SHA-512 of the legacy format stays on the
   * JCA's order.
   */
  private static ProviderContext conscryptRsaContext() {
    ProviderContext context = new ProviderContext();
    String name = CryptoProviders.conscrypt().orElseThrow().getName();
    for (ProviderContext.Context c : List.of(context.getSuppliedKeyProviderContext(),
        context.getGeneralProviderContext())) {
      c.setSignatureProvider(name);
      c.setCipherProvider(name);
    }
    return context;
  }

  /**
   * The provider context for EC work: Conscrypt where its native library loads (several times faster
   * than Bouncy Castle for every per-message operation), else Bouncy Castle with the named-curve key
   * pair generator (see {@link P256KeyPairProvider}).
   */
  private static ProviderContext bouncyCastleContext() {
    ProviderContext context = new ProviderContext();
    java.util.Optional<java.security.Provider> conscrypt = CryptoProviders.conscrypt();
    String bc = CryptoProviders.bouncyCastle().getName();
    for (ProviderContext.Context c : List.of(context.getSuppliedKeyProviderContext(),
        context.getGeneralProviderContext())) {
      if (conscrypt.isPresent()) {
        String name = conscrypt.get().getName();
        c.setSignatureProvider(name);
        c.setKeyAgreementProvider(name);
        c.setKeyPairGeneratorProvider(name);
        c.setCipherProvider(name);
        // The ephemeral key of a received JWE is rebuilt from its JWK with explicit curve parameters;
        // Bouncy Castle (first in the list in the node) would then encode it with those explicit
        // parameters, which BoringSSL refuses. SunEC encodes a P-256 key with the curve's name.
        c.setKeyFactoryProvider(java.security.Security.getProvider("SunEC") != null ? "SunEC" : name);
      } else {
        c.setSignatureProvider(bc);
        c.setKeyAgreementProvider(bc);
        c.setKeyPairGeneratorProvider(CryptoProviders.p256KeyPairs());
      }
    }
    return context;
  }

  private static String quoted(String value) {
    return value == null ? "(none)" : "'" + DnsName.printable(value) + "'";
  }

  private static Rejected reject(Rejection.Reason reason, String detail, DnsName sender) {
    return new Rejected(new Rejection(reason, detail, sender));
  }
}
