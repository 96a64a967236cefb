package org.danemsg.protocol;

import java.time.Instant;

/**
 * A message that was decrypted with this node's key and whose signature was verified with a key
 * published for its sender.
 *
 * @param sender the authenticated sender (the JWS {@code x5u} name, equal to {@code iss})
 * @param recipient this node's name
 * @param text the message text
 * @param sentAt the sender's {@code iat}; {@code null} for {@link Profile#LEGACY} messages
 * @param id what identifies the message for replay detection, always of the characters A-Z, a-z, 0-9,
 *     '_' and '-' (at most 64): for a native message the sender's {@code jti}; for a legacy message,
 *     which has none, {@code "sha256-"} and the unpadded base64url SHA-256 of what its sender signed
 *     (the inner JWS's protected header and payload, as in its signing input). That digest is the same
 *     however often the same signed message is re-encrypted, so a replay keeps its id; but it also
 *     means the same text sent twice by a legacy peer has the same id. Legacy messages have no
 *     {@code expiresAt}: keep their ids for a window of your choosing
 * @param expiresAt the sender's {@code exp}; {@code null} for legacy messages
 * @param profile the wire format it came in
 */
public record OpenedMessage(
    DnsName sender,
    DnsName recipient,
    String text,
    Instant sentAt,
    String id,
    Instant expiresAt,
    Profile profile) {

  /**
   * Whether the message carries its own expiry, so that its id needs to be remembered only until
   * {@link #expiresAt()}: native messages. A legacy message has an id but no expiry.
   */
  public boolean replayCheckable() {
    return profile == Profile.NATIVE;
  }

  @Override
  public String toString() {
    // The text stays out of log lines by default.
    return "OpenedMessage[" + sender + " -> " + recipient + ", " + profile
        + (id == null ? "" : ", id " + id) + ", " + text.length() + " chars]";
  }
}
