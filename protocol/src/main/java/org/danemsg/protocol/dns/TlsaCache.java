package org.danemsg.protocol.dns;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;
import org.danemsg.protocol.DnsName;

/**
 * A bounded, TTL-respecting cache in front of a {@link DaneLookup}, with one query in flight per name.
 *
 * <p>What is kept, and for how long:
 * <ul>
 *   <li>answers with records ({@link LookupResult.Secure}, {@link LookupResult.Unauthenticated},
 *       {@link LookupResult.NoUsableKey}): the RRset TTL, at most {@link Settings#maxPositiveTtl()}
 *       (default 1 hour);
 *   <li>{@link LookupResult.NoSuchName}, {@link LookupResult.NoRecords}, {@link LookupResult.Insecure}
 *       and {@link LookupResult.Bogus}: {@link Settings#negativeTtl()} (default 30 s). Bogus answers
 *       are kept briefly on purpose: the validator already remembers a bad key for 60 s, so asking
 *       again sooner would only repeat the same answer, and a flood of messages naming a bogus sender
 *       must not become a flood of queries;
 *   <li>{@link LookupResult.TransientFailure}: never, so the next caller asks again.
 * </ul>
 * Callers asking for a name whose lookup is already running share that lookup. The blocking lookups
 * run on the given {@link Executor} (a dedicated pool for blocking DNS work); the least recently used
 * entry is dropped beyond {@link Settings#maxEntries()}. Thread-safe.
 */
public final class TlsaCache {

  /**
   * Cache limits and its clock.
   *
   * @param maxPositiveTtl the longest an answer with records is kept, whatever its TTL
   * @param negativeTtl how long a negative, insecure or bogus outcome is kept
   * @param maxEntries the most names kept
   * @param clock the time source (a fixed or manual clock in tests)
   */
  public record Settings(Duration maxPositiveTtl, Duration negativeTtl, int maxEntries, Clock clock) {

    /** Checks the settings. */
    public Settings {
      Objects.requireNonNull(maxPositiveTtl, "maxPositiveTtl");
      Objects.requireNonNull(negativeTtl, "negativeTtl");
      Objects.requireNonNull(clock, "clock");
      if (maxPositiveTtl.isNegative() || negativeTtl.isNegative()) {
        throw new IllegalArgumentException("cache TTLs must not be negative");
      }
      if (maxEntries < 1) {
        throw new IllegalArgumentException("cache size must be at least 1, got " + maxEntries);
      }
    }

    /** 1 hour, 30 s, 10,000 names, the system clock. */
    public static Settings defaults() {
      return new Settings(Duration.ofHours(1), Duration.ofSeconds(30), 10_000, Clock.systemUTC());
    }

    /** These settings with another cap for answers with records. */
    public Settings withMaxPositiveTtl(Duration ttl) {
      return new Settings(ttl, negativeTtl, maxEntries, clock);
    }

    /** These settings with another lifetime for negative, insecure and bogus outcomes. */
    public Settings withNegativeTtl(Duration ttl) {
      return new Settings(maxPositiveTtl, ttl, maxEntries, clock);
    }

    /** These settings with another size bound. */
    public Settings withMaxEntries(int entries) {
      return new Settings(maxPositiveTtl, negativeTtl, entries, clock);
    }

    /** These settings with another clock. */
    public Settings withClock(Clock newClock) {
      return new Settings(maxPositiveTtl, negativeTtl, maxEntries, newClock);
    }
  }

  /**
   * Counters since the cache was made.
   *
   * @param hits lookups answered from the cache
   * @param misses lookups that started a query
   * @param shared lookups that joined a query already in flight
   * @param size names cached now (expired ones included until they are asked for or evicted)
   */
  public record Stats(long hits, long misses, long shared, int size) {}

  private record Entry(LookupResult result, Instant expires) {}

  private final DaneLookup lookup;
  private final Executor executor;
  private final Settings settings;
  private final Map<DnsName, Entry> entries;
  private final Map<DnsName, CompletableFuture<LookupResult>> inFlight = new HashMap<>();
  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder shared = new LongAdder();

