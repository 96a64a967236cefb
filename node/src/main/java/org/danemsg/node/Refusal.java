package org.danemsg.node;

import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.Rejection;

/**
 * Why the node did not deliver a message: every {@link Rejection.Reason} of the envelope, plus the
 * node's own {@link #REPLAY} and {@link #SENDER_DNS_UNAVAILABLE}. The reason is a stable code (for
 * counters, the quarantine file and tests), the detail is for people.
 *
 * @param sender the claimed sender when known, else {@code null}
 */
public record Refusal(String reason, String detail, DnsName sender) {

  /** The detail is made safe once, here: it may quote what a message or a DNS answer held. */
  public Refusal {
    detail = org.danemsg.protocol.SafeText.detail(detail);
  }

  /** The message (sender + id) was delivered already: a replayed capture or a QoS 1 redelivery. */
  public static final String REPLAY = "REPLAY";
  /**
   * The message could not be recorded for a reason that was not a condition of the disk: it is
   * quarantined (with its payload) rather than left to come back first forever.
   */
  public static final String UNRECORDABLE = "UNRECORDABLE";
  /** The parking space (in total, or this sender's share of it) was full when DNS was down. */
  public static final String PARKING_FULL = "PARKING_FULL";
  /** The claimed sender's name is outside {@code dns.allowed-zones}: not looked up at all. */
  public static final String SENDER_ZONE_NOT_ALLOWED = "SENDER_ZONE_NOT_ALLOWED";
  /** The message arrived on a topic other than this node's name. */
  public static final String WRONG_TOPIC = "WRONG_TOPIC";
  /** DNS stayed transiently unavailable for the sender until the parking limit ran out. */
  public static final String SENDER_DNS_UNAVAILABLE = "SENDER_DNS_UNAVAILABLE";

  /** The refusal for an envelope's rejection. */
  public static Refusal of(Rejection rejection) {
    return new Refusal(rejection.reason().name(), rejection.detail(), rejection.sender());
  }

  @Override
  public String toString() {
    return reason + (sender == null ? "" : " from " + sender) + ": " + detail;
  }
}
