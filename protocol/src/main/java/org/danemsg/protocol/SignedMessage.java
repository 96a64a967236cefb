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
  private final String compactJws;

  SignedMessage(Profile profile, DnsName claimedSender, DnsName recipient, String compactJws) {
    this.profile = profile;
    this.claimedSender = claimedSender;
    this.recipient = recipient;
    this.compactJws = compactJws;
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

  String compactJws() {
    return compactJws;
  }

  @Override
  public String toString() {
    return "SignedMessage[" + profile + ", claimed sender " + claimedSender + "]";
  }
}
