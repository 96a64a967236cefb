package org.danemsg.node;

import java.util.Collection;
import java.util.Set;
import org.danemsg.protocol.DnsName;

/**
 * The senders that have messages parked, as an immutable snapshot: written only by the actor that owns
 * parking, read by the stream's sender-keys stage, which parks a sender's next message behind the ones
 * waiting (so their order is kept) without asking DNS.
 */
final class ParkedSenders {

  private volatile Set<DnsName> senders = Set.of();

  boolean contains(DnsName sender) {
    Set<DnsName> now = senders;
    return !now.isEmpty() && now.contains(sender);
  }

  /** Replaces the snapshot; only the owner of parking calls this. */
  void replace(Collection<DnsName> parked) {
    senders = Set.copyOf(parked);
  }
}
