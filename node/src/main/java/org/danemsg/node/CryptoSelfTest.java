package org.danemsg.node;

import java.util.List;
import org.danemsg.client.SettingsException;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.SafeText;
import org.danemsg.protocol.SealException;

/**
 * Before the node subscribes, it seals a message to its own key and opens it again, with the
 * envelope and the providers it will use for every message. A platform whose cryptography does not
 * work (seen under emulation: the JRE could not read its security policy folder, so no content
 * encryption was registered at all) would otherwise quarantine every valid message as
 * DECRYPTION_FAILED, blaming the sender; here it stops the node at start with one line naming the
 * cause.
 */
final class CryptoSelfTest {

  private static final String PROBE = "danemsg crypto self-test";

  private CryptoSelfTest() {}

  /**
   * Seals and opens one message from {@code identity} to itself.
   *
   * @throws SettingsException naming what failed, when the message does not come back as sent
   */
  static void run(Envelope envelope, DeviceIdentity identity) {
    Envelope.OpenResult result;
    try {
      byte[] sealed = envelope.seal(PROBE, identity, identity.name(), identity.publicKey());
      result = envelope.open(sealed, identity.name(), List.of(identity),
          sender -> new Envelope.SenderKeys.Found(List.of(identity.publicKey())));
    } catch (SealException | RuntimeException e) {
      throw failed("sealing a message to its own key failed: " + describe(e));
    }
    if (result instanceof Envelope.Rejected rejected) {
      throw failed("a message sealed to its own key did not open: " + rejected.rejection());
    }
    if (!(result instanceof Envelope.Opened opened) || !PROBE.equals(opened.message().text())) {
      throw failed("a message sealed to its own key opened with other content");
    }
  }

  private static SettingsException failed(String what) {
    return new SettingsException("crypto self-test: " + SafeText.detail(what) + "; this Java runtime's"
        + " cryptography does not work here (is its conf/security folder readable? java -version: "
        + System.getProperty("java.vm.name") + " " + System.getProperty("java.version") + ", "
        + System.getProperty("os.arch") + ")");
  }

  private static String describe(Throwable e) {
    String message = e.getMessage();
    return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }
}
