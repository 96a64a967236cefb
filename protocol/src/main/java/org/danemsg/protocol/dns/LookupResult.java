package org.danemsg.protocol.dns;

import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.SafeText;
import org.danemsg.protocol.TlsaRecord;

/**
 * What a TLSA lookup found, as a value: every outcome a caller must handle, each with the name asked
 * for and the server asked ({@link #describe()} is a ready log line).
 *
 * <p>Only {@link Secure} keys are trustworthy. {@link Unauthenticated} exists only in the lab mode
 * with DNSSEC turned off. {@link TransientFailure} is the one outcome worth retrying soon; the others
 * are answers, and {@link NotAllowed} is a refusal to ask at all.
 *
 * <p>Reasons and details quote what DNS sent (validator reasons, names, record text), so every one
 * is made one safe line of at most {@value #MAX_REASON} characters when the result is made
 * ({@link SafeText}): {@link #describe()} can go to a log or a terminal as it is.
 */
public sealed interface LookupResult {

  /** The longest reason or detail kept, in characters; longer ones are cut, naming what was cut. */
  int MAX_REASON = 1000;

  /** The name that was looked up. */
  DnsName name();

  /**
   * The DNS server that was asked; {@code null} when none was ({@link NotAllowed}, and a
   * {@link TransientFailure.Kind#BUSY} lookup that was not started).
   */
  DnsServer server();

  /**
   * The TLSA records the answer carried: for {@link Secure}, {@link Unauthenticated}, {@link Insecure}
   * and {@link NoUsableKey}; empty for the other outcomes.
   */
  default List<TlsaRecord> records() {
    return List.of();
  }

  /** The keys that may be used for this name: non-empty only for {@link Secure} and {@link Unauthenticated}. */
  default List<PublicKey> usableKeys() {
    return List.of();
  }

  /**
   * The key a sender encrypts to. During a key rollover (RFC 7671 §8.1) a name publishes the current
   * and the next key, and the next one is where its owner is going: of the usable keys that come in a
   * full certificate ({@code 3 0 0}), the one whose certificate is the newest (latest notBefore); when
   * no record carries a certificate date, the last usable key. Empty when there is no usable key.
   */
  default Optional<PublicKey> newestKey() {
    List<PublicKey> keys = usableKeys();
    if (keys.isEmpty()) {
      return Optional.empty();
    }
    List<TlsaRecord> records = records();
    PublicKey newest = null;
    Date newestNotBefore = null;
    for (TlsaRecord record : records) {
      Optional<X509Certificate> certificate = record.certificate();
      if (certificate.isEmpty()) {
        continue;
      }
      byte[] encoded = certificate.get().getPublicKey().getEncoded();
      Date notBefore = certificate.get().getNotBefore();
      for (PublicKey key : keys) {
        // Equal dates: the later record wins, as without dates.
        if (Arrays.equals(key.getEncoded(), encoded)
            && (newestNotBefore == null || !notBefore.before(newestNotBefore))) {
          newest = key;
          newestNotBefore = notBefore;
        }
      }
    }
    return Optional.of(newest != null ? newest : keys.get(keys.size() - 1));
  }

  /** Whether asking again soon may give another outcome (timeouts, SERVFAIL, network errors). */
  default boolean isTransient() {
    return false;
  }

  /** One line for logs and operators: the name, the server, what happened and why. */
  String describe();

  /**
   * DNSSEC-validated TLSA records with at least one usable key.
   *
   * @param records every TLSA record at the name
   * @param usableKeys the keys of the usable records (never empty), in record order
   * @param unusable why each other record cannot be used (empty when all are usable); records past
   *     {@link DaneLookup#MAX_KEYS_PER_NAME} usable keys share one entry
   * @param ttlSeconds the TTL of the TLSA RRset
   */
  record Secure(DnsServer server, DnsName name, List<TlsaRecord> records, List<PublicKey> usableKeys,
      List<String> unusable, long ttlSeconds) implements LookupResult {
    /** Copies the lists. */
    public Secure {
      records = List.copyOf(records);
      usableKeys = List.copyOf(usableKeys);
      unusable = safe(unusable);
      if (usableKeys.isEmpty()) {
        throw new IllegalArgumentException("a Secure result needs a usable key; use NoUsableKey");
      }
    }

    @Override
    public String describe() {
      return name + ": " + keys(usableKeys) + " DNSSEC-validated via " + server + ", TTL "
          + ttlSeconds + " s" + ignored(unusable);
    }
  }

  /**
   * TLSA records read with DNSSEC validation turned off (lab mode): anyone on the path could have
   * forged them. Callers must label everything they derive from these keys as unauthenticated.
   */
  record Unauthenticated(DnsServer server, DnsName name, List<TlsaRecord> records,
      List<PublicKey> usableKeys, List<String> unusable, long ttlSeconds) implements LookupResult {
    /** Copies the lists; makes the reasons safe. */
    public Unauthenticated {
      records = List.copyOf(records);
      usableKeys = List.copyOf(usableKeys);
      unusable = safe(unusable);
    }

    @Override
    public String describe() {
      return name + ": " + keys(usableKeys) + " from " + server
          + " UNAUTHENTICATED (DNSSEC validation is turned off), TTL " + ttlSeconds + " s"
          + ignored(unusable);
    }
  }

