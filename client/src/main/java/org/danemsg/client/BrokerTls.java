package org.danemsg.client;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

/** The TLS socket factory for the broker connection: the configured CA file, else the JVM's trust store. */
public final class BrokerTls {

  private BrokerTls() {}

  /** The factory for {@code mqtt}, or {@code null} when TLS is off. */
  public static SSLSocketFactory socketFactory(ClientSettings.Mqtt mqtt) {
    if (!mqtt.tls()) {
      return null;
    }
    try {
      if (mqtt.caFile() == null) {
        return SSLContext.getDefault().getSocketFactory();
      }
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      try (InputStream in = Files.newInputStream(mqtt.caFile())) {
        int i = 0;
        for (Certificate ca : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
          trust.setCertificateEntry("ca-" + i++, ca);
        }
        if (i == 0) {
          throw new SettingsException("setting danemsg.mqtt.ca-file (MQTT_CA_FILE) " + mqtt.caFile()
              + " holds no PEM certificate");
        }
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, tmf.getTrustManagers(), null);
      return context.getSocketFactory();
    } catch (IOException | GeneralSecurityException e) {
      throw new SettingsException("setting danemsg.mqtt.ca-file (MQTT_CA_FILE) " + mqtt.caFile()
          + " cannot be used: " + e.getMessage());
    }
  }
}
