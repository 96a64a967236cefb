package org.danemsg.protocol;

import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A device's identity: its DNS name, private key and self-signed certificate (whose key is what the
 * name's TLSA record publishes). Immutable; the private key never appears in {@link #toString()}.
 */
public final class DeviceIdentity {

  /** Default certificate validity. DANE-EE ignores validity dates, but other tools show them. */
  public static final Duration DEFAULT_VALIDITY = Duration.ofDays(365);

  private static final SecureRandom RANDOM = new SecureRandom();

  private final DnsName name;
  private final PrivateKey privateKey;
  private final X509Certificate certificate;
  private final PublicKey publicKey;
  private final KeyType keyType;
  private final String keyId;

  private DeviceIdentity(DnsName name, PrivateKey privateKey, X509Certificate certificate,
      KeyType keyType) {
    this.name = name;
    this.privateKey = privateKey;
    this.certificate = certificate;
    // Once: a certificate may build a new key object at every getPublicKey(), and the opening code keeps
    // what it learns of a key per key object.
    this.publicKey = certificate.getPublicKey();
    this.keyType = keyType;
    this.keyId = Envelope.keyId(publicKey);
  }

  /**
   * Creates a new key pair and a self-signed X.509 v3 certificate for {@code name} (CN and SAN
   * dNSName = the name, SHA-256 signature).
   */
  public static DeviceIdentity generate(DnsName name, KeyType type, Duration validity) {
    Objects.requireNonNull(name, "name");
    if (validity.isNegative() || validity.isZero()) {
      throw new IllegalArgumentException("validity must be positive, got " + validity);
    }
    try {
      KeyPair pair = newKeyPair(type);
      X509Certificate certificate = selfSign(name, pair, validity);
      return new DeviceIdentity(name, pair.getPrivate(), certificate, type);
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot create a " + type + " identity: " + e.getMessage(), e);
    }
  }

  /**
   * An identity from an existing key and certificate, after checking that they belong together and
   * that the certificate names {@code name}.
   *
   * @throws IdentityException when they do not (the message names {@code source})
   */
  public static DeviceIdentity of(DnsName name, PrivateKey privateKey, X509Certificate certificate,
      String source) throws IdentityException {
    PublicKey publicKey = certificate.getPublicKey();
    String problem = KeyType.problemWith(publicKey);
    if (problem != null) {
      throw new IdentityException(source + ": unsupported key: " + problem);
    }
    KeyType type = KeyType.of(publicKey);
    if (!privateKey.getAlgorithm().equals(publicKey.getAlgorithm())
        && !(privateKey.getAlgorithm().startsWith("EC") && publicKey.getAlgorithm().startsWith("EC"))) {
      throw new IdentityException(source + ": the private key is " + privateKey.getAlgorithm()
          + " but the certificate holds an " + publicKey.getAlgorithm()
          + " key; they are not a pair");
    }
    if (!isPair(privateKey, publicKey, type)) {
      throw new IdentityException(source
          + ": the private key does not match the certificate's public key; they are not a pair");
    }
    if (!namesOf(certificate).contains(name.canonical())) {
      throw new IdentityException(source + ": the certificate is for " + namesOf(certificate)
          + ", not for " + name + " (neither its CN nor a SAN dNSName)");
    }
    return new DeviceIdentity(name, privateKey, certificate, type);
  }

  /** The device's DNS name. */
  public DnsName name() {
    return name;
  }

  /** The private key. Keep it in memory only; never log it. */
  public PrivateKey privateKey() {
    return privateKey;
  }

  /** The self-signed certificate. */
  public X509Certificate certificate() {
    return certificate;
  }

  /** The certificate's public key. */
  public PublicKey publicKey() {
    return publicKey;
  }

  /** EC P-256 or RSA. */
  public KeyType keyType() {
    return keyType;
  }

  /** The record to publish for this identity: {@code 3 0 0}, the full certificate. */
  public TlsaRecord tlsaRecord() {
    return TlsaRecord.of(certificate);
  }

  /** The JWK thumbprint (RFC 7638, SHA-256, base64url) of the public key: the JWE {@code kid}. */
  public String keyId() {
    return keyId;
  }

  /** Hex SHA-256 of the SubjectPublicKeyInfo. */
  public String fingerprint() {
    return TlsaRecord.spkiSha256(publicKey());
  }

  @Override
  public String toString() {
    return "DeviceIdentity[" + name + ", " + KeyType.describe(publicKey()) + ", spki sha256 "
        + fingerprint() + "]";
  }

  /** The lower-case DNS names a certificate is for: its CN and its SAN dNSNames. */
  static List<String> namesOf(X509Certificate certificate) {
    java.util.ArrayList<String> names = new java.util.ArrayList<>();
    X500Name subject = X500Name.getInstance(
        certificate.getSubjectX500Principal().getEncoded());
    for (var rdn : subject.getRDNs(BCStyle.CN)) {
      names.add(IETFUtils.valueToString(rdn.getFirst().getValue()).toLowerCase(Locale.ROOT));
    }
    try {
      var sans = certificate.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if (Integer.valueOf(GeneralName.dNSName).equals(san.get(0))) {
            String dns = san.get(1).toString().toLowerCase(Locale.ROOT);
            names.add(dns.endsWith(".") ? dns.substring(0, dns.length() - 1) : dns);
          }
        }
      }
    } catch (CertificateParsingException e) {
      // A certificate with an unreadable SAN extension is matched on its CN alone.
    }
    return names;
  }

  private static KeyPair newKeyPair(KeyType type) throws GeneralSecurityException {
    KeyPairGenerator generator;
    if (type == KeyType.RSA) {
      generator = KeyPairGenerator.getInstance("RSA");
      generator.initialize(2048, RANDOM);
    } else {
      generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
    }
    return generator.generateKeyPair();
  }

  private static X509Certificate selfSign(DnsName name, KeyPair pair, Duration validity)
      throws OperatorCreationException, GeneralSecurityException, IOException {
    X500Principal subject = new X500Principal("CN=" + name);
    Instant now = Instant.now();
    X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
        subject,
        new BigInteger(1, randomBytes(16)),
        Date.from(now.minusSeconds(60)),
        Date.from(now.plus(validity)),
        subject,
        pair.getPublic());
    builder.addExtension(Extension.subjectAlternativeName, false,
        new GeneralNames(new GeneralName(GeneralName.dNSName, name.toString())));
    String algorithm = pair.getPrivate().getAlgorithm().equals("RSA")
        ? "SHA256withRSA" : "SHA256withECDSA";
    var signer = new JcaContentSignerBuilder(algorithm)
        .setProvider(CryptoProviders.bouncyCastle())
        .build(pair.getPrivate());
    return new JcaX509CertificateConverter()
        .setProvider(CryptoProviders.bouncyCastle())
        .getCertificate(builder.build(signer));
  }

  private static boolean isPair(PrivateKey privateKey, PublicKey publicKey, KeyType type) {
    try {
      String algorithm = type == KeyType.RSA ? "SHA256withRSA" : "SHA256withECDSA";
      byte[] challenge = randomBytes(32);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(privateKey);
      signer.update(challenge);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(publicKey);
      verifier.update(challenge);
      return verifier.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  private static byte[] randomBytes(int n) {
    byte[] bytes = new byte[n];
    RANDOM.nextBytes(bytes);
    return bytes;
  }
}
