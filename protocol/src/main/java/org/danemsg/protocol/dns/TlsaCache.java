package org.danemsg.protocol.dns;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.security.PublicKey;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.TlsaRecord;

/**
 * A bounded, TTL-respecting cache in front of a {@link DaneLookup}, with one query in flight per name
 * and a bound on the DNS work callers can cause.
 *
 * <p>Callers are assumed hostile: anyone can send a node messages claiming any sender name, and the
 * name is looked up before the signature can be checked. So:
 * <ul>
 *   <li>a name outside {@link Settings#allowedZones()} is answered at once with
 *       {@link LookupResult.NotAllowed}, without a query and without taking a cache slot;
 *   <li>at most {@link Settings#maxInFlight()} names are looked up at a time (queued for the executor
 *       or running), and at most {@link Settings#maxInFlightPerZone()} under one parent zone (the name
 *       without its first label, e.g. {@code _device.example.com}), so a zone whose servers hang
 *       cannot take every lookup. Beyond either cap the answer is at once a
 *       {@link LookupResult.TransientFailure} of kind {@link LookupResult.TransientFailure.Kind#BUSY},
 *       never a queue without bound; it is not cached;
 *   <li>the cache holds at most {@link Settings#maxEntries()} names and about
 *       {@link Settings#maxBytes()} of records and keys, the least recently used dropped first.
 * </ul>
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
 *   <li>{@link LookupResult.TransientFailure} (timeout, SERVFAIL, REFUSED, network, bad response):
 *       {@link Settings#transientTtl()} (default 5 s), for the same reason: a flood of messages from
 *       one name under a zone that refuses or hangs makes at most one query per name per 5 s. Kept
 *       this short because callers retry transient failures (the node's parked messages ask again
 *       after 1 s, 2 s, 4 s … up to 60 s): a retry sees a stale failure for at most 5 s, and the first
 *       retry after that asks DNS again;
 *   <li>BUSY and NotAllowed: never (they say nothing about the name's DNS).
 * </ul>
 * Callers asking for a name whose lookup is already running share that lookup. The blocking lookups
 * run on the given {@link Executor} (a dedicated pool for blocking DNS work). Thread-safe.
 */
public final class TlsaCache {

