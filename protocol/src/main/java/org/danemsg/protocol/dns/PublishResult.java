package org.danemsg.protocol.dns;

import org.danemsg.protocol.DnsName;

/**
 * The outcome of a {@link DnsPublisher} change, as a value: {@link Published} or {@link Failed} with
 * a reason an operator can act on.
 */
public sealed interface PublishResult {

  /** The server the update was sent to. */
  DnsServer server();

  /** The zone named in the update. */
  DnsName zone();

  /** The name whose TLSA records were changed. */
  DnsName name();

  /** Whether the server applied the change. */
  default boolean isPublished() {
    return this instanceof Published;
  }

  /** One line for logs and operators. */
  String describe();

  /**
   * The server applied the change and its reply's TSIG signature checked out.
   *
   * @param change what was done, e.g. {@code replaced TLSA RRset with 3 0 0 3082…}
   */
  record Published(DnsServer server, DnsName zone, DnsName name, String change) implements PublishResult {
    @Override
    public String describe() {
      return name + ": " + change + " (zone " + zone + " at " + server + ")";
    }
  }

  /**
   * The change was not applied, or it cannot be known that it was.
   *
   * @param reason the kind of failure
   * @param message what went wrong and what to check
   */
  record Failed(DnsServer server, DnsName zone, DnsName name, Reason reason, String message)
      implements PublishResult {
    @Override
    public String describe() {
      return name + ": update of zone " + zone + " at " + server + " failed (" + reason + "): " + message;
    }
  }

  /** Why an update failed. */
  enum Reason {
    /** The server refused the update (its ACL/update policy does not allow it). */
    REFUSED,
    /** The server is not authoritative for the zone, or the request was not authorized. */
    NOTAUTH,
    /** The name is not within the zone named in the update. */
    NOTZONE,
    /** The server does not know the TSIG key (name or algorithm). */
    BADKEY,
    /** The TSIG signature did not verify at the server: the secret differs. */
    BADSIG,
    /** The TSIG time check failed: the clocks differ too much. */
    BADTIME,
    /** The server answered SERVFAIL. */
    SERVFAIL,
    /** No answer within the timeout. */
    TIMEOUT,
    /** Sending or receiving failed. */
    NETWORK,
    /** The reply's TSIG signature is missing or did not verify: the reply cannot be trusted. */
    REPLY_NOT_VERIFIED,
    /** Another response code. */
    OTHER
  }
}
