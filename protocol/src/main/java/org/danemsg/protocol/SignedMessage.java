package org.danemsg.protocol;

/**
 * A payload that this node decrypted, holding a signed message whose signature is not checked yet.
 * Nothing in it is authenticated: the claimed sender only says whose keys to look up. Pass it, with the
 * keys found for {@link #claimedSender()}, to {@link Envelope#verify}.
 */
public final class SignedMessage {

  private final Profile profile;
  private final DnsName claimedSender;
  private final DnsName recipient;
  // The JWS as decrypt read it, so that verify need not read it again: its encoded protected header
  // and payload (the signing input), the header's alg, the payload decoded and the signature decoded.
  private final String protectedHeader;
  private final String payload;
  private final String alg;
  private final byte[] body;
  private final byte[] signature;

  SignedMessage(Profile profile, DnsName claimedSender, DnsName recipient, String protectedHeader, String payload,
      String alg, byte[] body, byte[] signature) {
    this.profile = profile;
    this.claimedSender = claimedSender;
    this.recipient = recipient;
    this.protectedHeader = protectedHeader;
    this.payload = payload;
    this.alg = alg;
    this.body = body;
    this.signature = signature;
  }

  /** The wire format it came in. */
  public Profile profile() {
    return profile;
  }

  /** The sender named by the JWS {@code x5u}: whose published keys must verify it. */
  public DnsName claimedSender() {
    return claimedSender;
  }

  /** This node's name, which the payload was addressed to. */
  public DnsName recipient() {
    return recipient;
  }

  /** The encoded protected header, as received. */
  String protectedHeader() {
    return protectedHeader;
  }

  /** The encoded payload, as received. */
  String payload() {
    return payload;
  }

  /** The JWS header's alg: ES256 or RS256. */
  String alg() {
    return alg;
  }

  /** The payload decoded: the claims, or the text of a legacy message. Not to be changed. */
  byte[] body() {
    return body;
  }

  /** The signature decoded. Not to be changed. */
  byte[] signature() {
    return signature;
  }

  @Override
  public String toString() {
    return "SignedMessage[" + profile + ", claimed sender " + claimedSender + "]";
  }
}
