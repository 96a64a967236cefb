package org.danemsg.testing;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObject;

/** A test CA and a server certificate for 127.0.0.1 / localhost, for a broker's TLS listener. */
final class BrokerCertificates {

  /** Where the PEM files went. */
  record Written(Path ca, Path certificate, Path key) {}

  private static final SecureRandom RANDOM = new SecureRandom();

  private BrokerCertificates() {}

  static Written write(Path directory) throws IOException {
    try {
      KeyPair caKeys = ecKeys();
      X500Principal caName = new X500Principal("CN=danemsg test broker CA");
      X509Certificate ca = sign(caName, caKeys, caName, caKeys, true);
      KeyPair serverKeys = ecKeys();
      X509Certificate server = sign(new X500Principal("CN=127.0.0.1"), serverKeys, caName, caKeys, false);
      Path caFile = Files.writeString(directory.resolve("ca.crt"), pem(ca));
      Path certFile = Files.writeString(directory.resolve("server.crt"), pem(server));
      Path keyFile = Files.writeString(directory.resolve("server.key"),
          pem(new PemObject("PRIVATE KEY", serverKeys.getPrivate().getEncoded())));
      return new Written(caFile, certFile, keyFile);
    } catch (IOException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException("cannot make the broker's test certificates", e);
    }
  }

  private static KeyPair ecKeys() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
    return generator.generateKeyPair();
  }

  private static X509Certificate sign(X500Principal subject, KeyPair subjectKeys, X500Principal issuer,
      KeyPair issuerKeys, boolean ca) throws Exception {
    Instant now = Instant.now();
    var builder = new JcaX509v3CertificateBuilder(issuer, new BigInteger(64, RANDOM),
        Date.from(now.minus(1, ChronoUnit.HOURS)), Date.from(now.plus(1, ChronoUnit.DAYS)), subject,
        subjectKeys.getPublic());
    builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
    if (!ca) {
      builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
          new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.dNSName, "localhost")}));
    }
    var signer = new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKeys.getPrivate());
    return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
  }

  private static String pem(Object object) throws IOException {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(object);
    }
    return out.toString();
  }
}
