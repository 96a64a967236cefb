package org.danemsg.protocol;

/**
 * Why a payload was not accepted. The {@link Reason} is stable (for counters and tests), the detail
 * is for people.
 *
 * @param reason the kind of failure
 * @param detail what exactly was wrong, readable by an operator
 * @param sender the claimed sender when it was known before the failure, else {@code null}; it is not
 *     authenticated unless the reason comes after signature verification
 */
public record Rejection(Reason reason, String detail, DnsName sender) {

  /** The detail is made safe here, once: it often quotes the hostile input that caused it. */
  public Rejection {
    java.util.Objects.requireNonNull(reason, "reason");
    detail = SafeText.detail(detail);
  }

  /** The kinds of rejection, in the order the checks run. */
  public enum Reason {
    /** The payload is larger than the configured limit; checked before any parsing. */
    TOO_LARGE,
    /** The payload is empty. */
    EMPTY,
    /**
     * The payload is not a JWE in any accepted serialization: not UTF-8, not JSON, a JWE protected
     * header that is no JSON object (a duplicate member, say), or a malformed {@code epk}.
     */
    NOT_A_JWE,
    /** The payload is a signed but unencrypted JWS. */
    NOT_ENCRYPTED,
    /**
     * The JWE or JWS uses a serialization, a header member or a header value ({@code crit}, {@code typ},
     * {@code cty}) this reader does not accept.
     */
    UNSUPPORTED_SERIALIZATION,
    /** The JWE {@code alg}, {@code enc} or {@code zip} is not on the allow-list. */
    ENCRYPTION_ALGORITHM_NOT_ALLOWED,
    /** The JWE's {@code x5u} or {@code kid} names another recipient or a key this node does not hold. */
    NOT_FOR_THIS_NODE,
    /** Decryption failed (wrong key, or the ciphertext or header was changed). */
    DECRYPTION_FAILED,
    /** The decrypted content is not a JWS, or its protected header is no JSON object. */
    CONTENT_NOT_A_JWS,
    /**
     * A legacy-format message carries a native message's signed claims (its JWS says {@code typ} JWT,
     * or signs a JSON object with native claims): someone who could decrypt a native message re-wrapped
     * its signed part in the legacy format, which has no recipient or expiry to check.
     */
    LEGACY_DOWNGRADE,
    /** The JWS {@code alg} is not on the allow-list. */
    SIGNATURE_ALGORITHM_NOT_ALLOWED,
    /** The JWS has no {@code x5u} naming its sender. */
    SENDER_URI_MISSING,
    /** The JWS {@code x5u} is not an accepted {@code dns:} URI. */
    SENDER_URI_INVALID,
    /**
     * A message in the legacy format claims a sender that is not a configured legacy peer
     * ({@link Envelope.Settings#legacyPeers()}, the node's {@code LEGACY_PEERS}).
     */
    LEGACY_NOT_ALLOWED,
    /** No validated key of the sender could be had (no TLSA record, DNSSEC failure, DNS down). */
    SENDER_KEYS_UNAVAILABLE,
    /**
     * The signature does not verify under any usable key published for the sender (at most the first
     * {@value Envelope#MAX_KEYS_TRIED} are tried; RSA keys outside 2048..4096 bits are not used).
     */
    SIGNATURE_INVALID,
    /**
     * The claims are not a JSON object, lack a claim, hold an unknown one or one of the wrong type or
     * range, or the {@code jti} is not a safe message id; for a legacy message, its text is not UTF-8.
     */
    CLAIMS_INVALID,
    /** {@code iss} differs from the name in the JWS {@code x5u}. */
    ISSUER_MISMATCH,
    /** {@code aud} is not this node. */
    AUDIENCE_MISMATCH,
    /** {@code exp} has passed (beyond the allowed clock skew). */
    EXPIRED,
    /** {@code iat} lies in the future (beyond the allowed clock skew). */
    ISSUED_IN_FUTURE
  }

  /** A rejection with no known sender. */
  public static Rejection of(Reason reason, String detail) {
    return new Rejection(reason, detail, null);
  }

  @Override
  public String toString() {
    return reason + ": " + detail + (sender == null ? "" : " (sender " + sender + ")");
  }
}
