package org.danemsg.protocol;

import java.io.ByteArrayInputStream;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * One DANE TLSA record (RFC 6698): certificate usage, selector, matching type and association data.
 *
 * <p>Only usage 3 (DANE-EE) is usable here. Records that carry the full certificate ({@code 3 0 0},
 * the default, what the Python original publishes) or the full public key ({@code 3 1 0}) give a key;
 * hash records ({@code 3 0 1}, {@code 3 1 1}, {@code x y 2}) can only confirm a key found elsewhere.
 */
public final class TlsaRecord {

  /** RFC 6698 certificate usage 3: the record names the end entity's own certificate or key. */
  public static final int DANE_EE = 3;

  /** What the association data is taken from. */
  public enum Selector {
    /** 0: the whole certificate (DER). */
    FULL_CERTIFICATE(0),
    /** 1: the SubjectPublicKeyInfo (DER). */
    PUBLIC_KEY(1);

    private final int code;

    Selector(int code) {
      this.code = code;
    }

    /** The number written in the record. */
    public int code() {
      return code;
    }
  }

  /** How the association data is presented. */
  public enum MatchingType {
    /** 0: the data itself. */
    EXACT(0, null),
    /** 1: its SHA-256. */
    SHA256(1, "SHA-256"),
    /** 2: its SHA-512. */
    SHA512(2, "SHA-512");

    private final int code;
    private final String digest;

    MatchingType(int code, String digest) {
      this.code = code;
      this.digest = digest;
    }

    /** The number written in the record. */
    public int code() {
      return code;
    }

    byte[] apply(byte[] data) {
      if (digest == null) {
        return data.clone();
      }
      try {
        return MessageDigest.getInstance(digest).digest(data);
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(digest + " missing from the JDK", e);
      }
    }
  }

  /** Outcome of asking a record for the public key it carries. */
  public sealed interface KeyExtraction permits UsableKey, UnusableRecord {}

  /** The record carries this usable key. */
  public record UsableKey(PublicKey key) implements KeyExtraction {}

  /** The record carries no key this project can use, and why. */
  public record UnusableRecord(String reason) implements KeyExtraction {}

  private final int usage;
  private final int selector;
  private final int matchingType;
  private final byte[] data;

  /**
   * A record with these raw fields. Any values in 0..255 are representable (so a published record can
   * be shown as it is); {@link #publicKey()} tells whether it is usable.
   */
  public TlsaRecord(int usage, int selector, int matchingType, byte[] data) {
    checkOctet("usage", usage);
    checkOctet("selector", selector);
    checkOctet("matching type", matchingType);
    Objects.requireNonNull(data, "data");
    if (data.length == 0) {
      throw new IllegalArgumentException("TLSA association data is empty");
    }
    this.usage = usage;
    this.selector = selector;
    this.matchingType = matchingType;
    this.data = data.clone();
  }

  /** The DANE-EE record for {@code certificate} with the given selector and matching type. */
  public static TlsaRecord of(X509Certificate certificate, Selector selector, MatchingType matching) {
    byte[] source;
    try {
      source = selector == Selector.FULL_CERTIFICATE
          ? certificate.getEncoded()
          : certificate.getPublicKey().getEncoded();
    } catch (CertificateEncodingException e) {
      throw new IllegalArgumentException("certificate cannot be encoded: " + e.getMessage(), e);
    }
    return new TlsaRecord(DANE_EE, selector.code(), matching.code(), matching.apply(source));
  }

  /** The default record for a certificate: {@code 3 0 0}, the full certificate. */
  public static TlsaRecord of(X509Certificate certificate) {
    return of(certificate, Selector.FULL_CERTIFICATE, MatchingType.EXACT);
  }

  /** The {@code 3 1 x} record for a bare public key. */
  public static TlsaRecord ofKey(PublicKey key, MatchingType matching) {
    return new TlsaRecord(DANE_EE, Selector.PUBLIC_KEY.code(), matching.code(),
        matching.apply(key.getEncoded()));
  }

