package org.danemsg.protocol;

import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.UUID;

/**
 * A message whose three JSON objects (JWE header, JWS header, claims or legacy text) are raw
 * {@link JsonText}, signed and encrypted properly by {@link RawJose} whatever they say, so that a
 * hostile member gets past the crypto to the member checks. Starts as a correct sender writes it.
 */
final class RawMessage {

  final Profile profile;
  final JsonText jweHeader = new JsonText();
  final JsonText jwsHeader = new JsonText();
  final JsonText claims = new JsonText();
  /** The signed text of a legacy message (its claims are unused). */
  String legacyText = "legacy hello";
  private final DeviceIdentity sender;
  private final PublicKey recipientKey;

  private RawMessage(Profile profile, DeviceIdentity sender, PublicKey recipientKey) {
    this.profile = profile;
    this.sender = sender;
    this.recipientKey = recipientKey;
  }

  /** A native message from {@code sender} to {@code recipient}, encrypted to {@code recipientKey}. */
  static RawMessage nativeMessage(DeviceIdentity sender, DnsName recipient, PublicKey recipientKey) {
    RawMessage m = new RawMessage(Profile.NATIVE, sender, recipientKey);
    boolean rsa = recipientKey instanceof RSAPublicKey;
    m.jweHeader.string("alg", rsa ? "RSA-OAEP-256" : "ECDH-ES").string("enc", "A256GCM")
        .string("kid", Envelope.keyId(recipientKey)).string("x5u", DnsUri.of(recipient)).string("cty", "JWT");
    if (!rsa) {
      m.jweHeader.raw("epk", RawJose.epkJson());
    }
    m.jwsHeader.string("alg", sender.keyType() == KeyType.RSA ? "RS256" : "ES256")
        .string("x5u", DnsUri.of(sender.name())).string("typ", "JWT");
    long now = Instant.now().getEpochSecond();
    m.claims.string("iss", sender.name().toString()).string("aud", recipient.toString()).number("iat", now)
        .number("exp", now + 300).string("jti", UUID.randomUUID().toString()).string("msg", "raw hello");
    return m;
  }

  /** A legacy message (RSA keys on both sides) as the Python original writes it. */
  static RawMessage legacyMessage(DeviceIdentity sender, DnsName recipient, PublicKey recipientKey) {
    RawMessage m = new RawMessage(Profile.LEGACY, sender, recipientKey);
    m.jweHeader.string("alg", "RSA-OAEP-256").string("enc", "A256CBC-HS512").string("typ", "JWE")
        .string("x5u", DnsUri.of(recipient));
    m.jwsHeader.string("alg", "RS256").string("x5u", DnsUri.of(sender.name()));
    return m;
  }

  /** The signed part: compact for native, flattened JSON for legacy. */
  String signedPart() throws Exception {
    byte[] body = (profile == Profile.NATIVE ? claims.toString() : legacyText).getBytes(StandardCharsets.UTF_8);
    String compact = RawJose.sign(jwsHeader.toString(), body, sender.privateKey());
    return profile == Profile.NATIVE ? compact : RawJose.flattenedJws(compact);
  }

  /** The MQTT payload. */
  byte[] build() throws Exception {
    boolean rsa = recipientKey instanceof RSAPublicKey;
    String alg = rsa ? "RSA-OAEP-256" : "ECDH-ES";
    String enc = profile == Profile.NATIVE ? "A256GCM" : "A256CBC-HS512";
    String jwe = RawJose.encrypt(jweHeader.toString(), alg, enc, signedPart().getBytes(StandardCharsets.UTF_8),
        recipientKey);
    return (profile == Profile.NATIVE ? jwe : RawJose.flattenedJwe(jwe)).getBytes(StandardCharsets.UTF_8);
  }
}