  /**
   * Cache limits, bounds on lookups in flight, the allowed zones and the clock.
   *
   * @param maxPositiveTtl the longest an answer with records is kept, whatever its TTL
   * @param negativeTtl how long a negative, insecure or bogus outcome is kept
   * @param transientTtl how long a transient failure (timeout, SERVFAIL, REFUSED, …) is kept for its
   *     name; zero turns this off
   * @param maxEntries the most names kept
   * @param maxBytes about the most bytes of records and keys kept (an estimate, not a heap measure);
   *     an answer larger than this is not kept at all
   * @param maxInFlight the most names looked up at a time (waiting for the executor or running)
   * @param maxInFlightPerZone the most names looked up at a time under one parent zone
   * @param allowedZones the zones whose names are looked up ({@link ZoneAllowlist#ALL}: every name)
   * @param clock the time source (a fixed or manual clock in tests)
   */
  public record Settings(Duration maxPositiveTtl, Duration negativeTtl, Duration transientTtl, int maxEntries,
      long maxBytes, int maxInFlight, int maxInFlightPerZone, ZoneAllowlist allowedZones, Clock clock) {

    /** Default {@link #transientTtl()}: 5 s. */
    public static final Duration DEFAULT_TRANSIENT_TTL = Duration.ofSeconds(5);
    /** Default {@link #maxBytes()}: 8 MiB. */
    public static final long DEFAULT_MAX_BYTES = 8L << 20;
    /** Default {@link #maxInFlight()}: 16. */
    public static final int DEFAULT_MAX_IN_FLIGHT = 16;
    /** Default {@link #maxInFlightPerZone()}: 4. */
    public static final int DEFAULT_MAX_IN_FLIGHT_PER_ZONE = 4;

    /** Checks the settings. */
    public Settings {
      Objects.requireNonNull(maxPositiveTtl, "maxPositiveTtl");
      Objects.requireNonNull(negativeTtl, "negativeTtl");
      Objects.requireNonNull(transientTtl, "transientTtl");
      Objects.requireNonNull(allowedZones, "allowedZones");
      Objects.requireNonNull(clock, "clock");
      if (maxPositiveTtl.isNegative() || negativeTtl.isNegative() || transientTtl.isNegative()) {
        throw new IllegalArgumentException("cache TTLs must not be negative");
      }
      if (maxEntries < 1) {
        throw new IllegalArgumentException("cache size must be at least 1, got " + maxEntries);
      }
      if (maxBytes < 1) {
        throw new IllegalArgumentException("cache byte bound must be at least 1, got " + maxBytes);
      }
      if (maxInFlight < 1 || maxInFlightPerZone < 1) {
        throw new IllegalArgumentException("lookups in flight must be allowed at least 1, got "
            + maxInFlight + " in all and " + maxInFlightPerZone + " per zone");
      }
    }

    /**
     * 1 hour, 30 s, 5 s, 10,000 names, 8 MiB, 16 lookups in flight of which 4 per zone, every zone
     * allowed, the system clock.
     */
    public static Settings defaults() {
      return new Settings(Duration.ofHours(1), Duration.ofSeconds(30), DEFAULT_TRANSIENT_TTL, 10_000,
          DEFAULT_MAX_BYTES, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT_PER_ZONE, ZoneAllowlist.ALL,
          Clock.systemUTC());
    }

    /** These settings with another cap for answers with records. */
    public Settings withMaxPositiveTtl(Duration ttl) {
      return new Settings(ttl, negativeTtl, transientTtl, maxEntries, maxBytes, maxInFlight, maxInFlightPerZone,
          allowedZones, clock);
    }

    /** These settings with another lifetime for negative, insecure and bogus outcomes. */
    public Settings withNegativeTtl(Duration ttl) {
      return new Settings(maxPositiveTtl, ttl, transientTtl, maxEntries, maxBytes, maxInFlight, maxInFlightPerZone,
          allowedZones, clock);
    }

    /** These settings with another lifetime for transient failures. */
    public Settings withTransientTtl(Duration ttl) {
      return new Settings(maxPositiveTtl, negativeTtl, ttl, maxEntries, maxBytes, maxInFlight, maxInFlightPerZone,
          allowedZones, clock);
    }

    /** These settings with another size bound. */
    public Settings withMaxEntries(int entries) {
      return new Settings(maxPositiveTtl, negativeTtl, transientTtl, entries, maxBytes, maxInFlight,
          maxInFlightPerZone, allowedZones, clock);
    }

    /** These settings with another bound on the bytes kept. */
    public Settings withMaxBytes(long bytes) {
      return new Settings(maxPositiveTtl, negativeTtl, transientTtl, maxEntries, bytes, maxInFlight,
          maxInFlightPerZone, allowedZones, clock);
    }

    /** These settings with other bounds on lookups in flight, in all and per parent zone. */
    public Settings withMaxInFlight(int total, int perZone) {
      return new Settings(maxPositiveTtl, negativeTtl, transientTtl, maxEntries, maxBytes, total, perZone,
          allowedZones, clock);
    }

    /** These settings with other allowed zones. */
    public Settings withAllowedZones(ZoneAllowlist zones) {
      return new Settings(maxPositiveTtl, negativeTtl, transientTtl, maxEntries, maxBytes, maxInFlight,
          maxInFlightPerZone, zones, clock);
    }

    /** These settings with another clock. */
    public Settings withClock(Clock newClock) {
      return new Settings(maxPositiveTtl, negativeTtl, transientTtl, maxEntries, maxBytes, maxInFlight,
          maxInFlightPerZone, allowedZones, newClock);
    }
  }

  /**
   * Counters since the cache was made, and its present size.
   *
   * @param hits lookups answered from the cache
   * @param misses lookups that started a query
   * @param shared lookups that joined a query already in flight
   * @param busy lookups answered BUSY because too many were in flight
   * @param notAllowed lookups of names outside the allowed zones
   * @param inFlight names being looked up now
   * @param size names cached now (expired ones included until they are asked for or evicted)
   * @param bytes the estimated bytes of the records and keys cached now
   */
  public record Stats(long hits, long misses, long shared, long busy, long notAllowed, int inFlight, int size,
      long bytes) {}

