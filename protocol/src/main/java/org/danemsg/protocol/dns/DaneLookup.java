package org.danemsg.protocol.dns;

import java.time.Duration;
import java.util.Objects;
import org.danemsg.protocol.DnsName;

/**
 * Looks up the TLSA records of a name and the keys they carry, validating the answer with DNSSEC.
 *
 * <p>{@link #create(Settings)} gives the real one: dnsjava's {@code ValidatingResolver} in front of
 * one configured server, validating locally against {@link TrustAnchors} (the server itself need not
 * validate). Each call blocks for at most about the configured timeout and never throws for DNS
 * trouble: every outcome is a {@link LookupResult}. Instances are thread-safe. Wrap one in a
 * {@link TlsaCache} to keep repeated lookups off the network.
 *
 * <p>For speed, call {@link org.danemsg.protocol.CryptoProviders#bouncyCastleFirst()} once at
 * start: validated lookups took about half the time with Bouncy Castle first (measured on JDK 17).
 */
@FunctionalInterface
public interface DaneLookup {

  /**
   * The most keys a lookup gives for one name. A receiver tries every key of a sender on each
   * message, so a zone (perhaps the attacker's own) with hundreds of records must not make that
   * costly: 8 RSA-4096 verifications are already some milliseconds per forged message, and a key
   * rollover needs two or three. Further records are not examined and are counted in one unusable
   * entry ("too many records"), which the result's description shows; which keys are kept then
   * depends on the order of the server's answer.
   */
  int MAX_KEYS_PER_NAME = 8;

  /** Looks up {@code name}'s TLSA RRset; blocks until there is an outcome. */
  LookupResult lookup(DnsName name);

  /**
   * Looks {@code name} up as {@link #lookup} does, then validates the answers that lookup got up to
   * {@code rounds} more times from memory (and for at most {@code atMost} in all), without asking the
   * server again and without touching this lookup's caches. What for: a long-running program looks a new
   * name up rarely, so the code of a lookup (parsing, the DNSSEC checks, the certificate) stays
   * interpreted by the JVM, and a new peer's first lookup costs several times what it would compiled;
   * once rehearsed, the JIT has compiled it. Measured (C1 only, a local Knot server, x86): a new name's
   * lookup 3-4 ms before, about 2 ms after 300 rounds, 1.3-1.5 ms after 1,000; 1,000 rounds take
   * about 0.6 s of CPU. A name that does not validate as secure is not rehearsed.
   *
   * @return the rounds rehearsed whose answer validated as secure (0: none, or a lookup without DNSSEC)
   */
  default int warmUp(DnsName name, int rounds, java.time.Duration atMost) {
    lookup(name);
    return 0;
  }

  /** The lookup the settings describe. */
  static DaneLookup create(Settings settings) {
    return new DnsjavaLookup(settings);
  }

  /**
   * How lookups are made.
   *
   * @param server the DNS server asked (a recursive resolver, or the zone's authoritative server)
   * @param trustAnchors what answers are validated against; ignored when {@code dnssecOff}
   * @param timeout the most a lookup may take, including TCP retries and key fetches
   * @param dnssecOff lab mode: no validation at all, keys come back as {@link LookupResult.Unauthenticated}
   */
  record Settings(DnsServer server, TrustAnchors trustAnchors, Duration timeout, boolean dnssecOff) {

    /** The default timeout: 5 seconds. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    /** Checks the settings. */
    public Settings {
      Objects.requireNonNull(server, "server");
      Objects.requireNonNull(timeout, "timeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("DNS timeout must be positive, got " + timeout);
      }
      if (!dnssecOff && trustAnchors == null) {
        throw new IllegalArgumentException("DNSSEC validation needs trust anchors");
      }
    }

    /** Validating lookups through {@code server} against {@code anchors}, default timeout. */
    public static Settings validating(DnsServer server, TrustAnchors anchors) {
      return new Settings(server, anchors, DEFAULT_TIMEOUT, false);
    }

    /** Validating lookups through {@code server} against the IANA root anchors, default timeout. */
    public static Settings validating(DnsServer server) {
      return validating(server, TrustAnchors.ianaRoot());
    }

    /**
     * Lab mode: no DNSSEC validation. Every key found is returned as
     * {@link LookupResult.Unauthenticated}; never use this where an attacker may sit on the path.
     */
    public static Settings withoutDnssec(DnsServer server) {
      return new Settings(server, null, DEFAULT_TIMEOUT, true);
    }

    /** These settings with another timeout. */
    public Settings withTimeout(Duration newTimeout) {
      return new Settings(server, trustAnchors, newTimeout, dnssecOff);
    }

    /** These settings with other trust anchors (and validation on). */
    public Settings withTrustAnchors(TrustAnchors anchors) {
      return new Settings(server, anchors, timeout, false);
    }
  }
}
