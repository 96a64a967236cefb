package org.danemsg.protocol;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.interfaces.ECKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAKey;
import java.security.spec.ECFieldFp;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.EllipticCurve;
import java.security.spec.MGF1ParameterSpec;
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
 * The crypto of the JWE and JWS forms a node accepts, done directly on the JCA: ECDH-ES on P-256 with
 * the Concat KDF, RSA-OAEP-256, A256GCM, A256CBC-HS512 (the legacy format), and ES256 and RS256
 * verification. It computes what jose4j
 * computes for these algorithms, with the same JCA calls on the same providers and the same treatment
 * of odd input (a signature of the wrong length, an ephemeral key off the curve, an unwrapped key of
 * the wrong size), which {@code EnvelopeDifferentialTest} holds it to; but without jose4j's work per
 * message around the crypto: a second reading of the headers with its own base64 and JSON codecs, a
 * JWK object for the ephemeral key, a provider look-up and a new engine per operation, and keys
 * rebuilt by Conscrypt at every use. Every member, algorithm and size is checked by {@link Envelope}
 * before anything here runs.
 *
 * <p>Keys are made ready once per key object ({@link #ownKey}, {@link #senderKey}): rebuilt as the
 * provider's own keys where that provider is Conscrypt (it rebuilds any other key natively at every
 * {@code init}), with the checks that depend only on the key done then. Thread-safe.
 *
 * <p>A runtime whose JCA cannot even start (seen under emulation: an unreadable security policy
 * folder makes every {@code getInstance} throw an Error) gives a failed decryption or verification, as
 * jose4j gave, never an Error out of {@link Envelope}: the node's crypto self-test then names the cause.
 */
final class JoseCrypto {

  /** P-256 (secp256r1), as jose4j and RFC 7518 name it "P-256". */
  static final BigInteger P256_P = new BigInteger(
      "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff", 16);
  private static final BigInteger P256_A = P256_P.subtract(BigInteger.valueOf(3));
  private static final BigInteger P256_B = new BigInteger(
      "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b", 16);
  static final BigInteger P256_N = new BigInteger(
      "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16);
  private static final EllipticCurve P256_CURVE = new EllipticCurve(new ECFieldFp(P256_P), P256_A, P256_B);
  private static final ECParameterSpec P256 = new ECParameterSpec(P256_CURVE, new ECPoint(
      new BigInteger("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296", 16),
      new BigInteger("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5", 16)), P256_N, 1);
  /** The DER of a P-256 SubjectPublicKeyInfo up to the uncompressed point's 0x04 (id-ecPublicKey, prime256v1). */
  private static final byte[] P256_SPKI_PREFIX = hex("3059301306072a8648ce3d020106082a8648ce3d03010703420004");

  /** Concat KDF (RFC 7518 §4.6.2) for A256GCM: round 1, and after Z the AlgorithmID "A256GCM", empty PartyUInfo and PartyVInfo, 256 bits. */
  private static final byte[] KDF_ROUND = {0, 0, 0, 1};
  private static final byte[] KDF_OTHER_INFO = hex("00000007" + "4132353647434d" + "00000000" + "00000000"
      + "00000100");
  private static final int GCM_KEY_BYTES = 32;
  /** A256CBC-HS512's key: 32 bytes of HMAC key, then 32 of AES key. */
  private static final int CBC_HMAC_KEY_BYTES = 64;
  private static final int GCM_TAG_BITS = 128;
  private static final int ES256_SIGNATURE_BYTES = 64;
  private static final OAEPParameterSpec OAEP_SHA256 = new OAEPParameterSpec("SHA-256", "MGF1",
      MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT);

  /**
   * This node's private key, ready for the provider; {@code problem} says why the identity's key is not
   * used at all ({@link Envelope#keyProblem}), {@code valid} whether jose4j's check of a decryption key
   * passes.
   */
  record OwnKey(PrivateKey key, String problem, boolean valid) {}

  /**
   * A sender's published key, ready for the provider: {@code problem} says why it is not used at all
   * ({@link Envelope#keyProblem}), {@code valid} whether jose4j's check of a verification key passes
   * (ES256 wants a key on exactly the P-256 curve).
   */
  record SenderKey(PublicKey key, String problem, boolean valid) {}

  // The providers as Envelope's jose4j provider contexts named them; null for the JCA's order at each use.
  private final Provider ecdh;
  private final Provider es256;
  /**
   * The provider of the RSA private operation, whose own keys {@link #ownKey} makes; null: the JCA's order.
   * Chosen at the first RSA key made ready (so that an EC node or a sender never loads it).
   */
  private volatile Provider rsaPrivate;
  private volatile boolean rsaPrivateChosen;
  private final boolean nativeRsaPrivate;
  private final Provider rs256;
  // AES and HMAC where no provider is named: the one the JCA's order gives when this is made (any provider
  // takes an AES or HMAC key, so the order would give that one at each use too), so that engines are kept.
  private final Provider ecGcm;
  private final Provider rsaGcm;
  private final Provider rsaCbc;
  // Where the provider does not change a result (a key factory, SHA-256), resolved once alike.
  private final Provider ecKeys;
  private final Provider sha256;
  private final Provider hmacSha512;
  private final boolean conscryptEc;
  private final boolean conscryptRsa;
  private final ConcurrentHashMap<Identity, Object> keys = new ConcurrentHashMap<>();

  /**
   * @param fastEc Envelope's {@code bouncyCastleForEc}: Conscrypt where it loads, else Bouncy Castle, for
   *     ECDH, ES256 and (Conscrypt) AES-GCM; false: the JCA's order
   * @param conscryptForRsa Conscrypt, where it loads, for RS256 and the AES-GCM of RSA messages, and the
   *     fastest native provider that loads ({@link CryptoProviders#fastRsaPrivate()}) for RSA-OAEP-256
   */
  JoseCrypto(boolean fastEc, boolean conscryptForRsa) {
    Provider conscrypt = CryptoProviders.conscrypt().orElse(null);
    Provider gcmOfTheOrder = providerOf(() -> Cipher.getInstance("AES/GCM/NoPadding").getProvider());
    if (fastEc && conscrypt != null) {
      ecdh = es256 = ecGcm = ecKeys = conscrypt;
      conscryptEc = true;
    } else {
      ecdh = es256 = fastEc ? CryptoProviders.bouncyCastle() : null;
      ecGcm = gcmOfTheOrder;
      ecKeys = providerOf(() -> KeyFactory.getInstance("EC").getProvider());
      conscryptEc = false;
    }
    nativeRsaPrivate = conscryptForRsa;
    if (conscryptForRsa && conscrypt != null) {
      rs256 = rsaGcm = rsaCbc = conscrypt;
      conscryptRsa = true;
    } else {
      rs256 = null;
      rsaGcm = gcmOfTheOrder;
      rsaCbc = providerOf(() -> Cipher.getInstance("AES/CBC/PKCS5Padding").getProvider());
      conscryptRsa = false;
    }
    sha256 = providerOf(() -> MessageDigest.getInstance("SHA-256").getProvider());
    hmacSha512 = providerOf(() -> Mac.getInstance("HmacSHA512").getProvider());
  }

  // ---------------------------------------------------------------------------------------------
  // Keys

  /**
   * {@code own}'s private key made ready for decryption, with its checks done; once per identity. A key
   * with a problem is left as it is: nothing else of it is read.
   */
  OwnKey ownKey(DeviceIdentity own) {
    Identity id = new Identity(own);
    Object known = keys.get(id);
    if (known instanceof OwnKey ready) {
      return ready;
    }
    PrivateKey key = own.privateKey();
    String problem = Envelope.keyProblem(own.publicKey());
    OwnKey ready;
    if (problem != null) {
      ready = new OwnKey(key, problem, false);
    } else if (own.keyType() == KeyType.EC_P256) {
      ready = new OwnKey(conscryptEc ? CryptoProviders.conscryptKey(key) : key, null, key instanceof ECPrivateKey);
    } else {
      Provider provider = rsaPrivate();
      PrivateKey forProvider = provider != null ? CryptoProviders.providerKey(key, provider) : key;
      ready = new OwnKey(forProvider, null, !(forProvider instanceof RSAKey rsa)
          || rsa.getModulus().bitLength() >= KeyType.MIN_RSA_BITS);
    }
    remember(id, ready);
    return ready;
  }

  /**
   * A published key made ready for verification, with its checks done; once per key object. A key with
   * a problem is left as it is: nothing else of it is read (a huge RSA key is not even encoded).
   */
  SenderKey senderKey(PublicKey key) {
    Identity id = new Identity(key);
    Object known = keys.get(id);
    if (known instanceof SenderKey ready) {
      return ready;
    }
    String problem = Envelope.keyProblem(key);
    SenderKey ready;
    if (problem != null) {
      ready = new SenderKey(key, problem, false);
    } else if (key instanceof ECKey ec) {
      ready = new SenderKey(conscryptEc ? CryptoProviders.conscryptKey(key) : key, null,
          P256_CURVE.equals(ec.getParams().getCurve()));
    } else {
      ready = new SenderKey(conscryptRsa ? CryptoProviders.conscryptKey(key) : key, null, true);
    }
    remember(id, ready);
    return ready;
  }

  private void remember(Identity id, Object ready) {
    if (keys.size() >= 1024) {
      keys.clear(); // a node hears from few peers; bound the memory, not worth an LRU
    }
    keys.put(id, ready);
  }

  /**
   * A key or identity compared by identity: a key's own equals and hashCode encode or hash it at every
   * call. (The two kinds of entry cannot meet: a DeviceIdentity is no key.)
   */
  private record Identity(Object object) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Identity other && other.object == object;
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(object);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // JWE

  /**
   * The ECDH-ES ephemeral public key with these coordinates (32 bytes each), or {@code null} where jose4j
   * would refuse it: not on the curve (checked as jose4j checks it, modulo p; a coordinate beyond the
   * field is then refused by the provider when the key is built or used).
   */
  PublicKey ephemeralKey(byte[] x, byte[] y) {
    BigInteger bx = new BigInteger(1, x);
    BigInteger by = new BigInteger(1, y);
    if (!by.multiply(by).mod(P256_P).equals(bx.multiply(bx).add(P256_A).multiply(bx).add(P256_B).mod(P256_P))) {
      return null;
    }
    if (conscryptEc) {
      byte[] spki = new byte[P256_SPKI_PREFIX.length + 64];
      System.arraycopy(P256_SPKI_PREFIX, 0, spki, 0, P256_SPKI_PREFIX.length);
      System.arraycopy(x, 0, spki, P256_SPKI_PREFIX.length, 32);
      System.arraycopy(y, 0, spki, P256_SPKI_PREFIX.length + 32, 32);
      return new EncodedEcPublicKey(spki);
    }
    try {
      KeyFactory factory = JcaEngines.keyFactory("EC", ecKeys);
      return factory.generatePublic(new ECPublicKeySpec(new ECPoint(bx, by), P256));
    } catch (GeneralSecurityException | RuntimeException | LinkageError e) {
      return null;
    }
  }

  /**
   * An EC public key that is only its X.509 SubjectPublicKeyInfo: all Conscrypt reads of a key it did not
   * make (it parses the encoding natively, which checks the point), and all it read of the key jose4j
   * built from the JWK. A key of Conscrypt's own would also compute the curve's parameters in Java,
   * which no ECDH needs.
   */
  private record EncodedEcPublicKey(byte[] spki) implements PublicKey {
    @Override
    public String getAlgorithm() {
      return "EC";
    }

    @Override
    public String getFormat() {
      return "X.509";
    }

    @Override
    public byte[] getEncoded() {
      return spki.clone();
    }
  }

  /**
   * Decrypts ECDH-ES + A256GCM content with {@code own}: ECDH with the ephemeral key, one round of the
   * Concat KDF, AES-GCM with the encoded protected header as AAD. {@code null} when it does not decrypt.
   */
  byte[] openEcdhEs(OwnKey own, PublicKey ephemeral, byte[] iv, byte[] ciphertext, byte[] tag, byte[] aad) {
    if (!own.valid() || ephemeral == null || ciphertext.length == 0 || tag.length == 0) {
      return null;
    }
    try {
      KeyAgreement agreement = JcaEngines.keyAgreement("ECDH", ecdh);
      agreement.init(own.key());
      agreement.doPhase(ephemeral, true);
      byte[] z = agreement.generateSecret();
      MessageDigest kdf = JcaEngines.messageDigest("SHA-256", sha256);
      kdf.update(KDF_ROUND);
      kdf.update(z);
      kdf.update(KDF_OTHER_INFO);
      return aesGcm(ecGcm, kdf.digest(), iv, ciphertext, tag, aad);
    } catch (GeneralSecurityException | RuntimeException | LinkageError e) {
      return null;
    }
  }

  /**
   * Decrypts RSA-OAEP-256 + A256GCM content with {@code own}. As jose4j does, a content key that does not
   * unwrap, or is not 32 bytes, is replaced by a random one, so that every failure takes the same path
   * (to the AES-GCM tag check). {@code null} when it does not decrypt.
   */
  byte[] openRsaOaep(OwnKey own, byte[] encryptedKey, byte[] iv, byte[] ciphertext, byte[] tag, byte[] aad) {
    if (!own.valid() || ciphertext.length == 0 || tag.length == 0) {
      return null;
    }
    try {
      return aesGcm(rsaGcm, unwrap(own, encryptedKey, GCM_KEY_BYTES), iv, ciphertext, tag, aad);
    } catch (GeneralSecurityException | RuntimeException | LinkageError e) {
      return null;
    }
  }

  /**
   * Decrypts RSA-OAEP-256 + A256CBC-HS512 content (the legacy format) with {@code own}: the HMAC-SHA-512
   * tag (RFC 7518 §5.2.2.2: over AAD, IV, ciphertext and the AAD's length in bits, cut to 32 bytes)
   * compared in constant time, and only then AES-CBC. A content key that does not unwrap, or is not 64
   * bytes, is replaced by a random one, as jose4j does. {@code null} when it does not decrypt.
   */
  byte[] openRsaOaepCbcHmac(OwnKey own, byte[] encryptedKey, byte[] iv, byte[] ciphertext, byte[] tag,
      byte[] aad) {
    if (!own.valid() || ciphertext.length == 0 || tag.length == 0) {
      return null;
    }
    try {
      byte[] cek = unwrap(own, encryptedKey, CBC_HMAC_KEY_BYTES);
      Mac hmac = JcaEngines.mac("HmacSHA512", hmacSha512);
      hmac.init(new SecretKeySpec(cek, 0, CBC_HMAC_KEY_BYTES / 2, "HmacSHA512"));
      hmac.update(aad);
      hmac.update(iv);
      hmac.update(ciphertext);
      hmac.update(java.nio.ByteBuffer.allocate(8).putLong(aad.length * 8L).array());
      byte[] expected = java.util.Arrays.copyOf(hmac.doFinal(), CBC_HMAC_KEY_BYTES / 2);
      if (!MessageDigest.isEqual(expected, tag)) {
        return null;
      }
      Cipher cbc = JcaEngines.cipher("AES/CBC/PKCS5Padding", rsaCbc);
      cbc.init(Cipher.DECRYPT_MODE, new SecretKeySpec(cek, CBC_HMAC_KEY_BYTES / 2, CBC_HMAC_KEY_BYTES / 2, "AES"),
          new IvParameterSpec(iv));
      return cbc.doFinal(ciphertext);
    } catch (GeneralSecurityException | RuntimeException | LinkageError e) {
      return null;
    }
  }

  private Provider rsaPrivate() {
    if (!rsaPrivateChosen) {
      rsaPrivate = nativeRsaPrivate ? CryptoProviders.fastRsaPrivate().orElse(null) : null;
      rsaPrivateChosen = true; // two threads may both choose: the same provider
    }
    return rsaPrivate;
  }

  /** The content key RSA-OAEP-256 unwraps, or a random one where it does not unwrap to {@code length} bytes. */
  private byte[] unwrap(OwnKey own, byte[] encryptedKey, int length) throws GeneralSecurityException {
    // OAEP with its parameters given: SHA-256 and MGF1 with SHA-256 (the Amazon Corretto Crypto Provider
    // has no "OAEPWithSHA-256AndMGF1Padding" name; every provider takes this form with the same meaning)
    Cipher oaep = JcaEngines.cipher("RSA/ECB/OAEPPadding", rsaPrivate());
    oaep.init(Cipher.DECRYPT_MODE, own.key(), OAEP_SHA256);
    byte[] cek;
    try {
      cek = oaep.doFinal(encryptedKey);
    } catch (GeneralSecurityException | RuntimeException e) {
      cek = null;
    }
    if (cek == null || cek.length != length) {
      cek = new byte[length];
      CryptoProviders.random().nextBytes(cek);
    }
    return cek;
  }

  private static byte[] aesGcm(Provider provider, byte[] cek, byte[] iv, byte[] ciphertext, byte[] tag, byte[] aad)
      throws GeneralSecurityException {
    Cipher gcm = JcaEngines.cipher("AES/GCM/NoPadding", provider);
    gcm.init(Cipher.DECRYPT_MODE, new SecretKeySpec(cek, "AES"), new GCMParameterSpec(GCM_TAG_BITS, iv));
    gcm.updateAAD(aad);
    byte[] sealed = new byte[ciphertext.length + tag.length];
    System.arraycopy(ciphertext, 0, sealed, 0, ciphertext.length);
    System.arraycopy(tag, 0, sealed, ciphertext.length, tag.length);
    return gcm.doFinal(sealed);
  }

  // ---------------------------------------------------------------------------------------------
  // JWS

  /**
   * Whether {@code signature} over {@code signingInput} verifies under {@code key}, ES256 ({@code ec}) or
   * RS256. An ES256 signature is r || s: longer than 64 bytes, or with r or s a multiple of the group
   * order, it is false without asking the provider; else it goes to the provider in DER, as jose4j
   * converts it.
   */
  boolean verifies(SenderKey key, boolean ec, byte[] signingInput, byte[] signature) {
    if (!key.valid()) {
      return false;
    }
    try {
      byte[] providerSignature = signature;
      if (ec) {
        if (signature.length > ES256_SIGNATURE_BYTES) {
          return false;
        }
        int half = signature.length / 2;
        BigInteger r = new BigInteger(1, java.util.Arrays.copyOfRange(signature, 0, half));
        BigInteger s = new BigInteger(1, java.util.Arrays.copyOfRange(signature, half, 2 * half));
        if (r.mod(P256_N).signum() == 0 || s.mod(P256_N).signum() == 0) {
          return false;
        }
        providerSignature = concatenatedToDer(signature);
      }
      Signature verifier = JcaEngines.signature(ec ? "SHA256withECDSA" : "SHA256withRSA", ec ? es256 : rs256);
      verifier.initVerify(key.key());
      verifier.update(signingInput);
      return verifier.verify(providerSignature);
    } catch (SignatureException e) {
      return false;
    } catch (GeneralSecurityException | RuntimeException | LinkageError e) {
      return false;
    }
  }

  /**
   * An ECDSA signature r || s (each half of the array; an odd last byte is not used) as the DER
   * SEQUENCE of two INTEGERs a JCA provider reads: each number without its leading zero bytes (at least
   * one byte kept), with a zero byte put before a first byte that has its high bit set.
   */
  static byte[] concatenatedToDer(byte[] signature) {
    int half = signature.length / 2;
    int rStart = firstSignificant(signature, 0, half);
    int sStart = firstSignificant(signature, half, half);
    int rLength = half - (rStart - 0);
    int sLength = half - (sStart - half);
    int rPad = signature[rStart] < 0 ? 1 : 0;
    int sPad = signature[sStart] < 0 ? 1 : 0;
    int content = 2 + rPad + rLength + 2 + sPad + sLength;
    // At most 2 + 33 + 2 + 33 = 70 bytes of content from 64 bytes of signature: the short length form.
    byte[] der = new byte[2 + content];
    int at = 0;
    der[at++] = 0x30;
    der[at++] = (byte) content;
    der[at++] = 0x02;
    der[at++] = (byte) (rPad + rLength);
    at += rPad;
    System.arraycopy(signature, rStart, der, at, rLength);
    at += rLength;
    der[at++] = 0x02;
    der[at++] = (byte) (sPad + sLength);
    at += sPad;
    System.arraycopy(signature, sStart, der, at, sLength);
    return der;
  }

  /** The index of the first byte of {@code bytes[from, from + length)} that is not a leading zero (the last one is kept). */
  private static int firstSignificant(byte[] bytes, int from, int length) {
    int i = from;
    while (i < from + length - 1 && bytes[i] == 0) {
      i++;
    }
    return i;
  }

  // ---------------------------------------------------------------------------------------------

  private interface ProviderLookup {
    Provider get() throws GeneralSecurityException;
  }

  /** The provider the JCA's order gives now, or {@code null} (the order, at each use) where none offers it. */
  private static Provider providerOf(ProviderLookup lookup) {
    try {
      return lookup.get();
    } catch (GeneralSecurityException | RuntimeException | LinkageError e) {
      return null;
    }
  }

  private static byte[] hex(String text) {
    byte[] bytes = new byte[text.length() / 2];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) Integer.parseInt(text.substring(2 * i, 2 * i + 2), 16);
    }
    return bytes;
  }
}