  private record Entry(LookupResult result, Instant expires, long bytes) {}

  private final DaneLookup lookup;
  private final Executor executor;
  private final Settings settings;
  /** Least recently used first; bounded by {@link #store}, not by the map itself. */
  private final Map<DnsName, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
  private long bytes;
  private final Map<DnsName, CompletableFuture<LookupResult>> inFlight = new HashMap<>();
  private final Map<DnsName, Integer> inFlightPerZone = new HashMap<>();
  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder shared = new LongAdder();
  private final LongAdder busy = new LongAdder();
  private final LongAdder notAllowed = new LongAdder();

  /** A cache with {@link Settings#defaults()}. */
  public TlsaCache(DaneLookup lookup, Executor executor) {
    this(lookup, executor, Settings.defaults());
  }

  /** A cache in front of {@code lookup}, running lookups on {@code executor}. */
  public TlsaCache(DaneLookup lookup, Executor executor, Settings settings) {
    this.lookup = Objects.requireNonNull(lookup, "lookup");
    this.executor = Objects.requireNonNull(executor, "executor");
    this.settings = Objects.requireNonNull(settings, "settings");
  }
  /** The limits this cache works within. */
  public Settings settings() {
    return settings;
  }


  /**
   * The cached outcome for {@code name} if still fresh, else the outcome of a lookup (shared with any
   * caller already waiting for {@code name}); at once {@link LookupResult.NotAllowed} for a name
   * outside the allowed zones, and a BUSY {@link LookupResult.TransientFailure} when too many lookups
   * are in flight. The future fails only if the lookup itself throws, which is a bug.
   */
  public CompletableFuture<LookupResult> lookup(DnsName name) {
    if (!settings.allowedZones().allows(name)) {
      notAllowed.increment();
      return CompletableFuture.completedFuture(new LookupResult.NotAllowed(name, settings.allowedZones()));
    }
    CompletableFuture<LookupResult> started;
    synchronized (this) {
      LookupResult known = freshHit(name);
      if (known != null) {
        return CompletableFuture.completedFuture(known);
      }
      CompletableFuture<LookupResult> running = inFlight.get(name);
      if (running != null) {
        shared.increment();
        return running.copy(); // callers cannot complete or cancel the shared one
      }
      String tooMany = tooManyInFlight(name);
      if (tooMany != null) {
        busy.increment();
        return CompletableFuture.completedFuture(new LookupResult.TransientFailure(null, name,
            LookupResult.TransientFailure.Kind.BUSY, tooMany));
      }
      misses.increment();
      started = new CompletableFuture<>();
      inFlight.put(name, started);
      inFlightPerZone.merge(zoneOf(name), 1, Integer::sum);
    }
    try {
      executor.execute(() -> run(name, started));
    } catch (RuntimeException rejected) {
      finish(name, started, null, rejected);
    }
    return started.copy();
  }

  /**
   * The cached outcome for {@code name} if there is a fresh one (counted as a hit), else empty, without
   * starting a lookup (an expired entry is dropped, as {@link #lookup} drops it): for callers that do
   * something else on a miss (then {@link #lookup} counts it).
   */
  public java.util.Optional<LookupResult> cached(DnsName name) {
    if (!settings.allowedZones().allows(name)) {
      return java.util.Optional.empty();
    }
    synchronized (this) {
      return java.util.Optional.ofNullable(freshHit(name));
    }
  }

  /** The fresh cached outcome for {@code name}, counted as a hit; else null (an expired entry goes). Locked. */
  private LookupResult freshHit(DnsName name) {
    Entry entry = entries.get(name);
    if (entry == null) {
      return null;
    }
    if (!settings.clock().instant().isBefore(entry.expires())) {
      remove(name);
      return null;
    }
    hits.increment();
    return entry.result();
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
    remove(name);
  }

