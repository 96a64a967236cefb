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
 * Printer records it. Thread-safe; the stream stages and the parked senders call it.
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

  /** Seeds bucket {@code bucket} with this member's own earlier deliveries (key → until, epoch seconds). */
  CompletionStage<ClaimBucket.Seeded> seed(String bucket, java.util.Map<String, Long> untilByKey) {
    return this.bucket.apply(bucket).<ClaimBucket.Seeded>ask((ActorRef<ClaimBucket.Seeded> replyTo) ->
        new ClaimBucket.Seed(settings.member(), untilByKey, replyTo), settings.timeout().multipliedBy(2));
  }

  /** How many buckets the window has. */
  int buckets() {
    return settings.buckets();
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
    long started = System.nanoTime();
    EntityRef<ClaimBucket.Command> ref = bucket.apply(bucketOf(key, settings.buckets()));
    return ref.<ClaimBucket.Answer>ask((ActorRef<ClaimBucket.Answer> replyTo) -> new ClaimBucket.Claim(key,
            settings.member(), until, replyTo), settings.timeout())
        .exceptionally(error -> new ClaimBucket.Unavailable("no answer from claim bucket "
            + bucketOf(key, settings.buckets()) + " within " + settings.timeout().toMillis() + " ms"))
        .thenApply(answer -> {
          observer.answered(answer, System.nanoTime() - started);
          return answer;
        });
  }
}
