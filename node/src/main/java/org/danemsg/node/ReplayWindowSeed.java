package org.danemsg.node;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;

/**
 * A member's replay window, given to the cluster when it starts, before it connects to the broker: each
 * id its own database delivered and still remembers (table {@code seen}, until the message expires)
 * becomes its claim in the cluster's window where the window has none. The cluster's window lives in
 * memory (Distributed Data); after every member was stopped it is empty, and the members' databases
 * are its durable copy. A member whose seed cannot be written (no majority) keeps trying and does not
 * connect meanwhile.
 */
final class ReplayWindowSeed {

  private static final Logger LOG = LoggerFactory.getLogger(ReplayWindowSeed.class);
  /** Claims per seed message: a few tens of KB on the wire. */
  static final int BATCH = 500;
  private static final Duration RETRY_AFTER = Duration.ofSeconds(1);

  private ReplayWindowSeed() {}

  /** Reads {@code dataPath}'s window on {@code blocking} and seeds it; completes with the ids sent. */
  static CompletionStage<Integer> run(Path dataPath, ReplayClaims claims, Executor blocking, Clock clock) {
    long started = System.nanoTime();
    return CompletableFuture.supplyAsync(() -> read(dataPath, clock.instant().getEpochSecond(), claims.buckets()),
            blocking)
        .thenCompose(byBucket -> {
          List<CompletableFuture<Integer>> seeds = new ArrayList<>();
          int ids = 0;
          for (Map.Entry<String, Map<String, Long>> bucket : byBucket.entrySet()) {
            List<Map.Entry<String, Long>> entries = new ArrayList<>(bucket.getValue().entrySet());
            ids += entries.size();
            for (int from = 0; from < entries.size(); from += BATCH) {
              Map<String, Long> batch = new HashMap<>();
              entries.subList(from, Math.min(entries.size(), from + BATCH)).forEach(e -> batch.put(e.getKey(),
                  e.getValue()));
              seeds.add(seed(claims, bucket.getKey(), batch, blocking, 1).toCompletableFuture());
            }
          }
          int total = ids;
          return CompletableFuture.allOf(seeds.toArray(CompletableFuture[]::new)).thenApply(done -> {
            int added = seeds.stream().mapToInt(CompletableFuture::join).sum();
            LOG.info("replay window given to the cluster: {} id(s) this member delivered and still remembers, {} of"
                + " them new to the cluster's window, {} ms", total, added, (System.nanoTime() - started) / 1_000_000);
            return total;
          });
        });
  }

  /** One WARN a batch when its first try fails, then one a minute: every bucket's batch fails alike. */
  private static final int WARN_EVERY_ATTEMPTS = 60;

  private static CompletionStage<Integer> seed(ReplayClaims claims, String bucket, Map<String, Long> batch,
      Executor blocking, int attempt) {
    return claims.seed(bucket, batch).thenApply(ClaimBucket.Seeded::added).exceptionallyCompose(error -> {
      if (attempt % WARN_EVERY_ATTEMPTS == 1) {
        LOG.warn("cannot give {} id(s) of this member's replay window to claim bucket {} ({}, attempt {}); not"
            + " connecting to the broker yet, retrying every {} s", batch.size(), bucket,
            error.getClass().getSimpleName(), attempt, RETRY_AFTER.toSeconds());
      } else {
        LOG.debug("replay window for claim bucket {}: attempt {} failed too ({})", bucket, attempt,
            error.getClass().getSimpleName());
      }
      return CompletableFuture.supplyAsync(() -> 0, CompletableFuture.delayedExecutor(RETRY_AFTER.toMillis(),
          TimeUnit.MILLISECONDS, blocking)).thenCompose(x -> seed(claims, bucket, batch, blocking, attempt + 1));
    });
  }

  /** The unexpired ids of {@code dataPath}'s database, by bucket: key (sender id) → until (epoch seconds). */
  private static Map<String, Map<String, Long>> read(Path dataPath, long now, int buckets) {
    Map<String, Map<String, Long>> byBucket = new HashMap<>();
    SQLiteConfig config = new SQLiteConfig();
    config.setReadOnly(true);
    config.setBusyTimeout(10_000);
    Path file = dataPath.resolve(MessageStore.FILE).toAbsolutePath();
    try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file, config.toProperties());
        PreparedStatement select = db.prepareStatement("SELECT sender, id, until FROM seen WHERE until >= ?")) {
      select.setLong(1, now);
      try (ResultSet rows = select.executeQuery()) {
        while (rows.next()) {
          String key = rows.getString(1) + " " + rows.getString(2);
          byBucket.computeIfAbsent(ReplayClaims.bucketOf(key, buckets), b -> new HashMap<>()).put(key, rows.getLong(3));
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException("reading the replay window in " + file + ": " + MessageStore.describe(e), e);
    }
    return byBucket;
  }
}
