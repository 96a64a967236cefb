package org.danemsg.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.MGF1ParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Cipher;
import javax.crypto.KeyAgreement;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs and encrypts with the protected header given as raw JSON text, byte for byte: duplicate
 * members, {@code 1e309}, lone surrogates, whatever the test wants. A JOSE library would parse and
 * re-serialize the header, or refuse it, before its crypto runs; this does the crypto (ES256, RS256,
 * ECDH-ES and RSA-OAEP-256 key management, A256GCM and A256CBC-HS512) by hand, so that a hostile
 * header reaches the reader under a valid signature and encryption.
 *
 * <p>For speed the ECDH-ES ephemeral key and the content keys are made once per recipient key and
 * reused: fine for tests, never for real messages.
 */
final class RawJose {

  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final KeyPair EPHEMERAL = ephemeralKeyPair();
  private static final Map<String, byte[]> ECDH_KEYS = new ConcurrentHashMap<>();
  private static final Map<String, Wrapped> RSA_KEYS = new ConcurrentHashMap<>();

  private record Wrapped(byte[] cek, byte[] encryptedKey) {}

  private RawJose() {}

  static String b64(byte[] bytes) {
    return B64.encodeToString(bytes);
  }

  static String b64(String text) {
    return b64(text.getBytes(StandardCharsets.UTF_8));
  }

  /** The JSON of the reused ECDH-ES ephemeral public key, for an {@code epk} member. */
  static String epkJson() {
    ECPublicKey key = (ECPublicKey) EPHEMERAL.getPublic();
    return "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" + b64(coordinate(key.getW().getAffineX()))
        + "\",\"y\":\"" + b64(coordinate(key.getW().getAffineY())) + "\"}";
  }

  /** A compact JWS over {@code payload} with exactly this header; ES256 for EC keys, RS256 for RSA. */
  static String sign(String headerJson, byte[] payload, PrivateKey key) throws GeneralSecurityException {
    String input = b64(headerJson) + "." + b64(payload);
    boolean ec = key instanceof ECPrivateKey;
    String algorithm = ec ? "SHA256withECDSA" : "SHA256withRSA";
    // Conscrypt where it loads: signing is most of a fuzz case's cost.
    java.util.Optional<java.security.Provider> fast = CryptoProviders.conscrypt();
    Signature signer = fast.isPresent() ? Signature.getInstance(algorithm, fast.get()) : Signature.getInstance(algorithm);
    signer.initSign(key);
    signer.update(input.getBytes(StandardCharsets.US_ASCII));
    byte[] signature = signer.sign();
    return input + "." + b64(ec ? derToConcatenated(signature) : signature);
  }

  /**
   * A compact JWE of {@code plaintext} with exactly this header. {@code alg} and {@code enc} say which
   * crypto to use, whatever the header says; for ECDH-ES the header should hold {@link #epkJson()}.
   */
  static String encrypt(String headerJson, String alg, String enc, byte[] plaintext, PublicKey recipient)
      throws GeneralSecurityException {
    return encrypt(headerJson, alg, enc, plaintext, recipient, enc.equals("A256GCM") ? 12 : 16);
  }

