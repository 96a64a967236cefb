package org.danemsg.node;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.danemsg.protocol.OpenedMessage;

/**
 * A member's side of the cluster's replay window: claims a delivered message's sender + id in its
 * {@link ClaimBucket} (by a hash of the key, {@code danemsg.cluster.buckets} buckets) before the
 * Printer records it, and remembers the claims granted to this member until their record is committed
 * ({@link #pendingHere}, for the {@link SeenLookup}). Thread-safe; the stream stages and the parked
 * senders call it.
 */
public final class ReplayClaims {

  /** What a claim needs to know: this member and the timing. */
  public record Settings(String member, int buckets, Duration timeout, Duration legacyWindow, Clock clock) {}

  /** Called with each claim's answer and how long it took (metrics), or nothing. */
  @FunctionalInterface
  public interface Observer {
    /** A claim was answered (or timed out: {@link ClaimBucket.Unavailable}) after {@code nanos}. */
    void answered(ClaimBucket.Answer answer, long nanos);
  }

  private final Settings settings;
  private final Function<String, EntityRef<ClaimBucket.Command>> bucket;
  private final Observer observer;
  /** Keys granted to this member whose record is not committed (yet): key → until (epoch seconds). */
  private final java.util.concurrent.ConcurrentHashMap<String, Long> pending =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicLong lastSweep = new java.util.concurrent.atomic.AtomicLong();
  /** Granted claims are swept of expired ones past this many, at most once a minute. */
  private static final int SWEEP_PAST = 10_000;

  /** Claims through {@code bucket} (the sharding's entity ref for a bucket number). */
  public ReplayClaims(Settings settings, Function<String, EntityRef<ClaimBucket.Command>> bucket, Observer observer) {
    this.settings = settings;
    this.bucket = bucket;
    this.observer = observer;
  }

  /** This member as claims name it: a digest of its MQTT client id (stable across restarts, not the id itself). */
  public static String memberOf(String mqttClientId) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(mqttClientId.getBytes(StandardCharsets.UTF_8));
      return "m-" + HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing", e);
    }
  }

  /** This member's name in claims. */
  public String member() {
    return settings.member();
  }

  /** The replay key of a message: its sender and id. */
  static String keyOf(OpenedMessage m) {
    return m.sender() + " " + m.id();
  }

  /** The bucket of a key: the same on every member (String.hashCode is specified). */
  static String bucketOf(String key, int buckets) {
    return Integer.toString(Math.floorMod(key.hashCode(), buckets));
  }

  /**
   * Claims {@code m} for this member until its expiry (a legacy message: the legacy replay window) plus
   * the clock skew within which the envelope still accepts it, as long as the member's own database keeps
   * its id ({@link MessageStore#SKEW_SECONDS}): a claim that ended at {@code exp} would let another member
   * print a copy that arrives in the last minute. Never fails: no answer in time is {@link ClaimBucket.Unavailable}.
   */
  public CompletionStage<ClaimBucket.Answer> claim(OpenedMessage m) {
    if (m.id() == null) {
      return CompletableFuture.completedFuture(new ClaimBucket.Granted());
    }
    String key = keyOf(m);
    Instant now = settings.clock().instant();
    Instant expires = m.expiresAt() != null ? m.expiresAt() : now.plus(settings.legacyWindow());
    long until = expires.getEpochSecond() + MessageStore.SKEW_SECONDS;
    long sent = m.sentAt() != null ? m.sentAt().getEpochSecond() : ClaimBucket.SENT_UNKNOWN;
    long started = System.nanoTime();
    EntityRef<ClaimBucket.Command> ref = bucket.apply(bucketOf(key, settings.buckets()));
    return ref.<ClaimBucket.Answer>ask((ActorRef<ClaimBucket.Answer> replyTo) -> new ClaimBucket.Claim(key,
            settings.member(), sent, until, replyTo), settings.timeout())
        .exceptionally(error -> new ClaimBucket.Unavailable("no answer from claim bucket "
            + bucketOf(key, settings.buckets()) + " within " + settings.timeout().toMillis() + " ms"))
        .thenApply(answer -> {
          if (answer instanceof ClaimBucket.Granted) {
            granted(key, until, now.getEpochSecond());
          }
          observer.answered(answer, System.nanoTime() - started);
          return answer;
        });
  }

  private void granted(String key, long until, long now) {
    pending.put(key, until);
    long last = lastSweep.get();
    if (pending.size() > SWEEP_PAST && now - last >= 60 && lastSweep.compareAndSet(last, now)) {
      // Claims whose record failed or never came (the message comes again and is claimed again).
      pending.values().removeIf(u -> u < now);
    }
  }

  /** {@code m}'s record is committed (its id is in this member's database): no longer pending. */
  public void recorded(OpenedMessage m) {
    if (m.id() != null) {
      pending.remove(keyOf(m));
    }
  }

  /**
   * Whether {@code key} was granted to this member and its record is not known to be committed: the
   * member may print it (a record that failed keeps it here until it expires: answered as delivered, which
   * keeps another member from printing a copy while this one's comes again).
   */
  public boolean pendingHere(String key) {
    return pending.containsKey(key);
  }
}
