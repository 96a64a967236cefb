package org.danemsg.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.danemsg.protocol.CryptoProviders;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.TlsaRecord;
import org.danemsg.protocol.dns.DaneLookup;
import org.danemsg.protocol.dns.LookupResult;
import org.danemsg.protocol.dns.PublishResult;
import org.danemsg.protocol.dns.TlsaCache;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.TestCertificates;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * TLSA lookups of EC identities against a real knotd on loopback (started for the trial, signed zone
 * {@code example.test}, validated against its DS):
 *
 * <ul>
 *   <li>{@code cachedLookup}: a {@link TlsaCache} hit, what the node pays per message once it knows
 *       the sender;
 *   <li>{@code validatedLookup}: a new DNS query and validation of the TLSA RRset's RRSIG through one
 *       long-lived {@link DaneLookup} whose validator already holds the zone's keys (a peer not in
 *       the cache);
 *   <li>{@code coldLookup}: a new {@link DaneLookup} per call, so the zone's DNSKEY is fetched and
 *       checked against the anchor too: the "first message to a new peer" of the design's targets.
 * </ul>
 *
 * The lookups rotate over {@value #NAMES} names. Each invocation checks that the answer is Secure, so
 * a broken setup fails instead of measuring errors.
 */
@State(Scope.Benchmark)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class LookupBench {

  private static final int NAMES = 64;

  /**
   * Whether Bouncy Castle is made the first JCA provider (what the node does), which dnsjava's
   * validator then uses for its signature checks. {@code -p bouncyCastleFirst=true,false} compares.
   */
  @Param({"true"})
  public boolean bouncyCastleFirst;

  private KnotServer knot;
  private ExecutorService dnsPool;
  private DaneLookup.Settings settings;
  private DaneLookup warmLookup;
  private TlsaCache cache;
  private final List<DnsName> names = new ArrayList<>();
  private int next;

  @Setup(Level.Trial)
  public void startKnotAndPublish() {
    if (bouncyCastleFirst) {
      CryptoProviders.bouncyCastleFirst();
    }
    knot = KnotServer.startNow();
    // A day's TTL, so no cache entry expires during the trial and cachedLookup measures only hits
    Duration ttl = Duration.ofDays(1);
    for (int i = 0; i < NAMES; i++) {
      TestCertificates.Identity identity = TestCertificates.ec(knot.uniqueName("peer"));
      PublishResult published = knot.publisher().withTtl(ttl)
          .replace(identity.name(), TlsaRecord.of(identity.certificate()));
      if (!published.isPublished()) {
        throw new IllegalStateException("cannot publish the benchmark's names: " + published.describe());
      }
      names.add(identity.name());
    }
    settings = knot.lookupSettings();
    warmLookup = DaneLookup.create(settings);
    dnsPool = Executors.newFixedThreadPool(2);
    cache = new TlsaCache(warmLookup, dnsPool, TlsaCache.Settings.defaults().withMaxPositiveTtl(ttl));
    for (DnsName name : names) {
      secure(cache.lookupBlocking(name));
    }
  }

  @TearDown(Level.Trial)
  public void stopKnot() {
    long misses = cache.stats().misses();
    dnsPool.shutdownNow();
    knot.close();
    if (misses != NAMES) {
      // the cached figures then include real lookups
      System.err.println("LookupBench: the cache missed " + (misses - NAMES) + " time(s) during the trial");
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.AverageTime)
  public LookupResult cachedLookup() {
    return secure(cache.lookupBlocking(nextName()));
  }

  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  public LookupResult validatedLookup() {
    return secure(warmLookup.lookup(nextName()));
  }

  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  public LookupResult coldLookup() {
    return secure(DaneLookup.create(settings).lookup(nextName()));
  }

  private DnsName nextName() {
    next = (next + 1) % NAMES;
    return names.get(next);
  }

  private static LookupResult secure(LookupResult result) {
    if (!(result instanceof LookupResult.Secure)) {
      throw new IllegalStateException("expected a secure answer: " + result.describe());
    }
    return result;
  }
}
