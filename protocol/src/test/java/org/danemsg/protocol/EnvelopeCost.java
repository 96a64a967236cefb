package org.danemsg.protocol;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The CPU a receiving node spends per message in {@link Envelope#decrypt} and {@link Envelope#verify},
 * for native EC-to-EC and RSA-to-RSA messages and legacy ones: thread CPU time (as the node's CPU per
 * message counts it, and unmoved by a neighbour's load) and bytes allocated, per operation. A report,
 * not a test.
 *
 * <pre>
 * mvn -B -o -q -pl testservers,protocol test-compile dependency:build-classpath -Dmdep.includeScope=test \
 *     -Dmdep.outputFile=/tmp/cp.txt
 * java -cp protocol/target/classes:protocol/target/test-classes:$(cat /tmp/cp.txt) \
 *     org.danemsg.protocol.EnvelopeCost [iterations [rounds [ec|rsa|legacy ...]]]
 * </pre>
 *
 * <p>The providers are set up as the node sets them up ({@link CryptoProviders#installAll()}); run with
 * {@code -Ddanemsg.crypto.conscrypt=false} for a device without Conscrypt. Each case seals
 * {@value #DISTINCT} different messages of {@value #TEXT_LENGTH} characters with the real API, warms up,
 * then the rounds alternate the cases (EC, RSA, legacy, EC, ...) so that a neighbour's load hits each
 * alike; each figure is the median over the rounds. RSA cases run a quarter of the iterations.
 */
public final class EnvelopeCost {

  private static final int DISTINCT = 256;
  private static final int TEXT_LENGTH = 100;
  private static final DnsName ALICE = DnsName.parse("alice._device.example.test");
  private static final DnsName BOB = DnsName.parse("bob._device.example.test");
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  private EnvelopeCost() {}

  private record Case(String name, KeyType keys, Profile profile) {}

  private record Measured(double cpuMicros, double allocatedKb) {}

  public static void main(String[] args) throws Exception {
    int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    List<String> wanted = args.length > 2 ? List.of(args).subList(2, args.length) : List.of("ec", "rsa", "legacy");
    CryptoProviders.installAll();
    Envelope envelope = new Envelope(Envelope.Settings.defaults()
        .withLegacyPeers(LegacyPeers.of(List.of(ALICE.toString()))));

    List<Case> cases = new ArrayList<>();
    if (wanted.contains("ec")) {
      cases.add(new Case("EC P-256", KeyType.EC_P256, Profile.NATIVE));
    }
    if (wanted.contains("rsa")) {
      cases.add(new Case("RSA-2048", KeyType.RSA, Profile.NATIVE));
    }
    if (wanted.contains("legacy")) {
      cases.add(new Case("legacy RSA-2048", KeyType.RSA, Profile.LEGACY));
    }

    Map<String, List<Measured>> results = new LinkedHashMap<>();
    for (int round = 0; round <= rounds; round++) { // round 0 is the warm-up
      for (Case c : cases) {
        DeviceIdentity sender = TestIdentities.of(ALICE.toString(), c.keys());
        DeviceIdentity recipient = TestIdentities.of(BOB.toString(), c.keys());
        List<DeviceIdentity> own = List.of(recipient);
        List<java.security.PublicKey> senderKeys = List.of(sender.publicKey());
        byte[][] payloads = new byte[DISTINCT][];
        SignedMessage[] signed = new SignedMessage[DISTINCT];
        for (int i = 0; i < DISTINCT; i++) {
          payloads[i] = envelope.seal(text(i), sender, BOB, recipient.publicKey(), c.profile());
          signed[i] = decrypted(envelope.decrypt(payloads[i], BOB, own));
        }
        int n = c.keys() == KeyType.RSA ? iterations / 4 : iterations;
        Measured decrypt = measure(n, i -> decrypted(envelope.decrypt(payloads[i % DISTINCT], BOB, own)));
        Measured verify = measure(n, i -> opened(envelope.verify(signed[i % DISTINCT], senderKeys)));
        if (round > 0) {
          results.computeIfAbsent(c.name() + "|decrypt", k -> new ArrayList<>()).add(decrypt);
          results.computeIfAbsent(c.name() + "|verify", k -> new ArrayList<>()).add(verify);
        }
      }
    }

    System.out.printf("java %s %s, conscrypt %s; %d iterations (RSA: %d) x %d rounds after a warm-up round;"
            + " median of the rounds (min-max)%n", System.getProperty("java.version"),
        String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()),
        CryptoProviders.conscrypt().isPresent() ? "on" : "off", iterations, iterations / 4, rounds);
    System.out.printf("%-28s %22s %14s%n", "operation", "CPU µs/op", "KB alloc/op");
    results.forEach((name, values) -> {
      List<Double> cpu = values.stream().map(Measured::cpuMicros).sorted().toList();
      List<Double> kb = values.stream().map(Measured::allocatedKb).sorted().toList();
      System.out.printf(Locale.ROOT, "%-28s %22s %14.1f%n", name.replace('|', ' '),
          String.format(Locale.ROOT, "%.1f (%.1f-%.1f)", cpu.get(cpu.size() / 2), cpu.get(0), cpu.get(cpu.size() - 1)),
          kb.get(kb.size() / 2));
    });
  }

  /** A realistic text of {@value #TEXT_LENGTH} characters, different for each {@code i}. */
  private static String text(int i) {
    String base = String.format(Locale.ROOT, "Greenhouse %03d: 21.4 °C, humidity 63 %%, door closed, pump on;"
        + " next report in five minutes. Over and out.", i);
    return (base + ".".repeat(TEXT_LENGTH)).substring(0, TEXT_LENGTH);
  }

  private interface Operation {
    void run(int i);
  }

  private static Measured measure(int iterations, Operation op) {
    long thread = Thread.currentThread().getId();
    long allocated = THREADS.getThreadAllocatedBytes(thread);
    long cpu = THREADS.getCurrentThreadCpuTime();
    for (int i = 0; i < iterations; i++) {
      op.run(i);
    }
    long cpuNanos = THREADS.getCurrentThreadCpuTime() - cpu;
    long bytes = THREADS.getThreadAllocatedBytes(thread) - allocated;
    return new Measured(cpuNanos / 1e3 / iterations, bytes / 1024.0 / iterations);
  }

  private static SignedMessage decrypted(Envelope.DecryptResult result) {
    if (result instanceof Envelope.Decrypted d) {
      return d.message();
    }
    throw new IllegalStateException("did not decrypt: " + result);
  }

  private static void opened(Envelope.OpenResult result) {
    if (!(result instanceof Envelope.Opened)) {
      throw new IllegalStateException("did not open: " + result);
    }
  }
}
