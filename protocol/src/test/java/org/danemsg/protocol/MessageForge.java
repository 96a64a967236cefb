package org.danemsg.protocol;

import java.nio.charset.StandardCharsets;
import java.security.Key;
import java.security.PublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.jose4j.json.JsonUtil;
import org.jose4j.jwa.AlgorithmConstraints;
import org.jose4j.jwe.JsonWebEncryption;
import org.jose4j.jws.JsonWebSignature;

/**
 * Builds messages the way an attacker or a buggy peer could: any header, any claims, any algorithm.
 * Starts from what a correct sender writes; each {@code with…} changes one thing.
 */
public final class MessageForge {

  private final Map<String, Object> claims = new LinkedHashMap<>();
  private final Map<String, Object> jwsHeader = new LinkedHashMap<>();
  private final Map<String, Object> jweHeader = new LinkedHashMap<>();
  private Key signingKey;
  private PublicKey encryptionKey;
  private String innerOverride;

  public MessageForge(DeviceIdentity sender, DnsName recipient, PublicKey recipientKey) {
    long now = Instant.now().getEpochSecond();
    claims.put("iss", sender.name().toString());
    claims.put("aud", recipient.toString());
    claims.put("iat", now);
    claims.put("exp", now + 300);
    claims.put("jti", UUID.randomUUID().toString());
    claims.put("msg", "forged hello");
    jwsHeader.put("alg", sender.keyType() == KeyType.RSA ? "RS256" : "ES256");
    jwsHeader.put("x5u", DnsUri.of(sender.name()));
    jwsHeader.put("typ", "JWT");
    boolean rsa = recipientKey instanceof RSAPublicKey;
    jweHeader.put("alg", rsa ? "RSA-OAEP-256" : "ECDH-ES");
    jweHeader.put("enc", "A256GCM");
    jweHeader.put("kid", Envelope.keyId(recipientKey));
    jweHeader.put("x5u", DnsUri.of(recipient));
    jweHeader.put("cty", "JWT");
    signingKey = sender.privateKey();
    encryptionKey = recipientKey;
  }

  public MessageForge claim(String name, Object value) {
    if (value == null) {
      claims.remove(name);
    } else {
      claims.put(name, value);
    }
    return this;
  }

  public MessageForge jwsHeader(String name, Object value) {
    if (value == null) {
      jwsHeader.remove(name);
    } else {
      jwsHeader.put(name, value);
    }
    return this;
  }

  public MessageForge jweHeader(String name, Object value) {
    if (value == null) {
      jweHeader.remove(name);
    } else {
      jweHeader.put(name, value);
    }
    return this;
  }

  public MessageForge signWith(Key key) {
    signingKey = key;
    return this;
  }

  public MessageForge encryptTo(PublicKey key) {
    encryptionKey = key;
    return this;
  }

  /** Encrypts this text instead of a JWS. */
  public MessageForge innerContent(String content) {
    innerOverride = content;
    return this;
  }

  public String signedPart() throws Exception {
    return signedPart(null);
  }

  private String signedPart(java.util.function.UnaryOperator<String> claimsJson) throws Exception {
    JsonWebSignature jws = new JsonWebSignature();
    jws.setAlgorithmConstraints(AlgorithmConstraints.NO_CONSTRAINTS);
    jws.getHeaders().setFullHeaderAsJsonString(JsonUtil.toJson(jwsHeader));
    String json = JsonUtil.toJson(claims);
    jws.setPayload(claimsJson == null ? json : claimsJson.apply(json));
    jws.setKey(signingKey);
    jws.setDoKeyValidation(false);
    return jws.getCompactSerialization();
  }

  public byte[] build() throws Exception {
    return build(encryptionKey, null);
  }

  /** Encrypts with a symmetric key (for {@code dir}). */
  public byte[] build(Key key) throws Exception {
    return build(key, null);
  }

  /** Replaces the claims JSON with what {@code claimsJson} makes of it. */
  public byte[] build(java.util.function.UnaryOperator<String> claimsJson) throws Exception {
    return build(encryptionKey, claimsJson);
  }

  private byte[] build(Key key, java.util.function.UnaryOperator<String> claimsJson) throws Exception {
    String inner = innerOverride != null ? innerOverride : signedPart(claimsJson);
    JsonWebEncryption jwe = new JsonWebEncryption();
    jwe.setAlgorithmConstraints(AlgorithmConstraints.NO_CONSTRAINTS);
    jwe.setContentEncryptionAlgorithmConstraints(AlgorithmConstraints.NO_CONSTRAINTS);
    jwe.getHeaders().setFullHeaderAsJsonString(JsonUtil.toJson(jweHeader));
    jwe.setPayload(inner);
    jwe.setKey(key);
    jwe.setDoKeyValidation(false);
    return jwe.getCompactSerialization().getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * The downgrade attack: a signed JWS (e.g. another device's native message, taken from a message
   * addressed to the attacker) wrapped in the legacy JSON JWE format, encrypted to {@code recipient}.
   */
  public static byte[] legacyRewrap(String signedJws, DnsName recipient, PublicKey recipientKey) throws Exception {
    return RawJose.legacyPayload(RawJose.flattenedJws(signedJws), recipient, recipientKey);
  }
}