  /** A cache with {@link Settings#defaults()}. */
  public TlsaCache(DaneLookup lookup, Executor executor) {
    this(lookup, executor, Settings.defaults());
  }

  /** A cache in front of {@code lookup}, running lookups on {@code executor}. */
  public TlsaCache(DaneLookup lookup, Executor executor, Settings settings) {
    this.lookup = Objects.requireNonNull(lookup, "lookup");
    this.executor = Objects.requireNonNull(executor, "executor");
    this.settings = Objects.requireNonNull(settings, "settings");
    int max = settings.maxEntries();
    this.entries = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<DnsName, Entry> eldest) {
        return size() > max;
      }
    };
  }

  /**
   * The cached outcome for {@code name} if still fresh, else the outcome of a lookup (shared with any
   * caller already waiting for {@code name}). The future fails only if the lookup itself throws, which
   * is a bug.
   */
  public CompletableFuture<LookupResult> lookup(DnsName name) {
    CompletableFuture<LookupResult> started;
    synchronized (this) {
      Entry entry = entries.get(name);
      if (entry != null) {
        if (settings.clock().instant().isBefore(entry.expires())) {
          hits.increment();
          return CompletableFuture.completedFuture(entry.result());
        }
        entries.remove(name);
      }
      CompletableFuture<LookupResult> running = inFlight.get(name);
      if (running != null) {
        shared.increment();
        return running.copy(); // callers cannot complete or cancel the shared one
      }
      misses.increment();
      started = new CompletableFuture<>();
      inFlight.put(name, started);
    }
    try {
      executor.execute(() -> run(name, started));
    } catch (RuntimeException rejected) {
      finish(name, started, null, rejected);
    }
    return started.copy();
  }

  /** {@link #lookup(DnsName)}, waiting for the outcome. */
  public LookupResult lookupBlocking(DnsName name) {
    try {
      return lookup(name).join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeException cause) {
        throw cause;
      }
      throw e;
    }
  }

  /** Forgets {@code name}'s cached outcome (a lookup in flight still completes for its callers). */
  public synchronized void invalidate(DnsName name) {
    entries.remove(name);
  }

  /** Forgets every cached outcome. */
  public synchronized void clear() {
    entries.clear();
  }

  /** The counters so far. */
  public Stats stats() {
    int size;
    synchronized (this) {
      size = entries.size();
    }
    return new Stats(hits.sum(), misses.sum(), shared.sum(), size);
  }

  private void run(DnsName name, CompletableFuture<LookupResult> future) {
    LookupResult result;
    try {
      result = lookup.lookup(name);
    } catch (RuntimeException | Error e) {
      finish(name, future, null, e);
      return;
    }
    finish(name, future, result, null);
  }

  private void finish(DnsName name, CompletableFuture<LookupResult> future, LookupResult result,
      Throwable error) {
    synchronized (this) {
      inFlight.remove(name, future);
      if (result != null) {
        Duration ttl = lifetime(result);
        if (!ttl.isZero()) {
          entries.put(name, new Entry(result, settings.clock().instant().plus(ttl)));
        }
      }
    }
    if (error != null) {
      future.completeExceptionally(error);
    } else {
      future.complete(result);
    }
  }

  private Duration lifetime(LookupResult result) {
    long ttl;
    if (result instanceof LookupResult.Secure secure) {
      ttl = secure.ttlSeconds();
    } else if (result instanceof LookupResult.Unauthenticated unauthenticated) {
      ttl = unauthenticated.ttlSeconds();
    } else if (result instanceof LookupResult.NoUsableKey none) {
      ttl = none.ttlSeconds();
    } else if (result instanceof LookupResult.TransientFailure) {
      return Duration.ZERO;
    } else {
      return settings.negativeTtl();
    }
    Duration rrsetTtl = Duration.ofSeconds(Math.max(0, ttl));
    return rrsetTtl.compareTo(settings.maxPositiveTtl()) < 0 ? rrsetTtl : settings.maxPositiveTtl();
  }
}