  /** As {@link #encrypt(String, String, String, byte[], PublicKey)}, with an IV of {@code ivLength} bytes. */
  static String encrypt(String headerJson, String alg, String enc, byte[] plaintext, PublicKey recipient,
      int ivLength) throws GeneralSecurityException {
    String header = b64(headerJson);
    byte[] cek;
    byte[] encryptedKey;
    if (alg.equals("ECDH-ES")) {
      cek = ECDH_KEYS.computeIfAbsent(enc + "/" + b64(recipient.getEncoded()), k -> agree(recipient, enc));
      encryptedKey = new byte[0];
    } else {
      Wrapped wrapped = RSA_KEYS.computeIfAbsent(enc + "/" + b64(recipient.getEncoded()), k -> wrap(recipient, enc));
      cek = wrapped.cek();
      encryptedKey = wrapped.encryptedKey();
    }
    byte[] aad = header.getBytes(StandardCharsets.US_ASCII);
    byte[] iv;
    byte[] ciphertext;
    byte[] tag;
    if (enc.equals("A256GCM")) {
      iv = new byte[ivLength];
      RANDOM.nextBytes(iv);
      Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
      gcm.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(cek, "AES"), new GCMParameterSpec(128, iv));
      gcm.updateAAD(aad);
      byte[] sealed = gcm.doFinal(plaintext);
      ciphertext = Arrays.copyOf(sealed, sealed.length - 16);
      tag = Arrays.copyOfRange(sealed, sealed.length - 16, sealed.length);
    } else if (enc.equals("A256CBC-HS512")) {
      iv = new byte[ivLength];
      RANDOM.nextBytes(iv);
      Cipher cbc = Cipher.getInstance("AES/CBC/PKCS5Padding");
      cbc.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(cek, 32, 32, "AES"), new IvParameterSpec(iv));
      ciphertext = cbc.doFinal(plaintext);
      Mac hmac = Mac.getInstance("HmacSHA512");
      hmac.init(new SecretKeySpec(cek, 0, 32, "HmacSHA512"));
      hmac.update(aad);
      hmac.update(iv);
      hmac.update(ciphertext);
      hmac.update(ByteBuffer.allocate(8).putLong(aad.length * 8L).array());
      tag = Arrays.copyOf(hmac.doFinal(), 32);
    } else {
      throw new IllegalArgumentException("enc " + enc);
    }
    return String.join(".", header, b64(encryptedKey), b64(iv), b64(ciphertext), b64(tag));
  }

  /** A compact JWS as the legacy sender's JSON flattened serialization (sorted members, no spaces). */
  static String flattenedJws(String compactJws) {
    String[] p = compactJws.split("\\.", -1);
    Map<String, String> m = new TreeMap<>(Map.of("protected", p[0], "payload", p[1], "signature", p[2]));
    return json(m);
  }

  /** A compact JWE as the legacy sender's JSON flattened serialization. */
  static String flattenedJwe(String compactJwe) {
    String[] p = compactJwe.split("\\.", -1);
    Map<String, String> m = new TreeMap<>(Map.of("protected", p[0], "encrypted_key", p[1], "iv", p[2],
        "ciphertext", p[3], "tag", p[4]));
    return json(m);
  }

  /** The legacy JWE protected header, exactly as the Python original writes it. */
  static String legacyJweHeader(DnsName recipient) {
    return "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256CBC-HS512\",\"typ\":\"JWE\",\"x5u\":\""
        + DnsUri.of(recipient) + "\"}";
  }

  /** Wraps {@code content} (the inner JWS, in any form) in the legacy JWE format, to {@code recipient}. */
  static byte[] legacyPayload(String content, DnsName recipient, PublicKey recipientKey)
      throws GeneralSecurityException {
    return flattenedJwe(encrypt(legacyJweHeader(recipient), "RSA-OAEP-256", "A256CBC-HS512",
        content.getBytes(StandardCharsets.UTF_8), recipientKey)).getBytes(StandardCharsets.US_ASCII);
  }

  private static String json(Map<String, String> members) {
    StringBuilder sb = new StringBuilder("{");
    members.forEach((k, v) -> sb.append(sb.length() > 1 ? "," : "").append('"').append(k).append("\":\"")
        .append(v).append('"'));
    return sb.append('}').toString();
  }

  private static byte[] agree(PublicKey recipient, String enc) {
    try {
      KeyAgreement ecdh = KeyAgreement.getInstance("ECDH");
      ecdh.init(EPHEMERAL.getPrivate());
      ecdh.doPhase(recipient, true);
      byte[] z = ecdh.generateSecret();
      // Concat KDF (RFC 7518 §4.6.2): one round of SHA-256 gives the 256-bit key.
      byte[] algId = enc.getBytes(StandardCharsets.US_ASCII);
      MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
      sha256.update(new byte[] {0, 0, 0, 1});
      sha256.update(z);
      sha256.update(ByteBuffer.allocate(4).putInt(algId.length).array());
      sha256.update(algId);
      sha256.update(new byte[8]); // empty apu and apv
      sha256.update(ByteBuffer.allocate(4).putInt(256).array());
      return sha256.digest();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Wrapped wrap(PublicKey recipient, String enc) {
    try {
      byte[] cek = new byte[enc.equals("A256GCM") ? 32 : 64];
      RANDOM.nextBytes(cek);
      Cipher oaep = Cipher.getInstance("RSA/ECB/OAEPPadding");
      oaep.init(Cipher.ENCRYPT_MODE, recipient, new OAEPParameterSpec("SHA-256", "MGF1",
          MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT));
      return new Wrapped(cek, oaep.doFinal(cek));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static KeyPair ephemeralKeyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] coordinate(java.math.BigInteger value) {
    byte[] raw = value.toByteArray();
    byte[] fixed = new byte[32];
    int copy = Math.min(raw.length, 32);
    System.arraycopy(raw, raw.length - copy, fixed, 32 - copy, copy);
    return fixed;
  }

  /** An ECDSA signature from DER (SEQUENCE of two INTEGERs) to JWS's r || s, 32 bytes each. */
  private static byte[] derToConcatenated(byte[] der) {
    int offset = der[1] == (byte) 0x81 ? 3 : 2;
    int rLength = der[offset + 1];
    byte[] r = Arrays.copyOfRange(der, offset + 2, offset + 2 + rLength);
    int sOffset = offset + 2 + rLength;
    int sLength = der[sOffset + 1];
    byte[] s = Arrays.copyOfRange(der, sOffset + 2, sOffset + 2 + sLength);
    byte[] out = new byte[64];
    System.arraycopy(r, Math.max(0, r.length - 32), out, 32 - Math.min(32, r.length), Math.min(32, r.length));
    System.arraycopy(s, Math.max(0, s.length - 32), out, 64 - Math.min(32, s.length), Math.min(32, s.length));
    return out;
  }
}
