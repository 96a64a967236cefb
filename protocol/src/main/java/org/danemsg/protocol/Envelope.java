package org.danemsg.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.security.SecureRandom;
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
import org.jose4j.jwa.AlgorithmConstraints;
import org.jose4j.jwa.AlgorithmConstraints.ConstraintType;
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
 * <p>Only these algorithms are accepted, whatever a payload asks for: JWE {@code alg} ECDH-ES or
 * RSA-OAEP-256, {@code enc} A256GCM or A256CBC-HS512 (the legacy one), no {@code zip}; JWS {@code alg}
 * ES256 or RS256. Instances are immutable and thread-safe.
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
   * @param lifetime how long a sealed native message stays valid ({@code exp - iat}, default 5 min)
   * @param maxLifetime the longest {@code exp - iat} accepted (default 24 h), which bounds how long a
   *     replay cache must remember a message
   * @param clockSkew tolerance for {@code iat} in the future and {@code exp} in the past (default 60 s)
   * @param clock the time source
   * @param bouncyCastleForEc use the fast EC provider for ES256, ECDH-ES and AES-GCM: Conscrypt where
   *     its native library loads, else Bouncy Castle (false: the JDK's providers)
   */
  public record Settings(int maxPayloadBytes, Duration lifetime, Duration maxLifetime,
      Duration clockSkew, Clock clock, boolean bouncyCastleForEc) {

    /** The default largest payload: 64 KiB. */
    public static final int DEFAULT_MAX_PAYLOAD = 64 * 1024;

    /** Checks the values. */
    public Settings {
      if (maxPayloadBytes < 1024) {
        throw new IllegalArgumentException("the payload limit must be at least 1024 bytes, got "
            + maxPayloadBytes);
      }
      Objects.requireNonNull(clock, "clock");
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
      return new Settings(DEFAULT_MAX_PAYLOAD, Duration.ofMinutes(5), Duration.ofHours(24),
          Duration.ofSeconds(60), Clock.systemUTC(), true);
    }

    /** These settings with another payload limit. */
    public Settings withMaxPayloadBytes(int bytes) {
      return new Settings(bytes, lifetime, maxLifetime, clockSkew, clock, bouncyCastleForEc);
    }

    /** These settings with another message lifetime. */
    public Settings withLifetime(Duration newLifetime) {
      return new Settings(maxPayloadBytes, newLifetime, maxLifetime, clockSkew, clock, bouncyCastleForEc);
    }

    /** These settings with another clock. */
    public Settings withClock(Clock newClock) {
      return new Settings(maxPayloadBytes, lifetime, maxLifetime, clockSkew, newClock, bouncyCastleForEc);
    }

    /** These settings with the EC provider chosen. */
    public Settings withBouncyCastleForEc(boolean useBouncyCastle) {
      return new Settings(maxPayloadBytes, lifetime, maxLifetime, clockSkew, clock, useBouncyCastle);
    }
  }

  private static final Set<String> JWE_ALGS = Set.of(
      KeyManagementAlgorithmIdentifiers.ECDH_ES, KeyManagementAlgorithmIdentifiers.RSA_OAEP_256);
  private static final Set<String> JWE_ENCS = Set.of(
      ContentEncryptionAlgorithmIdentifiers.AES_256_GCM,
      ContentEncryptionAlgorithmIdentifiers.AES_256_CBC_HMAC_SHA_512);
  private static final Set<String> JWS_ALGS = Set.of(
      AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256,
      AlgorithmIdentifiers.RSA_USING_SHA256);
  private static final AlgorithmConstraints JWE_ALG_CONSTRAINTS =
      new AlgorithmConstraints(ConstraintType.PERMIT, JWE_ALGS.toArray(String[]::new));
  private static final AlgorithmConstraints JWE_ENC_CONSTRAINTS =
      new AlgorithmConstraints(ConstraintType.PERMIT, JWE_ENCS.toArray(String[]::new));
  private static final AlgorithmConstraints JWS_CONSTRAINTS =
      new AlgorithmConstraints(ConstraintType.PERMIT, JWS_ALGS.toArray(String[]::new));
  private static final Set<String> FLATTENED_JWE_MEMBERS =
      Set.of("protected", "encrypted_key", "iv", "ciphertext", "tag");
  private static final Set<String> FLATTENED_JWS_MEMBERS = Set.of("payload", "protected", "signature");
  private static final int MAX_JTI = 128;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Settings settings;
  private final ProviderContext ecContext;
  private final ProviderContext jdkContext = new ProviderContext();

  /** An envelope with these settings. */
  public Envelope(Settings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.ecContext = settings.bouncyCastleForEc() ? bouncyCastleContext() : jdkContext;
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
    Objects.requireNonNull(text, "text");
    String problem = KeyType.problemWith(recipientKey);
    if (problem != null) {
      throw new SealException("cannot encrypt to " + recipient + ": " + problem);
    }
    String payload;
    try {
      payload = profile == Profile.NATIVE
          ? sealNative(text, sender, recipient, recipientKey)
          : sealLegacy(text, sender, recipient, recipientKey);
    } catch (JoseException e) {
      throw new IllegalStateException("sealing failed: " + e.getMessage(), e);
    }
    byte[] bytes = payload.getBytes(StandardCharsets.US_ASCII);
    if (bytes.length > settings.maxPayloadBytes()) {
      throw new SealException("message too large: sealed it is " + bytes.length
          + " bytes, the limit is " + settings.maxPayloadBytes() + " bytes (MAX_MESSAGE_SIZE)");
    }
    return bytes;
  }

  private String sealNative(String text, DeviceIdentity sender, DnsName recipient, PublicKey recipientKey)
      throws JoseException {
    long now = settings.clock().instant().getEpochSecond();
    Map<String, Object> claims = new LinkedHashMap<>();
    claims.put("iss", sender.name().toString());
    claims.put("aud", recipient.toString());
    claims.put("iat", now);
    claims.put("exp", now + settings.lifetime().toSeconds());
    claims.put("jti", newMessageId());
    claims.put("msg", text);

    JsonWebSignature jws = new JsonWebSignature();
    jws.setAlgorithmHeaderValue(sender.keyType() == KeyType.RSA
        ? AlgorithmIdentifiers.RSA_USING_SHA256
        : AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256);
    jws.setHeader(HeaderParameterNames.X509_URL, DnsUri.of(sender.name()));
    jws.setHeader(HeaderParameterNames.TYPE, "JWT");
    jws.setPayload(JsonUtil.toJson(claims));
    jws.setKey(sender.privateKey());
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
    return jwe.getCompactSerialization();
  }

  private String sealLegacy(String text, DeviceIdentity sender, DnsName recipient, PublicKey recipientKey)
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
    return compactJson(flattenedJwe);
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

  private static String newMessageId() {
    byte[] id = new byte[16];
    RANDOM.nextBytes(id);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(id);
  }

  // ---------------------------------------------------------------------------------------------
  // Opening

  /**
   * Decrypts and verifies a payload in one go.
   *
   * @param payload the MQTT payload
   * @param self this node's name (the MQTT topic it subscribed to)
   * @param ownKeys this node's identities (several during a key rollover)
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
      keys = new SenderKeys.Unavailable("key lookup failed: " + e);
    }
    if (keys instanceof SenderKeys.Unavailable unavailable) {
      return reject(Rejection.Reason.SENDER_KEYS_UNAVAILABLE,
          "no validated key for " + signed.claimedSender() + ": " + unavailable.reason(),
          signed.claimedSender());
    }
    return verify(signed, ((SenderKeys.Found) keys).keys());
  }

  /**
   * Checks the payload's size and form, and decrypts it with one of this node's keys.
   *
   * @param payload the MQTT payload
   * @param self this node's name
   * @param ownKeys this node's identities (several during a key rollover); all must be named {@code self}
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
      return decryptText(payload, self, ownKeys);
    } catch (RuntimeException e) {
      // A parser fault on hostile input must never escape: it is one more malformed payload.
      return reject(Rejection.Reason.NOT_A_JWE, "unreadable payload (" + e.getClass().getSimpleName()
          + ")", null);
    }
  }

  private DecryptResult decryptText(byte[] payload, DnsName self, List<DeviceIdentity> ownKeys) {
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(payload)).toString().strip();
    } catch (CharacterCodingException e) {
      return reject(Rejection.Reason.NOT_A_JWE, "the payload is not text (not UTF-8)", null);
    }
    Profile profile;
    String compact;
    if (text.startsWith("{")) {
      profile = Profile.LEGACY;
      Object flattened = flattenedToCompact(text, FLATTENED_JWE_MEMBERS, "JWE");
      if (flattened instanceof Rejected rejected) {
        return rejected;
      }
      compact = (String) flattened;
    } else {
      profile = Profile.NATIVE;
      int parts = compactParts(text);
      if (parts == 3) {
        return reject(Rejection.Reason.NOT_ENCRYPTED,
            "the payload is a signed but unencrypted JWS; messages must be encrypted", null);
      }
      if (parts != 5) {
        return reject(Rejection.Reason.NOT_A_JWE,
            "the payload is neither a compact JWE nor a JWE in JSON serialization", null);
      }
      compact = text;
    }

    JsonWebEncryption header = new JsonWebEncryption();
    try {
      header.setCompactSerialization(compact);
    } catch (JoseException e) {
      return reject(Rejection.Reason.NOT_A_JWE, "the JWE header is unreadable: " + e.getMessage(), null);
    }
    String alg = header.getAlgorithmHeaderValue();
    String enc = header.getEncryptionMethodHeaderParameter();
    if (!JWE_ALGS.contains(alg)) {
      return reject(Rejection.Reason.ENCRYPTION_ALGORITHM_NOT_ALLOWED,
          "JWE alg " + quoted(alg) + " is not allowed (allowed: ECDH-ES, RSA-OAEP-256)", null);
    }
    if (!JWE_ENCS.contains(enc)) {
      return reject(Rejection.Reason.ENCRYPTION_ALGORITHM_NOT_ALLOWED,
          "JWE enc " + quoted(enc) + " is not allowed (allowed: A256GCM, A256CBC-HS512)", null);
    }
    if (header.getHeader(HeaderParameterNames.ZIP) != null) {
      return reject(Rejection.Reason.ENCRYPTION_ALGORITHM_NOT_ALLOWED,
          "JWE compression (zip) is not allowed", null);
    }
    if (header.getHeaders().getObjectHeaderValue(HeaderParameterNames.CRITICAL) != null) {
      return reject(Rejection.Reason.UNSUPPORTED_SERIALIZATION,
          "the JWE has critical header extensions (crit), which this reader does not implement", null);
    }
    String recipientUri = header.getHeader(HeaderParameterNames.X509_URL);
    if (recipientUri == null) {
      return reject(Rejection.Reason.NOT_FOR_THIS_NODE,
          "the JWE has no x5u naming its recipient", null);
    }
    DnsName recipient;
    try {
      recipient = DnsUri.nameOf(recipientUri);
    } catch (IllegalArgumentException e) {
      return reject(Rejection.Reason.NOT_FOR_THIS_NODE, "the JWE x5u is invalid: " + e.getMessage(), null);
    }
    if (!recipient.equals(self)) {
      return reject(Rejection.Reason.NOT_FOR_THIS_NODE,
          "the JWE is addressed to " + recipient + ", this node is " + self, null);
    }
    KeyType wanted = alg.equals(KeyManagementAlgorithmIdentifiers.ECDH_ES) ? KeyType.EC_P256 : KeyType.RSA;
    String kid = header.getKeyIdHeaderValue();
    List<DeviceIdentity> candidates = new ArrayList<>();
    for (DeviceIdentity own : ownKeys) {
      if (own.keyType() == wanted && (kid == null || kid.equals(own.keyId()))) {
        candidates.add(own);
      }
    }
    if (candidates.isEmpty()) {
      return reject(Rejection.Reason.NOT_FOR_THIS_NODE, kid != null
          ? "the JWE kid " + quoted(kid) + " is not a key of this node (an old or foreign key)"
          : "the JWE is encrypted for an " + wanted + " key and this node holds none", null);
    }

    String plaintext = null;
    for (DeviceIdentity own : candidates) {
      // The JWE parsed above serves the first key; a key rollover's second key gets a fresh parse.
      plaintext = tryDecrypt(own == candidates.get(0) ? header : null, compact, own);
      if (plaintext != null) {
        break;
      }
    }
    if (plaintext == null) {
      return reject(Rejection.Reason.DECRYPTION_FAILED,
          "the JWE does not decrypt with this node's key (changed in transit, or for another key)", null);
    }
    return readSignedContent(plaintext, profile, self);
  }

  private String tryDecrypt(JsonWebEncryption parsed, String compact, DeviceIdentity own) {
    try {
      JsonWebEncryption jwe = parsed != null ? parsed : new JsonWebEncryption();
      jwe.setAlgorithmConstraints(JWE_ALG_CONSTRAINTS);
      jwe.setContentEncryptionAlgorithmConstraints(JWE_ENC_CONSTRAINTS);
      jwe.setProviderContext(contextFor(own.keyType()));
      if (parsed == null) {
        jwe.setCompactSerialization(compact);
      }
      jwe.setKey(own.privateKey());
      return jwe.getPlaintextString();
    } catch (JoseException | RuntimeException e) {
      return null;
    }
  }

  private DecryptResult readSignedContent(String plaintext, Profile profile, DnsName self) {
    String content = plaintext.strip();
    String compactJws;
    if (profile == Profile.LEGACY && content.startsWith("{")) {
      Object flattened = flattenedToCompact(content, FLATTENED_JWS_MEMBERS, "JWS");
      if (flattened instanceof Rejected) {
        return reject(Rejection.Reason.CONTENT_NOT_A_JWS,
            "the decrypted content is JSON but not a flattened JWS", null);
      }
      compactJws = (String) flattened;
    } else if (compactParts(content) == 3) {
      compactJws = content;
    } else {
      return reject(Rejection.Reason.CONTENT_NOT_A_JWS, "the decrypted content is not a JWS", null);
    }
    JsonWebSignature jws = new JsonWebSignature();
    try {
      jws.setCompactSerialization(compactJws);
    } catch (JoseException | RuntimeException e) {
      return reject(Rejection.Reason.CONTENT_NOT_A_JWS,
          "the decrypted content is not a readable JWS: " + e.getMessage(), null);
    }
    String alg = jws.getAlgorithmHeaderValue();
    if (!JWS_ALGS.contains(alg)) {
      return reject(Rejection.Reason.SIGNATURE_ALGORITHM_NOT_ALLOWED,
          "JWS alg " + quoted(alg) + " is not allowed (allowed: ES256, RS256)", null);
    }
    if (jws.getHeaders().getObjectHeaderValue(HeaderParameterNames.CRITICAL) != null) {
      return reject(Rejection.Reason.UNSUPPORTED_SERIALIZATION,
          "the JWS has critical header extensions (crit), which this reader does not implement", null);
    }
    String senderUri = jws.getHeader(HeaderParameterNames.X509_URL);
    if (senderUri == null) {
      return reject(Rejection.Reason.SENDER_URI_MISSING, "the JWS has no x5u naming its sender", null);
    }
    DnsName sender;
    try {
      sender = DnsUri.nameOf(senderUri);
    } catch (IllegalArgumentException e) {
      return reject(Rejection.Reason.SENDER_URI_INVALID, "the JWS x5u is invalid: " + e.getMessage(), null);
    }
    return new Decrypted(new SignedMessage(profile, sender, self, compactJws));
  }

  /**
   * Verifies a decrypted message's signature under the sender's published keys and checks its claims.
   *
   * @param signed what {@link #decrypt} returned
   * @param senderKeys the validated keys published for {@link SignedMessage#claimedSender()}
   */
  public OpenResult verify(SignedMessage signed, List<PublicKey> senderKeys) {
    try {
      return verifyChecked(signed, senderKeys);
    } catch (RuntimeException e) {
      return reject(Rejection.Reason.SIGNATURE_INVALID,
          "the signature cannot be checked (" + e.getClass().getSimpleName() + ")", signed.claimedSender());
    }
  }

  private OpenResult verifyChecked(SignedMessage signed, List<PublicKey> senderKeys) {
    DnsName sender = signed.claimedSender();
    if (senderKeys == null || senderKeys.isEmpty()) {
      return reject(Rejection.Reason.SENDER_KEYS_UNAVAILABLE, "no published key for " + sender, sender);
    }
    JsonWebSignature jws = new JsonWebSignature();
    try {
      jws.setCompactSerialization(signed.compactJws());
    } catch (JoseException e) {
      return reject(Rejection.Reason.CONTENT_NOT_A_JWS, "unreadable JWS: " + e.getMessage(), sender);
    }
    boolean ec = AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256.equals(jws.getAlgorithmHeaderValue());
    boolean triedOne = false;
    boolean verified = false;
    for (PublicKey key : senderKeys) {
      if (ec ? !(key instanceof ECPublicKey) : !(key instanceof RSAPublicKey)) {
        continue;
      }
      // The JWS parsed above serves the first key tried; others get a fresh parse.
      JsonWebSignature reuse = triedOne ? null : jws;
      triedOne = true;
      if (verifiesWith(reuse, signed.compactJws(), key, ec ? KeyType.EC_P256 : KeyType.RSA)) {
        verified = true;
        break;
      }
    }
    if (!verified) {
      return reject(Rejection.Reason.SIGNATURE_INVALID, triedOne
          ? "the signature does not verify under any of the " + senderKeys.size() + " key(s) published for " + sender
          : "the message is signed with " + jws.getAlgorithmHeaderValue() + " but " + sender
              + " publishes no key of that type", sender);
    }
    String body;
    try {
      body = jws.getUnverifiedPayload();
    } catch (RuntimeException e) {
      return reject(Rejection.Reason.CLAIMS_INVALID, "the signed payload is unreadable", sender);
    }
    if (signed.profile() == Profile.LEGACY) {
      return new Opened(new OpenedMessage(sender, signed.recipient(), body, null, null, null,
          Profile.LEGACY));
    }
    return checkClaims(body, sender, signed.recipient());
  }

  private boolean verifiesWith(JsonWebSignature parsed, String compactJws, PublicKey key, KeyType type) {
    try {
      JsonWebSignature jws = parsed != null ? parsed : new JsonWebSignature();
      jws.setAlgorithmConstraints(JWS_CONSTRAINTS);
      jws.setProviderContext(contextFor(type));
      if (parsed == null) {
        jws.setCompactSerialization(compactJws);
      }
      jws.setKey(key);
      return jws.verifySignature();
    } catch (JoseException | RuntimeException e) {
      return false;
    }
  }

  private OpenResult checkClaims(String body, DnsName sender, DnsName self) {
    Map<String, Object> claims;
    try {
      claims = JsonUtil.parseJson(body);
    } catch (JoseException | RuntimeException e) {
      return reject(Rejection.Reason.CLAIMS_INVALID, "the signed payload is not a JSON object of claims", sender);
    }
    for (String name : List.of("iss", "aud", "jti", "msg")) {
      if (!(claims.get(name) instanceof String)) {
        return reject(Rejection.Reason.CLAIMS_INVALID, "claim '" + name + "' is missing or not a string", sender);
      }
    }
    for (String name : List.of("iat", "exp")) {
      if (!(claims.get(name) instanceof Long)) {
        return reject(Rejection.Reason.CLAIMS_INVALID,
            "claim '" + name + "' is missing or not a whole number of seconds", sender);
      }
    }
    String iss = (String) claims.get("iss");
    if (DnsName.problemWith(iss) != null || !DnsName.parse(iss).equals(sender)) {
      return reject(Rejection.Reason.ISSUER_MISMATCH,
          "iss '" + DnsName.printable(iss) + "' differs from the signer's x5u name " + sender, sender);
    }
    String aud = (String) claims.get("aud");
    if (DnsName.problemWith(aud) != null || !DnsName.parse(aud).equals(self)) {
      return reject(Rejection.Reason.AUDIENCE_MISMATCH,
          "aud '" + DnsName.printable(aud) + "' is not this node (" + self + ")", sender);
    }
    String jti = (String) claims.get("jti");
    if (jti.isEmpty() || jti.length() > MAX_JTI) {
      return reject(Rejection.Reason.CLAIMS_INVALID, "jti must have 1 to " + MAX_JTI + " characters", sender);
    }
    long iat = (Long) claims.get("iat");
    long exp = (Long) claims.get("exp");
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
    return new Opened(new OpenedMessage(sender, self, (String) claims.get("msg"),
        Instant.ofEpochSecond(iat), jti, Instant.ofEpochSecond(exp), Profile.NATIVE));
  }

  // ---------------------------------------------------------------------------------------------

  /** Turns a JSON flattened JWE or JWS into its compact form, or a {@link Rejected}. */
  private static Object flattenedToCompact(String json, Set<String> members, String what) {
    Map<String, Object> map;
    try {
      map = JsonUtil.parseJson(json);
    } catch (JoseException | RuntimeException e) {
      return reject(Rejection.Reason.NOT_A_JWE, "the payload is not valid JSON", null);
    }
    if (map.containsKey("recipients") || map.containsKey("signatures")) {
      return reject(Rejection.Reason.UNSUPPORTED_SERIALIZATION,
          what + " JSON general serialization is not accepted (only flattened, as the legacy sender writes)",
          null);
    }
    for (String key : map.keySet()) {
      if (!members.contains(key)) {
        // Unprotected headers or AAD would be silently ignored by a compact reader: refuse them.
        return reject(Rejection.Reason.UNSUPPORTED_SERIALIZATION,
            what + " JSON member '" + DnsName.printable(key) + "' is not accepted", null);
      }
    }
    List<String> order = what.equals("JWE")
        ? List.of("protected", "encrypted_key", "iv", "ciphertext", "tag")
        : List.of("protected", "payload", "signature");
    StringBuilder compact = new StringBuilder();
    for (String key : order) {
      if (!(map.get(key) instanceof String value) || !isCanonicalBase64url(value)) {
        return reject(Rejection.Reason.NOT_A_JWE,
            "the " + what + " JSON lacks a base64url '" + key + "' member", null);
      }
      if (compact.length() > 0) {
        compact.append('.');
      }
      compact.append(value);
    }
    return compact.toString();
  }

  private static int compactParts(String text) {
    String[] parts = text.split("\\.", -1);
    for (String part : parts) {
      if (!isCanonicalBase64url(part)) {
        return -1;
      }
    }
    return parts.length;
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
    return type == KeyType.EC_P256 ? ecContext : jdkContext;
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
