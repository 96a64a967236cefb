package org.danemsg.protocol;

import java.util.Map;
import org.jose4j.json.JsonUtil;
import org.jose4j.jwa.AlgorithmConstraints;
import org.jose4j.jwe.JsonWebEncryption;

/** Decrypts JWEs independently of {@link Envelope}, to look at what it wrapped. */
final class LegacyDecryption {

  private LegacyDecryption() {}

  static String decryptFlattened(String json, DeviceIdentity recipient) throws Exception {
    Map<String, Object> m = JsonUtil.parseJson(json);
    return decryptCompact(String.join(".", (String) m.get("protected"), (String) m.get("encrypted_key"),
        (String) m.get("iv"), (String) m.get("ciphertext"), (String) m.get("tag")), recipient);
  }

  static String decryptCompact(String compact, DeviceIdentity recipient) throws Exception {
    JsonWebEncryption jwe = new JsonWebEncryption();
    jwe.setAlgorithmConstraints(AlgorithmConstraints.NO_CONSTRAINTS);
    jwe.setContentEncryptionAlgorithmConstraints(AlgorithmConstraints.NO_CONSTRAINTS);
    jwe.setCompactSerialization(compact);
    jwe.setKey(recipient.privateKey());
    return jwe.getPlaintextString();
  }
}