  /**
   * The answer was not DNSSEC-signed (the zone is unsigned or lies outside the trust anchors), so its
   * records must not be used.
   */
  record Insecure(DnsServer server, DnsName name, List<TlsaRecord> records, String reason)
      implements LookupResult {
    /** Copies the list; makes the reason safe. */
    public Insecure {
      records = List.copyOf(records);
      reason = safe(Objects.requireNonNull(reason, "reason"));
    }

    @Override
    public String describe() {
      return name + ": DNSSEC insecure answer from " + server + " (" + records.size()
          + " TLSA record(s) not used): " + reason;
    }
  }

  /** DNSSEC validation failed: the answer is forged, broken, or the trust anchor is wrong. */
  record Bogus(DnsServer server, DnsName name, String validatorReason) implements LookupResult {
    /** Makes the reason safe. */
    public Bogus {
      validatorReason = safe(Objects.requireNonNull(validatorReason, "validatorReason"));
    }

    @Override
    public String describe() {
      return name + ": DNSSEC bogus answer from " + server + ": " + validatorReason;
    }
  }

  /**
   * The name does not exist (NXDOMAIN).
   *
   * @param authenticated whether the denial was DNSSEC-validated
   */
  record NoSuchName(DnsServer server, DnsName name, boolean authenticated) implements LookupResult {
    @Override
    public String describe() {
      return name + ": no such name (NXDOMAIN" + (authenticated ? ", DNSSEC-validated" : "")
          + ") at " + server;
    }
  }

  /**
   * The name exists but has no TLSA record (NODATA).
   *
   * @param authenticated whether the denial was DNSSEC-validated
   */
  record NoRecords(DnsServer server, DnsName name, boolean authenticated) implements LookupResult {
    @Override
    public String describe() {
      return name + ": the name exists but has no TLSA record (NODATA"
          + (authenticated ? ", DNSSEC-validated" : "") + ") at " + server;
    }
  }

  /**
   * TLSA records were found (validated, unless DNSSEC is off) but none carries a key this project can
   * use.
   *
   * @param reasons why each record is unusable
   * @param authenticated whether the records were DNSSEC-validated
   */
  record NoUsableKey(DnsServer server, DnsName name, List<TlsaRecord> records, List<String> reasons,
      boolean authenticated, long ttlSeconds) implements LookupResult {
    /** Copies the lists; makes the reasons safe. */
    public NoUsableKey {
      records = List.copyOf(records);
      reasons = safe(reasons);
    }

    @Override
    public String describe() {
      return name + ": " + records.size() + " TLSA record(s)"
          + (authenticated ? " DNSSEC-validated" : " unauthenticated") + " via " + server
          + " but none usable: " + String.join("; ", reasons);
    }
  }

  /**
   * No answer could be had this time; asking again later may work.
   *
   * @param detail what the resolver reported
   */
  record TransientFailure(DnsServer server, DnsName name, Kind kind, String detail)
      implements LookupResult {
    /** Makes the detail safe. */
    public TransientFailure {
      Objects.requireNonNull(kind, "kind");
      detail = safe(Objects.requireNonNull(detail, "detail"));
    }

    /** The kind of transient failure. */
    public enum Kind {
      /** The server did not answer within the timeout. */
      TIMEOUT,
      /** The server answered SERVFAIL (it could not resolve the name itself). */
      SERVFAIL,
      /** The server refused the query (it does not serve that name, or not to us). */
      REFUSED,
      /** Sending or receiving failed (unreachable, connection refused, …). */
      NETWORK,
      /** The answer was malformed or had an unexpected response code. */
      BAD_RESPONSE,
      /**
       * No query was sent: too many lookups were in flight already, in all or under the name's
       * parent zone ({@link TlsaCache.Settings#maxInFlight()}); asking again later may work.
       */
      BUSY
    }

    @Override
    public boolean isTransient() {
      return true;
    }

    @Override
    public String describe() {
      return kind == Kind.BUSY
          ? name + ": DNS lookup not started (BUSY): " + detail
          : name + ": DNS " + kind + " from " + server + ": " + detail;
    }
  }

  /**
   * The name was not looked up because it lies outside the allowed zones ({@link ZoneAllowlist}): an
   * answer, not a failure, so a message claiming such a sender is rejected at once.
   *
   * @param allowedZones the zones that are allowed
   */
  record NotAllowed(DnsName name, ZoneAllowlist allowedZones) implements LookupResult {
    /** Checks the fields. */
    public NotAllowed {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(allowedZones, "allowedZones");
    }

    /** No server was asked: {@code null}. */
    @Override
    public DnsServer server() {
      return null;
    }

    @Override
    public String describe() {
      return name + ": not looked up: the name's zone is not in the allowed zones (" + allowedZones + ")";
    }
  }

  /**
   * {@code text} when it is already one safe line of at most {@link #MAX_REASON} characters, else
   * its escaped form cut to fit (so making a safe text safe again changes nothing).
   */
  private static String safe(String text) {
    return text.length() <= MAX_REASON && SafeText.isSafeLine(text) ? text : SafeText.cut(text, MAX_REASON - 32);
  }

  private static List<String> safe(List<String> texts) {
    return texts.stream().map(LookupResult::safe).toList();
  }

  private static String keys(List<PublicKey> keys) {
    StringBuilder sb = new StringBuilder().append(keys.size()).append(keys.size() == 1 ? " key (" : " keys (");
    for (int i = 0; i < keys.size(); i++) {
      sb.append(i == 0 ? "" : ", ").append(KeyType.describe(keys.get(i)));
    }
    return sb.append(')').toString();
  }

  private static String ignored(List<String> unusable) {
    return unusable.isEmpty() ? "" : "; ignored: " + String.join("; ", unusable);
  }
}
