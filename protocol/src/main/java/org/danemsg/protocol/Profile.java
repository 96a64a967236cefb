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
   * A256CBC-HS512) around a JWS (RS256) over the raw text. Authenticated, but without expiry,
   * recipient binding or message id: replays cannot be detected.
   */
  LEGACY
}
