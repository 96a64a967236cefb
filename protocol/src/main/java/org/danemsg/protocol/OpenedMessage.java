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
 * @param id the sender's {@code jti}; {@code null} for legacy messages
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

  /** Whether the message carries freshness and an id, so replays of it can be detected. */
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