  /** Forgets every cached outcome. */
  public synchronized void clear() {
    entries.clear();
    bytes = 0;
  }

  /** The counters so far. */
  public Stats stats() {
    int size;
    int running;
    long cachedBytes;
    synchronized (this) {
      size = entries.size();
      running = inFlight.size();
      cachedBytes = bytes;
    }
    return new Stats(hits.sum(), misses.sum(), shared.sum(), busy.sum(), notAllowed.sum(), running, size,
        cachedBytes);
  }

  /** Why a lookup of {@code name} may not start now, or {@code null} when it may. */
  private String tooManyInFlight(DnsName name) {
    if (inFlight.size() >= settings.maxInFlight()) {
      return "too many DNS lookups in flight (" + settings.maxInFlight() + "); retried later";
    }
    DnsName zone = zoneOf(name);
    if (inFlightPerZone.getOrDefault(zone, 0) >= settings.maxInFlightPerZone()) {
      return "too many DNS lookups in flight under " + zone + " (" + settings.maxInFlightPerZone()
          + "); retried later";
    }
    return null;
  }

  /** The name without its first label: the devices of one fleet share it. */
  private static DnsName zoneOf(DnsName name) {
    DnsName parent = name.parent();
    return parent != null ? parent : name;
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
      if (inFlight.remove(name, future)) {
        inFlightPerZone.computeIfPresent(zoneOf(name), (zone, count) -> count > 1 ? count - 1 : null);
      }
      if (result != null) {
        Duration ttl = lifetime(result);
        if (!ttl.isZero()) {
          store(name, new Entry(result, settings.clock().instant().plus(ttl), estimatedBytes(result)));
        }
      }
    }
    if (error != null) {
      future.completeExceptionally(error);
    } else {
      future.complete(result);
    }
  }

  /** Keeps {@code entry}, then drops the least recently used names beyond the bounds. */
  private void store(DnsName name, Entry entry) {
    remove(name);
    if (entry.bytes() > settings.maxBytes()) {
      return; // it would push out everything else
    }
    entries.put(name, entry);
    bytes += entry.bytes();
    Iterator<Entry> eldest = entries.values().iterator();
    while (entries.size() > settings.maxEntries() || bytes > settings.maxBytes()) {
      bytes -= eldest.next().bytes();
      eldest.remove();
    }
  }

  private void remove(DnsName name) {
    Entry removed = entries.remove(name);
    if (removed != null) {
      bytes -= removed.bytes();
    }
  }

  /**
   * About what an outcome holds on to: its records' data, its keys (about twice their encoding, for
   * the decoded numbers) and a fixed share for the objects around them. An estimate that grows with
   * what a zone can make a node keep, not a heap measure.
   */
  private static long estimatedBytes(LookupResult result) {
    long total = 256;
    for (TlsaRecord record : result.records()) {
      total += 64 + record.dataLength();
    }
    for (PublicKey key : result.usableKeys()) {
      byte[] encoded = key.getEncoded();
      total += 128 + 2L * (encoded == null ? 0 : encoded.length);
    }
    return total;
  }

  private Duration lifetime(LookupResult result) {
    long ttl;
    if (result instanceof LookupResult.Secure secure) {
      ttl = secure.ttlSeconds();
    } else if (result instanceof LookupResult.Unauthenticated unauthenticated) {
      ttl = unauthenticated.ttlSeconds();
    } else if (result instanceof LookupResult.NoUsableKey none) {
      ttl = none.ttlSeconds();
    } else if (result instanceof LookupResult.TransientFailure failure) {
      return failure.kind() == LookupResult.TransientFailure.Kind.BUSY ? Duration.ZERO : settings.transientTtl();
    } else if (result instanceof LookupResult.NotAllowed) {
      return Duration.ZERO;
    } else {
      return settings.negativeTtl();
    }
    Duration rrsetTtl = Duration.ofSeconds(Math.max(0, ttl));
    return rrsetTtl.compareTo(settings.maxPositiveTtl()) < 0 ? rrsetTtl : settings.maxPositiveTtl();
  }
}
