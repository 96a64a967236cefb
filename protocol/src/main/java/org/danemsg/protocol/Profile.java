package org.danemsg.protocol;

/** The two message formats on the wire (see the project README, §4). */
public enum Profile {
  /**
   * Compact JWE (ECDH-ES or RSA-OAEP-256, A256GCM) around a compact JWS over claims
   * iss/aud/iat/exp/jti/msg: authenticated, bound to the recipient, fresh and replay-checkable.
   */
  NATIVE,
  /**
   * The Python secure-messager's format: JWE JSON flattened serialization (RSA-OAEP-256,
   * A256CBC-HS512, protected header exactly {@code alg}, {@code enc}, {@code typ} "JWE" and {@code x5u})
   * around a JWS in JSON flattened serialization (RS256, protected header exactly {@code alg} and
   * {@code x5u}) over the raw text. Authenticated, but without expiry or recipient binding; its id is a
   * digest of the signed content (see {@link OpenedMessage#id()}). Accepted only from configured
   * {@link LegacyPeers}.
   */
  LEGACY
}
