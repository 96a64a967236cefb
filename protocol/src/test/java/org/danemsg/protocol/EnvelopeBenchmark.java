package org.danemsg.protocol;

import java.util.List;
import java.util.Locale;

/**
 * Seal and open times per profile, key type and providers (the JDK's, or the fast ones: Conscrypt where
 * it loads, else Bouncy Castle for EC and the JDK's for RSA). A report, not a test:
 * {@code mvn -q -pl protocol test-compile exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=org.danemsg.protocol.EnvelopeBenchmark} (or see the README).
 */
public final class EnvelopeBenchmark {

  private EnvelopeBenchmark() {}

  public static void main(String[] args) throws Exception {
    int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
    System.out.printf("java %s, %d iterations after warm-up; µs per operation%n",
        System.getProperty("java.version"), iterations);
    System.out.printf("%-26s %-14s %10s %10s%n", "case", "providers", "seal", "open");
    for (boolean bc : new boolean[] {false, true}) {
      Envelope envelope = new Envelope(Envelope.Settings.defaults().withBouncyCastleForEc(bc)
          .withLegacyPeers(LegacyPeers.of(List.of("alice._device.example.test"))), bc);
      for (String kind : List.of("native EC -> EC", "native RSA -> RSA", "native EC -> RSA", "legacy RSA -> RSA")) {
        KeyType sender = kind.contains("EC ->") ? KeyType.EC_P256 : KeyType.RSA;
        KeyType recipient = kind.endsWith("-> EC") ? KeyType.EC_P256 : KeyType.RSA;
        Profile profile = kind.startsWith("legacy") ? Profile.LEGACY : Profile.NATIVE;
        DeviceIdentity alice = TestIdentities.of("alice._device.example.test", sender);
        DeviceIdentity bob = TestIdentities.of("bob._device.example.test", recipient);
        List<DeviceIdentity> own = List.of(bob);
        Envelope.SenderKeySource keys = name -> new Envelope.SenderKeys.Found(List.of(alice.publicKey()));
        int n = profile == Profile.LEGACY || sender == KeyType.RSA || recipient == KeyType.RSA
            ? iterations / 4 : iterations;
        byte[] payload = null;
        for (int i = 0; i < n; i++) { // warm-up
          payload = envelope.seal("benchmark message", alice, bob.name(), bob.publicKey(), profile);
          check(envelope.open(payload, bob.name(), own, keys));
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
          payload = envelope.seal("benchmark message", alice, bob.name(), bob.publicKey(), profile);
        }
        long t1 = System.nanoTime();
        for (int i = 0; i < n; i++) {
          check(envelope.open(payload, bob.name(), own, keys));
        }
        long t2 = System.nanoTime();
        System.out.printf(Locale.ROOT, "%-26s %-14s %10.1f %10.1f%n", kind, bc ? (CryptoProviders.conscrypt().isPresent() ? "Conscrypt" : "BouncyCastle") : "JDK",
            (t1 - t0) / 1e3 / n, (t2 - t1) / 1e3 / n);
      }
    }
  }

  private static void check(Envelope.OpenResult result) {
    if (!(result instanceof Envelope.Opened)) {
      throw new IllegalStateException(result.toString());
    }
  }
}
