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
import org.danemsg.protocol.Envelope.OpenResult;
import org.danemsg.protocol.Envelope.Opened;
import org.danemsg.protocol.Envelope.Rejected;
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
 * The opening half of {@link Envelope} as it was before its crypto was done directly on the JCA
 * (commit 80de153): every check as it was, and jose4j reading and decrypting the JWE and verifying the
 * JWS. The reference of {@link EnvelopeDifferentialTest}, never used by the product: whatever a payload
 * and keys give here, {@link Envelope} must give too. Frozen on purpose: change it only to follow a
 * deliberate change of the rules, in the same commit as that change.
 */
final class ReferenceEnvelope {

  /** What {@link #decrypt} gives for a payload it could read: what {@link SignedMessage} held then. */
  record Signed(Profile profile, DnsName claimedSender, DnsName recipient, String compactJws) {}

  private static final int MAX_KEYS_TRIED = Envelope.MAX_KEYS_TRIED;
  private static final int MIN_RSA_BITS = Envelope.MIN_RSA_BITS;
  private static final int MAX_RSA_BITS = Envelope.MAX_RSA_BITS;
  private static final String LEGACY_ID_PREFIX = Envelope.LEGACY_ID_PREFIX;

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
  private static final AlgorithmConstraints JWE_ALG_CONSTRAINTS =
      new AlgorithmConstraints(ConstraintType.PERMIT, NATIVE_JWE_ALGS.toArray(String[]::new));
  private static final AlgorithmConstraints JWE_ENC_CONSTRAINTS = new AlgorithmConstraints(ConstraintType.PERMIT,
      ContentEncryptionAlgorithmIdentifiers.AES_256_GCM, ContentEncryptionAlgorithmIdentifiers.AES_256_CBC_HMAC_SHA_512);
  private static final AlgorithmConstraints JWS_CONSTRAINTS =
      new AlgorithmConstraints(ConstraintType.PERMIT, NATIVE_JWS_ALGS.toArray(String[]::new));
  private static final List<String> FLATTENED_JWE_ORDER = List.of("protected", "encrypted_key", "iv", "ciphertext", "tag");
  private static final List<String> FLATTENED_JWS_ORDER = List.of("protected", "payload", "signature");
  private static final int MIN_JTI = 8;
  private static final int MAX_JTI = 64;
  /** 9999-12-31T23:59:59Z: a time claim beyond it is not a time (and would overflow the arithmetic). */
  private static final long MAX_EPOCH_SECOND = 253_402_300_799L;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Envelope.Settings settings;
  private final ProviderContext ecContext;
  private final ProviderContext jdkContext = new ProviderContext();
  private final ProviderContext rsaContext;

