package org.danemsg.protocol.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.TlsaRecord;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.ManualClock;
import org.danemsg.testing.TestCertificates;
import org.danemsg.testing.TestCertificates.Identity;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class TlsaCacheTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();

  private final DaneLookup real = DaneLookup.create(knot.lookupSettings());
  private final AtomicInteger queries = new AtomicInteger();
  private final DaneLookup counted = name -> {
    queries.incrementAndGet();
    return real.lookup(name);
  };
  private final ManualClock clock = ManualClock.atNow();
  private final ExecutorService dnsPool = Executors.newFixedThreadPool(4);
  private final TlsaCache cache =
      new TlsaCache(counted, dnsPool, TlsaCache.Settings.defaults().withClock(clock));

  @AfterEach
  void stopPool() {
    dnsPool.shutdownNow();
  }

  @Test
  void answersARepeatedLookupFromTheCacheWithoutAQuery() {
    Identity alice = published("alice");

    LookupResult first = cache.lookupBlocking(alice.name());
    LookupResult second = cache.lookupBlocking(alice.name());

    assertInstanceOf(LookupResult.Secure.class, first, first.describe());
    assertSame(first, second);
    assertEquals(1, queries.get());
    assertEquals(new TlsaCache.Stats(1, 1, 0, 1), cache.stats());
  }

  @Test
  void queriesAgainOnceTheRecordTtlHasPassed() {
    Identity bob = published("bob");
    cache.lookupBlocking(bob.name());

    clock.advance(Duration.ofSeconds(59));
    cache.lookupBlocking(bob.name());
    assertEquals(1, queries.get(), "still fresh one second before the 60 s TTL ends");

    clock.advance(Duration.ofSeconds(1));
    LookupResult again = cache.lookupBlocking(bob.name());
    assertEquals(2, queries.get());
    assertInstanceOf(LookupResult.Secure.class, again, again.describe());
  }

  @Test
  void capsTheLifetimeOfAnAnswerAtTheConfiguredMaximum() {
    Identity carol = published("carol");
    TlsaCache shortLived = new TlsaCache(counted, dnsPool,
        TlsaCache.Settings.defaults().withClock(clock).withMaxPositiveTtl(Duration.ofSeconds(10)));
    shortLived.lookupBlocking(carol.name());

    clock.advance(Duration.ofSeconds(10));
    shortLived.lookupBlocking(carol.name());

    assertEquals(2, queries.get());
  }

  @Test
  void keepsANegativeAnswerForTheNegativeTtl() {
    DnsName nobody = knot.uniqueName("nobody");
    cache.lookupBlocking(nobody);
    clock.advance(Duration.ofSeconds(29));
    assertInstanceOf(LookupResult.NoSuchName.class, cache.lookupBlocking(nobody));
    assertEquals(1, queries.get());

    clock.advance(Duration.ofSeconds(1));
    cache.lookupBlocking(nobody);

    assertEquals(2, queries.get());
  }

  @Test
  void neverKeepsATransientFailure() {
    DnsName dave = knot.uniqueName("dave");
    DaneLookup failing = name -> {
      queries.incrementAndGet();
      return new LookupResult.TransientFailure(knot.server(), name,
          LookupResult.TransientFailure.Kind.TIMEOUT, "no answer");
    };
    TlsaCache failingCache = new TlsaCache(failing, dnsPool, TlsaCache.Settings.defaults().withClock(clock));

    failingCache.lookupBlocking(dave);
    failingCache.lookupBlocking(dave);

    assertEquals(2, queries.get());
  }

  @Test
  void sharesOneQueryAmongConcurrentLookupsOfOneName() throws Exception {
    Identity erin = published("erin");
    CountDownLatch release = new CountDownLatch(1);
    DaneLookup gated = name -> {
      queries.incrementAndGet();
      await(release);
      return real.lookup(name);
    };
    TlsaCache gatedCache = new TlsaCache(gated, dnsPool, TlsaCache.Settings.defaults().withClock(clock));

    List<CompletableFuture<LookupResult>> waiting = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      waiting.add(gatedCache.lookup(erin.name()));
    }
    release.countDown();

    for (CompletableFuture<LookupResult> future : waiting) {
      LookupResult result = future.get(5, TimeUnit.SECONDS);
      assertInstanceOf(LookupResult.Secure.class, result, result.describe());
    }
    assertEquals(1, queries.get());
    assertEquals(new TlsaCache.Stats(0, 1, 19, 1), gatedCache.stats());
  }

  @Test
  void dropsTheLeastRecentlyUsedNameBeyondTheSizeBound() {
    Identity frank = published("frank");
    Identity grace = published("grace");
    Identity heidi = published("heidi");
    TlsaCache small = new TlsaCache(counted, dnsPool,
        TlsaCache.Settings.defaults().withClock(clock).withMaxEntries(2));
    small.lookupBlocking(frank.name());
    small.lookupBlocking(grace.name());
    small.lookupBlocking(frank.name()); // frank is now the most recently used

    small.lookupBlocking(heidi.name()); // evicts grace
    small.lookupBlocking(frank.name());
    small.lookupBlocking(grace.name());

    assertEquals(4, queries.get(), "frank, grace, heidi, then grace again");
    assertEquals(2, small.stats().size());
  }

  @Test
  void forgetsAnInvalidatedName() {
    Identity ivan = published("ivan");
    cache.lookupBlocking(ivan.name());

    cache.invalidate(ivan.name());
    cache.lookupBlocking(ivan.name());

    assertEquals(2, queries.get());
  }

  @Test
  void failsTheFutureWhenTheLookupItselfThrows() {
    TlsaCache broken = new TlsaCache(name -> {
      throw new IllegalStateException("bug");
    }, dnsPool);

    CompletableFuture<LookupResult> future = broken.lookup(DnsName.parse("judy.example.test"));

    assertTrue(future.handle((ok, error) -> error != null).join());
    assertEquals(0, broken.stats().size());
  }

  private Identity published(String label) {
    Identity identity = TestCertificates.ec(knot.uniqueName(label));
    knot.publish(identity.name(), TlsaRecord.of(identity.certificate()));
    return identity;
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("the test never released the lookup");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