  /**
   * Parses a record's presentation form. Accepts the bare RDATA ({@code 3 0 0 30820…}), a zone-file
   * line ({@code name. 60 IN TLSA 3 0 0 30820…}) and the Python original's output ({@code TLSA record
   * for name: 3 0 0 30820…}). Hex may be split by white space and is case-insensitive.
   *
   * @throws IllegalArgumentException with the reason when the text is not a TLSA record
   */
  public static TlsaRecord parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("empty TLSA record");
    }
    String rdata = text.strip();
    int colon = rdata.lastIndexOf(':');
    if (rdata.startsWith("TLSA record for") && colon > 0) {
      rdata = rdata.substring(colon + 1).strip();
    }
    String[] tokens = rdata.split("\\s+");
    int tlsaAt = -1;
    for (int i = 0; i < tokens.length; i++) {
      if (tokens[i].equalsIgnoreCase("TLSA")) {
        tlsaAt = i;
        break;
      }
    }
    int start = tlsaAt + 1;
    if (tokens.length - start < 4) {
      throw new IllegalArgumentException("a TLSA record needs usage, selector, matching type and data: '"
          + DnsName.printable(text) + "'");
    }
    int usage = parseOctet("usage", tokens[start]);
    int selector = parseOctet("selector", tokens[start + 1]);
    int matching = parseOctet("matching type", tokens[start + 2]);
    StringBuilder hex = new StringBuilder();
    for (int i = start + 3; i < tokens.length; i++) {
      hex.append(tokens[i]);
    }
    byte[] data;
    try {
      if (hex.length() % 2 != 0) {
        throw new IllegalArgumentException("odd number of hex digits");
      }
      data = HexFormat.of().parseHex(hex.toString().toLowerCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("TLSA association data is not hex: " + e.getMessage());
    }
    return new TlsaRecord(usage, selector, matching, data);
  }

  /** The certificate usage field. */
  public int usage() {
    return usage;
  }

  /** The selector field. */
  public int selector() {
    return selector;
  }

  /** The matching type field. */
  public int matchingType() {
    return matchingType;
  }

  /** A copy of the association data. */
  public byte[] data() {
    return data.clone();
  }

  /** The length of the association data, in bytes (without copying it). */
  public int dataLength() {
    return data.length;
  }

  /** The RDATA in presentation form: {@code 3 0 0 <lower-case hex>}. */
  public String rdata() {
    return usage + " " + selector + " " + matchingType + " " + HexFormat.of().formatHex(data);
  }

  /** A zone-file line: {@code <name>. <ttl> IN TLSA 3 0 0 <hex>}. */
  public String zoneLine(DnsName owner, long ttl) {
    return owner.absolute() + " " + ttl + " IN TLSA " + rdata();
  }

  /** Whether this record designates {@code certificate} (by certificate or by its key). */
  public boolean matches(X509Certificate certificate) {
    if (usage != DANE_EE) {
      return false;
    }
    if (selector == Selector.PUBLIC_KEY.code()) {
      return matches(certificate.getPublicKey());
    }
    MatchingType matching = matching();
    try {
      return selector == Selector.FULL_CERTIFICATE.code() && matching != null
          && MessageDigest.isEqual(matching.apply(certificate.getEncoded()), data);
    } catch (CertificateEncodingException e) {
      return false;
    }
  }

  /**
   * Whether this record designates {@code key}. Only selector-1 records designate a bare key; a
   * selector-0 record designates a certificate, use {@link #matches(X509Certificate)} or
   * {@link #publicKey()} for those.
   */
  public boolean matches(PublicKey key) {
    MatchingType matching = matching();
    return usage == DANE_EE && selector == Selector.PUBLIC_KEY.code() && matching != null
        && MessageDigest.isEqual(matching.apply(key.getEncoded()), data);
  }

  /** The public key this record carries, or why it carries none usable here. */
  public KeyExtraction publicKey() {
    if (usage != DANE_EE) {
      return new UnusableRecord("certificate usage " + usage
          + " is not supported (only 3, DANE-EE: the device's own certificate or key)");
    }
    if (matchingType != MatchingType.EXACT.code()) {
      return new UnusableRecord("matching type " + matchingType
          + " is a hash, it cannot supply a key (publish 3 0 0 or 3 1 0)");
    }
    PublicKey key;
    if (selector == Selector.FULL_CERTIFICATE.code()) {
      byte[] spki;
      try {
        CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(data));
        // The key from the certificate's SubjectPublicKeyInfo, decoded as a selector 1 record's is, not
        // by certificate.getPublicKey(): the certificate factory in use is Bouncy Castle's, whose RSA
        // keys run Miller-Rabin rounds on the modulus as they are made, 2048-bit BigInteger powers
        // that took 30-50 ms per new RSA peer where that code is not compiled with intrinsics (a node
        // under C1, any cold JVM: every `tools send` to an RSA peer).
        spki = org.bouncycastle.asn1.x509.Certificate.getInstance(data).getSubjectPublicKeyInfo().getEncoded("DER");
      } catch (CertificateException | java.io.IOException | RuntimeException e) {
        return new UnusableRecord("selector 0 data is not a DER X.509 certificate");
      }
      key = decodeSpki(spki);
      if (key == null) {
        return new UnusableRecord("the certificate's key is not an EC or RSA key");
      }
    } else if (selector == Selector.PUBLIC_KEY.code()) {
      key = decodeSpki(data);
      if (key == null) {
        return new UnusableRecord("selector 1 data is not a DER SubjectPublicKeyInfo of an EC or RSA key");
      }
    } else {
      return new UnusableRecord("selector " + selector + " is not defined");
    }
    String problem = KeyType.problemWith(key);
    return problem == null ? new UsableKey(key) : new UnusableRecord(problem);
  }

  /**
   * The certificate a {@code 3 0 0} record carries (usage DANE-EE, full certificate, exact data);
   * empty for other records and for data that is not a DER certificate.
   */
  public Optional<X509Certificate> certificate() {
    if (usage != DANE_EE || selector != Selector.FULL_CERTIFICATE.code()
        || matchingType != MatchingType.EXACT.code()) {
      return Optional.empty();
    }
    try {
      return Optional.of((X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(data)));
    } catch (CertificateException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** Hex SHA-256 of a key's SubjectPublicKeyInfo, the fingerprint shown to operators. */
  public static String spkiSha256(PublicKey key) {
    return HexFormat.of().formatHex(MatchingType.SHA256.apply(key.getEncoded()));
  }

  private MatchingType matching() {
    for (MatchingType m : MatchingType.values()) {
      if (m.code() == matchingType) {
        return m;
      }
    }
    return null;
  }

  /**
   * An EC or RSA key from DER SubjectPublicKeyInfo. EC keys are made by Conscrypt's key factory where
   * Conscrypt is in use ({@link CryptoProviders#conscrypt()}): BoringSSL parses the key and checks its
   * point, and the key is then the one its signature checks and key agreements take without rebuilding
   * it from its encoding (measured on a node's first message from a new sender, C1 only: 0.2 ms less from
   * the lookup's answer to the verified message). A key Conscrypt refuses (such as one with explicit curve
   * parameters, which BoringSSL does not take) is left to Bouncy Castle's, so that what is accepted does
   * not depend on whether Conscrypt loads. Both check that the point is on the curve; the factories are
   * named, not taken from the JCA list: the JDK's (SunEC) takes a point off the curve. RSA keys are made
   * by the JDK's own key factory (SunRsaSign, in java.base, so in every runtime): Bouncy Castle's tests
   * the modulus for primality on every key it makes (see {@link #publicKey()}). A prime or otherwise weak
   * modulus would only let others sign as its owner, who published it; sizes and exponents are still
   * checked ({@link KeyType#problemWith}).
   */
  private static PublicKey decodeSpki(byte[] spki) {
    X509EncodedKeySpec spec = new X509EncodedKeySpec(spki);
    Optional<java.security.Provider> conscrypt = CryptoProviders.conscrypt();
    if (conscrypt.isPresent()) {
      try {
        return KeyFactory.getInstance("EC", conscrypt.get()).generatePublic(spec);
      } catch (GeneralSecurityException | RuntimeException e) {
        // not an EC key, or one BoringSSL does not take: as where Conscrypt is not in use
      }
    }
    try {
      return KeyFactory.getInstance("EC", CryptoProviders.bouncyCastle()).generatePublic(spec);
    } catch (GeneralSecurityException | RuntimeException e) {
      // not an EC key: RSA?
    }
    try {
      return KeyFactory.getInstance("RSA", "SunRsaSign").generatePublic(spec);
    } catch (GeneralSecurityException | RuntimeException e) {
      return null;
    }
  }

  private static void checkOctet(String field, int value) {
    if (value < 0 || value > 255) {
      throw new IllegalArgumentException("TLSA " + field + " must be 0..255, got " + value);
    }
  }

  private static int parseOctet(String field, String token) {
    try {
      int value = Integer.parseInt(token);
      checkOctet(field, value);
      return value;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("TLSA " + field + " must be a number 0..255, got '"
          + DnsName.printable(token) + "'");
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TlsaRecord r && r.usage == usage && r.selector == selector
        && r.matchingType == matchingType && Arrays.equals(r.data, data);
  }

  @Override
  public int hashCode() {
    return Objects.hash(usage, selector, matchingType, Arrays.hashCode(data));
  }

  @Override
  public String toString() {
    String hex = HexFormat.of().formatHex(data);
    return usage + " " + selector + " " + matchingType + " "
        + (hex.length() > 24 ? hex.substring(0, 24) + "…(" + data.length + " bytes)" : hex);
  }
}
