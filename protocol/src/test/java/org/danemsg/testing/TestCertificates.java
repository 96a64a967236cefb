package org.danemsg.testing;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.security.spec.RSAPublicKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.danemsg.protocol.DnsName;

/** Self-signed device certificates (CN and SAN dNSName = the name), made with Bouncy Castle, for tests. */
public final class TestCertificates {

  /** A key pair and its self-signed certificate. */
  public record Identity(DnsName name, KeyPair keys, X509Certificate certificate) {}

  private static final SecureRandom RANDOM = new SecureRandom();

  private TestCertificates() {}

  /** An EC P-256 identity for {@code name}. */
  public static Identity ec(DnsName name) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return selfSigned(name, generator.generateKeyPair(), "SHA256withECDSA");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** An RSA identity of {@code bits} bits for {@code name}. */
  public static Identity rsa(DnsName name, int bits) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
      generator.initialize(bits, RANDOM);
      return selfSigned(name, generator.generateKeyPair(), "SHA256withRSA");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** An RSA-2048 identity for {@code name}. */
  public static Identity rsa(DnsName name) {
    return rsa(name, 2048);
  }

  /**
   * A self-signed certificate for {@code name} over existing keys (EC of any curve, or RSA): many
   * distinct certificates can share one slow-to-make RSA key.
   */
  public static Identity withKeys(DnsName name, KeyPair keys) {
    String signature = keys.getPublic().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
    return selfSigned(name, keys, signature);
  }

  /**
   * A certificate for {@code name} over an RSA public key of exactly {@code bits} bits, signed by a
   * fresh RSA-2048 key (so {@link Identity#keys()} do not match). Its modulus is a random odd number,
   * not a product of two primes: generating a real 8192-bit key pair took 47 s on a 2-core test
   * machine, and only the public key's size matters to whoever reads the certificate from DNS.
   */
  public static Identity rsaPublicKeyOnly(DnsName name, int bits) {
    try {
      BigInteger modulus = new BigInteger(bits, RANDOM).setBit(bits - 1).setBit(0);
      PublicKey key = KeyFactory.getInstance("RSA")
          .generatePublic(new RSAPublicKeySpec(modulus, RSAKeyGenParameterSpec.F4));
      KeyPairGenerator signer = KeyPairGenerator.getInstance("RSA");
      signer.initialize(2048, RANDOM);
      return selfSigned(name, new KeyPair(key, signer.generateKeyPair().getPrivate()), "SHA256withRSA");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** An EC P-256 identity for {@code name} whose certificate is valid from {@code notBefore}. */
  public static Identity ec(DnsName name, Instant notBefore) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return selfSigned(name, generator.generateKeyPair(), "SHA256withECDSA", notBefore);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Identity selfSigned(DnsName name, KeyPair keys, String signature) {
    return selfSigned(name, keys, signature, Instant.now().minus(Duration.ofMinutes(5)));
  }

  private static Identity selfSigned(DnsName name, KeyPair keys, String signature, Instant notBefore) {
    try {
      X500Name subject = new X500Name("CN=" + name);
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject,
          new BigInteger(64, RANDOM).abs().add(BigInteger.ONE), Date.from(notBefore),
          Date.from(notBefore.plus(Duration.ofDays(365))), subject, keys.getPublic());
      builder.addExtension(Extension.subjectAlternativeName, false,
          new GeneralNames(new GeneralName(GeneralName.dNSName, name.toString())));
      X509Certificate certificate = new JcaX509CertificateConverter().getCertificate(
          builder.build(new JcaContentSignerBuilder(signature).build(keys.getPrivate())));
      return new Identity(name, keys, certificate);
    } catch (GeneralSecurityException | OperatorCreationException | java.io.IOException e) {
      throw new IllegalStateException("cannot make a test certificate for " + name, e);
    }
  }
}