  /** As {@link Envelope#Envelope(Envelope.Settings, boolean)}. */
  ReferenceEnvelope(Envelope.Settings settings, boolean conscryptForRsa) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.ecContext = settings.bouncyCastleForEc() ? bouncyCastleContext() : jdkContext;
    this.rsaContext = conscryptForRsa && CryptoProviders.conscrypt().isPresent()
        ? conscryptRsaContext() : jdkContext;
  }

  /**
   * Checks the payload's size and form, and decrypts it with one of this node's keys. Every member of
   * the JWE header and of the signed content's JWS header is checked here, before any key lookup; a
   * legacy message is refused here unless its claimed sender is one of the configured
   * {@link Envelope.Settings#legacyPeers() legacy peers}.
   *
   * @param payload the MQTT payload
   * @param self this node's name
   * @param ownKeys this node's identities (several during a key rollover); all must be named {@code self};
   *     at most the first {@value #MAX_KEYS_TRIED} are tried, and RSA keys outside
   *     {@value #MIN_RSA_BITS}..{@value #MAX_RSA_BITS} bits never are
   */
  Object decrypt(byte[] payload, DnsName self, List<DeviceIdentity> ownKeys) {
    if (payload == null || payload.length == 0) {
      return reject(Rejection.Reason.EMPTY, "the payload is empty", null);
    }
    if (payload.length > settings.maxPayloadBytes()) {
      return reject(Rejection.Reason.TOO_LARGE, "the payload has " + payload.length
          + " bytes, the limit is " + settings.maxPayloadBytes(), null);
    }
    try {
      return decryptText(payload, self, ownKeys);
    } catch (Refused e) {
      return new Rejected(e.rejection());
    } catch (RuntimeException | StackOverflowError e) {
      // Last resort: every member is checked before a library sees it, so this is a library's fault on
      // input nobody foresaw. It stays one more malformed payload; the exception's text names Java
      // internals, so it is not shown.
      return reject(Rejection.Reason.NOT_A_JWE, "malformed payload: it could not be read", null);
    }
  }

  private Signed decryptText(byte[] payload, DnsName self, List<DeviceIdentity> ownKeys)
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
    String compact = String.join(".", parts);
    JsonMembers header = protectedHeader(parts[0], "JWE", Rejection.Reason.NOT_A_JWE, null);
    String alg = checkJweHeader(header, profile, self);

    KeyType wanted = alg.equals(KeyManagementAlgorithmIdentifiers.ECDH_ES) ? KeyType.EC_P256 : KeyType.RSA;
    // Added with the same check in Envelope (2026-11-28): the part lengths the algorithms fix.
    String lengths = Envelope.partLengthProblem(parts, profile, wanted);
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
      String problem = keyProblem(own.publicKey());
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

    byte[] plaintext = null;
    for (DeviceIdentity own : candidates) {
      plaintext = tryDecrypt(compact, own);
      if (plaintext != null) {
        break;
      }
    }
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

  private byte[] tryDecrypt(String compact, DeviceIdentity own) {
    try {
      JsonWebEncryption jwe = new JsonWebEncryption();
      jwe.setAlgorithmConstraints(JWE_ALG_CONSTRAINTS);
      jwe.setContentEncryptionAlgorithmConstraints(JWE_ENC_CONSTRAINTS);
      jwe.setProviderContext(contextFor(own.keyType()));
      jwe.setCompactSerialization(compact);
      jwe.setKey(privateKeyOf(own));
      return jwe.getPlaintextBytes();
    } catch (JoseException | RuntimeException e) {
      return null;
    }
  }

  private Signed readSignedContent(byte[] plaintext, Profile profile, DnsName self) throws Refused {
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
    return new Signed(profile, sender, self, parts[0] + "." + parts[1] + "." + parts[2]);
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
   * @param senderKeys the validated keys published for {@link Signed#claimedSender()}
   */
  OpenResult verify(Signed signed, List<PublicKey> senderKeys) {
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

  private OpenResult verifyChecked(Signed signed, List<PublicKey> senderKeys) throws Refused {
    DnsName sender = signed.claimedSender();
    if (senderKeys == null || senderKeys.isEmpty()) {
      return reject(Rejection.Reason.SENDER_KEYS_UNAVAILABLE, "no published key for " + sender, sender);
    }
    String[] parts = signed.compactJws().split("\\.", -1);
    JsonWebSignature jws = new JsonWebSignature();
    try {
      jws.setCompactSerialization(signed.compactJws());
    } catch (JoseException e) {
      throw new Refused(Rejection.Reason.CONTENT_NOT_A_JWS, "the JWS is unreadable", sender);
    }
    boolean ec = AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256.equals(jws.getAlgorithmHeaderValue());
    int tried = 0;
    String unusable = null;
    boolean verified = false;
    for (PublicKey key : firstKeys(senderKeys)) {
      if (ec ? !(key instanceof ECPublicKey) : !(key instanceof RSAPublicKey)) {
        continue;
      }
      String problem = keyProblem(key);
      if (problem != null) {
        unusable = problem;
        continue;
      }
      // The JWS parsed above serves the first key tried; others get a fresh parse.
      JsonWebSignature reuse = tried == 0 ? jws : null;
      tried++;
      if (verifiesWith(reuse, signed.compactJws(), key, ec ? KeyType.EC_P256 : KeyType.RSA)) {
        verified = true;
        break;
      }
    }
    if (!verified) {
      String detail = tried > 0
          ? "the signature does not verify under any of the " + tried + " usable key(s) published for " + sender
          : unusable != null ? "no usable key published for " + sender + ": the " + unusable
          : "the message is signed with " + jws.getAlgorithmHeaderValue() + " but " + sender
              + " publishes no key of that type";
      return reject(Rejection.Reason.SIGNATURE_INVALID, detail + beyondTheLimit(senderKeys.size(), "published"),
          sender);
    }
    byte[] body = Base64.getUrlDecoder().decode(parts[1]);
    if (signed.profile() == Profile.LEGACY) {
      String text = utf8(body);
      if (text == null) {
        throw new Refused(Rejection.Reason.CLAIMS_INVALID, "the signed legacy text is not UTF-8", sender);
      }
      return new Opened(new OpenedMessage(sender, signed.recipient(), text, null,
          legacyId(parts[0], parts[1]), null, Profile.LEGACY));
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

  private boolean verifiesWith(JsonWebSignature parsed, String compactJws, PublicKey key, KeyType type) {
    try {
      JsonWebSignature jws = parsed != null ? parsed : new JsonWebSignature();
      jws.setAlgorithmConstraints(JWS_CONSTRAINTS);
      jws.setProviderContext(contextFor(type));
      if (parsed == null) {
        jws.setCompactSerialization(compactJws);
      }
      jws.setKey(type == KeyType.RSA && rsaContext != jdkContext ? CryptoProviders.conscryptRsaKey(key) : key);
      return jws.verifySignature();
    } catch (JoseException | RuntimeException e) {
      return false;
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
    claims.onlyThese(Set.copyOf(NATIVE_CLAIM_ORDER), Rejection.Reason.CLAIMS_INVALID,
        "a native message carries exactly the claims iss, aud, iat, exp, jti and msg");
    String iss = claims.string("iss", Rejection.Reason.CLAIMS_INVALID);
    String aud = claims.string("aud", Rejection.Reason.CLAIMS_INVALID);
    long iat = claims.integer("iat", 0, MAX_EPOCH_SECOND, "seconds since 1970", Rejection.Reason.CLAIMS_INVALID);
    long exp = claims.integer("exp", 0, MAX_EPOCH_SECOND, "seconds since 1970", Rejection.Reason.CLAIMS_INVALID);
    String jti = claims.string("jti", Rejection.Reason.CLAIMS_INVALID);
    String msg = claims.string("msg", Rejection.Reason.CLAIMS_INVALID);

    if (DnsName.problemWith(iss) != null || !DnsName.parse(iss).equals(sender)) {
      return reject(Rejection.Reason.ISSUER_MISMATCH,
          "iss '" + iss + "' differs from the signer's x5u name " + sender, sender);
    }
    if (DnsName.problemWith(aud) != null || !DnsName.parse(aud).equals(self)) {
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
  private static String keyProblem(PublicKey key) {
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
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      return null;
    }
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

  /** The identity's private key as the provider of its key type's context takes it fastest. */
  private java.security.PrivateKey privateKeyOf(DeviceIdentity identity) {
    return identity.keyType() == KeyType.RSA && rsaContext != jdkContext
        ? CryptoProviders.conscryptRsaKey(identity.privateKey())
        : identity.privateKey();
  }

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
