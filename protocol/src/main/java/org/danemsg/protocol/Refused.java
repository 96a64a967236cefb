package org.danemsg.protocol;

/**
 * Leaves a chain of checks of a received message at its first failure. Used only inside the opening
 * code of {@link Envelope}, whose public methods turn it into a {@link Envelope.Rejected} value: it
 * never reaches a caller. It carries no stack trace: hostile input makes many of them.
 */
final class Refused extends Exception {

  private final transient Rejection rejection;

  Refused(Rejection.Reason reason, String detail, DnsName sender) {
    super(null, null, false, false);
    this.rejection = new Rejection(reason, detail, sender);
  }

  Refused(Rejection.Reason reason, String detail) {
    this(reason, detail, null);
  }

  Rejection rejection() {
    return rejection;
  }
}
