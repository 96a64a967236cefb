package org.danemsg.protocol.dns;

import java.security.Security;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.CryptoProviders;
import org.danemsg.protocol.TlsaRecord;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.TestCertificates;
import org.danemsg.testing.TestCertificates.Identity;

/**
 * Measures TLSA lookup latency against a local knotd: fully cold (new validator, so the zone's
 * DNSKEY is fetched and checked too), a new name with the validator's key cache warm, and a
 * {@link TlsaCache} hit; first with the JDK's providers, then with Bouncy Castle first. Prints median
 * and p99. Run: {@code mvn -pl protocol test-compile} then
 * {@code java -cp <classes:test-classes:deps> org.danemsg.protocol.dns.LookupLatency [lookups [jdk|bc|both]]}.
 */
public final class LookupLatency {

  private LookupLatency() {}

  /** Runs the measurement; optional arguments: lookups per series (default 300) and
   * which providers to measure ({@code jdk}, {@code bc} or {@code both}, the default). */
  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 300;
    try (KnotServer knot = KnotServer.startNow()) {
      List<DnsName> names = new ArrayList<>();
      for (int i = 0; i < 2 * n; i++) {
        Identity identity = TestCertificates.ec(knot.uniqueName("peer"));
        knot.publish(identity.name(), TlsaRecord.of(identity.certificate()));
        names.add(identity.name());
      }
      System.out.printf("knotd on %s, %d names, %d lookups per series, JDK %s%n",
          knot.server(), names.size(), n, System.getProperty("java.version"));
      String providers = args.length > 1 ? args[1] : "both";
      if (!providers.equals("bc")) {
        measureAll(knot, names, n, "JDK providers (" + Security.getProviders()[0].getName() + " first)");
      }
      if (!providers.equals("jdk")) {
        CryptoProviders.bouncyCastleFirst();
        measureAll(knot, names, n, "Bouncy Castle first");
      }
    }
  }

  private static void measureAll(KnotServer knot, List<DnsName> names, int n, String label) {
    DaneLookup.Settings settings = knot.lookupSettings();
    // warm-up: JIT and the sockets, not counted
    DaneLookup warm = DaneLookup.create(settings);
    for (int i = 0; i < 200; i++) {
      check(warm.lookup(names.get(i % names.size())));
      check(DaneLookup.create(settings).lookup(names.get(i % names.size())));
    }

    long[] cold = new long[n];
    for (int i = 0; i < n; i++) {
      DaneLookup fresh = DaneLookup.create(settings);
      long t = System.nanoTime();
      check(fresh.lookup(names.get(i)));
      cold[i] = System.nanoTime() - t;
    }

    DaneLookup shared = DaneLookup.create(settings);
    check(shared.lookup(names.get(0))); // the zone's keys are now in the validator's cache
    long[] newName = new long[n];
    for (int i = 0; i < n; i++) {
      long t = System.nanoTime();
      check(shared.lookup(names.get(n + i)));
      newName[i] = System.nanoTime() - t;
    }

    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      TlsaCache cache = new TlsaCache(shared, pool);
      for (DnsName name : names.subList(0, n)) {
        check(cache.lookupBlocking(name));
      }
      long[] hit = new long[n];
      for (int round = 0; round < 3; round++) { // warm the hit path
        for (int i = 0; i < n; i++) {
          long t = System.nanoTime();
          check(cache.lookupBlocking(names.get(i)));
          hit[i] = System.nanoTime() - t;
        }
      }
      System.out.println(label + ":");
      print("  cold (new validator: DNSKEY + TLSA validated)", cold);
      print("  new name, validator key cache warm           ", newName);
      print("  TlsaCache hit                                ", hit);
    } finally {
      pool.shutdownNow();
    }
  }

  private static void check(LookupResult result) {
    if (!(result instanceof LookupResult.Secure)) {
      throw new IllegalStateException("expected a secure answer: " + result.describe());
    }
  }

  private static void print(String label, long[] nanos) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    double median = sorted[sorted.length / 2] / 1e6;
    double p99 = sorted[Math.min(sorted.length - 1, (int) Math.ceil(sorted.length * 0.99) - 1)] / 1e6;
    System.out.printf("%s  median %9.4f ms   p99 %9.4f ms%n", label, median, p99);
  }
}
