package org.danemsg.protocol.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
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
import org.danemsg.protocol.dns.LookupResult.TransientFailure;
import org.danemsg.protocol.dns.LookupResult.TransientFailure.Kind;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.ManualClock;
import org.danemsg.testing.TestCertificates;
import org.danemsg.testing.TestCertificates.Identity;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

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
    TlsaCache.Stats stats = cache.stats();
    assertEquals(List.of(1L, 1L, 0L, 1), List.of(stats.hits(), stats.misses(), stats.shared(), stats.size()));
  }

  @Test
  void givesAFreshCachedAnswerWithoutEverStartingALookup() {
    Identity alice = published("alice");

    assertEquals(java.util.Optional.empty(), cache.cached(alice.name()), "nothing known yet");
    assertEquals(0, queries.get(), "cached() does not query");
    LookupResult looked = cache.lookupBlocking(alice.name());

    assertSame(looked, cache.cached(alice.name()).orElseThrow());
    assertEquals(1, queries.get());
    assertEquals(List.of(1L, 1L), List.of(cache.stats().hits(), cache.stats().misses()));
    clock.advance(Duration.ofSeconds(60));
    assertEquals(java.util.Optional.empty(), cache.cached(alice.name()), "expired with the record's 60 s TTL");
    assertEquals(1, queries.get());
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
  void keepsARefusedAnswerSoAFloodOfLookupsOfOneNameMakesOneQuery() throws IOException {
    try (MisbehavingDnsServer server = MisbehavingDnsServer.start(TlsaCacheTest::refused)) {
      TlsaCache refusedCache = new TlsaCache(DaneLookup.create(settingsFor(server)), dnsPool,
          TlsaCache.Settings.defaults().withClock(clock));

      for (int i = 0; i < 100; i++) {
        LookupResult result = refusedCache.lookupBlocking(TRUDY);
        assertEquals(Kind.REFUSED, assertInstanceOf(TransientFailure.class, result, result.describe()).kind());
      }

      assertEquals(1, server.queries(Type.TLSA), server.questions().toString());
    }
  }

  @Test
  void asksAgainAfterATransientFailureOnceTheTransientTtlHasPassed() throws IOException {
    try (MisbehavingDnsServer server = MisbehavingDnsServer.start(TlsaCacheTest::refused)) {
      TlsaCache refusedCache = new TlsaCache(DaneLookup.create(settingsFor(server)), dnsPool,
          TlsaCache.Settings.defaults().withClock(clock));
      refusedCache.lookupBlocking(TRUDY);

      clock.advance(TlsaCache.Settings.DEFAULT_TRANSIENT_TTL.minusSeconds(1));
      refusedCache.lookupBlocking(TRUDY);
      assertEquals(1, server.queries(Type.TLSA), "still kept one second before the transient TTL ends");

      clock.advance(Duration.ofSeconds(1));
      refusedCache.lookupBlocking(TRUDY);

      assertEquals(2, server.queries(Type.TLSA), server.questions().toString());
    }
  }

  @Test
  void answersBusyAtOnceAndSendsNoQueryBeyondTheCapOfLookupsInFlight() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (MisbehavingDnsServer server = heldUntil(release)) {
      TlsaCache capped = new TlsaCache(DaneLookup.create(settingsFor(server)), dnsPool,
          TlsaCache.Settings.defaults().withClock(clock).withMaxInFlight(3, 3));
      List<CompletableFuture<LookupResult>> running = new ArrayList<>();
      for (int zone = 0; zone < 3; zone++) {
        running.add(capped.lookup(inZone("slow" + zone, "dave")));
      }

      CompletableFuture<LookupResult> fourth = capped.lookup(inZone("slow3", "dave"));

      assertTrue(fourth.isDone(), "answered at once, not queued");
      TransientFailure busy = assertInstanceOf(TransientFailure.class, fourth.join());
      assertEquals(Kind.BUSY, busy.kind());
      assertEquals("dave._device.slow3.example.test: DNS lookup not started (BUSY): too many DNS lookups in"
          + " flight (3); retried later", busy.describe());
      release.countDown();
      for (CompletableFuture<LookupResult> lookup : running) {
        lookup.get(10, TimeUnit.SECONDS);
      }
      assertEquals(3, server.queries(Type.TLSA), server.questions().toString());
      assertEquals(1, capped.stats().busy());
    } finally {
      release.countDown();
    }
  }

  @Test
  void answersBusyBeyondThePerZoneCapWhileOtherZonesAreStillLookedUp() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (MisbehavingDnsServer server = heldUntil(release)) {
      TlsaCache capped = new TlsaCache(DaneLookup.create(settingsFor(server)), dnsPool,
          TlsaCache.Settings.defaults().withClock(clock).withMaxInFlight(16, 2));
      List<CompletableFuture<LookupResult>> running = new ArrayList<>();
      running.add(capped.lookup(inZone("slow", "erin")));
      running.add(capped.lookup(inZone("slow", "frank")));

      CompletableFuture<LookupResult> thirdInZone = capped.lookup(inZone("slow", "grace"));
      CompletableFuture<LookupResult> otherZone = capped.lookup(inZone("fast", "grace"));

      TransientFailure busy = assertInstanceOf(TransientFailure.class, thirdInZone.getNow(null));
      assertEquals("too many DNS lookups in flight under _device.slow.example.test (2); retried later",
          busy.detail());
      assertFalse(otherZone.isDone(), "another zone's lookup is started: " + otherZone.getNow(null));
      release.countDown();
      LookupResult other = otherZone.get(10, TimeUnit.SECONDS);
      assertEquals(Kind.REFUSED, assertInstanceOf(TransientFailure.class, other, other.describe()).kind());
      for (CompletableFuture<LookupResult> lookup : running) {
        lookup.get(10, TimeUnit.SECONDS);
      }
      assertEquals(3, server.queries(Type.TLSA), server.questions().toString());
    } finally {
      release.countDown();
    }
  }

  @Test
  void looksUpANameThatWasAnsweredBusyOnceTheLookupsInFlightHaveFinished() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (MisbehavingDnsServer server = heldUntil(release)) {
      TlsaCache capped = new TlsaCache(DaneLookup.create(settingsFor(server)), dnsPool,
          TlsaCache.Settings.defaults().withClock(clock).withMaxInFlight(1, 1));
      CompletableFuture<LookupResult> first = capped.lookup(inZone("one", "heidi"));
      LookupResult busy = capped.lookupBlocking(inZone("two", "ivan"));
      assertEquals(Kind.BUSY, assertInstanceOf(TransientFailure.class, busy).kind());
      release.countDown();
      first.get(10, TimeUnit.SECONDS);

      LookupResult again = capped.lookupBlocking(inZone("two", "ivan"));

      assertEquals(Kind.REFUSED, assertInstanceOf(TransientFailure.class, again, again.describe()).kind());
      assertEquals(2, server.queries(Type.TLSA), server.questions().toString());
      assertEquals(0, capped.stats().inFlight());
    } finally {
      release.countDown();
    }
  }

  @Test
  void answersANameOutsideTheAllowedZonesAtOnceWithoutAQuery() {
    AtomicInteger tlsaQueries = new AtomicInteger();
    DaneLookup atKnot = new DnsjavaLookup(knot.lookupSettings(), r -> new CountingResolver(r, tlsaQueries));
    TlsaCache allowing = new TlsaCache(atKnot, dnsPool, TlsaCache.Settings.defaults().withClock(clock)
        .withAllowedZones(ZoneAllowlist.of(DnsName.parse("_device.example.test"))));
    DnsName outsider = knot.uniqueName("mallory", KnotServer.UNSIGNED_ZONE);
    knot.publish(outsider, TlsaRecord.of(TestCertificates.ec(outsider).certificate()));

    CompletableFuture<LookupResult> result = allowing.lookup(outsider);

    assertTrue(result.isDone(), "answered at once");
    LookupResult.NotAllowed notAllowed = assertInstanceOf(LookupResult.NotAllowed.class, result.join());
    assertEquals(outsider + ": not looked up: the name's zone is not in the allowed zones"
        + " (_device.example.test)", notAllowed.describe());
    assertEquals(0, tlsaQueries.get());
    assertEquals(0, allowing.stats().size(), "a flood of such names cannot push real answers out");
  }

  @Test
  void looksUpANameBelowAnAllowedZone() {
    AtomicInteger tlsaQueries = new AtomicInteger();
    DaneLookup atKnot = new DnsjavaLookup(knot.lookupSettings(), r -> new CountingResolver(r, tlsaQueries));
    TlsaCache allowing = new TlsaCache(atKnot, dnsPool, TlsaCache.Settings.defaults().withClock(clock)
        .withAllowedZones(ZoneAllowlist.of(DnsName.parse("_device.example.test"))));
    Identity judy = published("judy");

    LookupResult result = allowing.lookupBlocking(judy.name());

    assertInstanceOf(LookupResult.Secure.class, result, result.describe());
    assertEquals(1, tlsaQueries.get());
  }

  @Test
  void dropsTheLeastRecentlyUsedNameBeyondTheByteBound() {
    Identity frank = published("frank");
    Identity grace = published("grace");
    Identity heidi = published("heidi");
    cache.lookupBlocking(frank.name());
    long oneAnswer = cache.stats().bytes(); // answers of one EC certificate differ by a few bytes
    TlsaCache small = new TlsaCache(counted, dnsPool,
        TlsaCache.Settings.defaults().withClock(clock).withMaxBytes(oneAnswer * 5 / 2));
    small.lookupBlocking(frank.name());
    small.lookupBlocking(grace.name());

    small.lookupBlocking(heidi.name()); // evicts frank
    small.lookupBlocking(frank.name());

    assertEquals(5, queries.get(), "frank (measured), frank, grace, heidi, then frank again");
    assertEquals(2, small.stats().size());
    assertTrue(small.stats().bytes() <= oneAnswer * 5 / 2, small.stats().toString());
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
    TlsaCache.Stats stats = gatedCache.stats();
    assertEquals(List.of(0L, 1L, 19L, 1), List.of(stats.hits(), stats.misses(), stats.shared(), stats.size()));
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

  private static final DnsName TRUDY = DnsName.parse("trudy._device.example.test");

  /** {@code <device>._device.<label>.example.test}: the parent zone is {@code _device.<label>.example.test}. */
  private static DnsName inZone(String label, String device) {
    return DnsName.parse(device + "._device." + label + ".example.test");
  }

  private static DaneLookup.Settings settingsFor(MisbehavingDnsServer server) {
    return DaneLookup.Settings.validating(server.server(), knot.trustAnchors()).withTimeout(Duration.ofSeconds(10));
  }

  /** A server that holds every answer until {@code release}, then refuses the query. */
  private static MisbehavingDnsServer heldUntil(CountDownLatch release) {
    return MisbehavingDnsServer.start(query -> {
      await(release);
      return refused(query);
    });
  }

  /** A REFUSED reply to {@code query} (null, so no answer, when it is not a DNS query). */
  private static byte[] refused(byte[] query) {
    try {
      Message question = new Message(query);
      Message reply = new Message(question.getHeader().getID());
      reply.getHeader().setFlag(Flags.QR);
      reply.getHeader().setRcode(Rcode.REFUSED);
      reply.addRecord(question.getQuestion(), Section.QUESTION);
      return reply.toWire();
    } catch (IOException e) {
      return null;
    }
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
