package org.danemsg.protocol;

import java.security.PrivateKey;
import java.security.Provider;
import java.security.Security;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;

/**
 * RSA-2048 per operation, by provider path, measured side by side: the rounds alternate the paths
 * (A B C, A B C, …) and each path's median over the rounds is printed, so a neighbour's load on a
 * shared machine hits every path alike; times are the thread's CPU time, as {@code openssl speed}
 * measures. A report, not a test; see the README's Measurements.
 *
 * <p>Paths: the JCA's order with the JDK's providers first (SunJCE, SunRsaSign), the JCA's order with
 * Bouncy Castle first (as the node runs: {@link CryptoProviders#bouncyCastleFirst()}), and Conscrypt.
 * Operations: opening a native RSA-to-RSA message (RSA-OAEP-256 decrypt, AES-GCM, RS256 verify, claims),
 * its decrypt step alone, sealing one, and the bare RSA-2048 private operation (RS256 sign of 32 bytes,
 * as {@code openssl speed rsa2048} signs) and RSA-OAEP-256 decrypt; and {@code openssl speed rsa2048}
 * (2 s) at the start of each round, for the RSA-2048 private operation of native code on the same machine
 * at the same time.
 */
public final class RsaBenchmark {

  private RsaBenchmark() {}

  private record Path(String name, boolean bouncyCastleFirst, boolean conscrypt) {}

  public static void main(String[] args) throws Exception {
    int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    List<Provider> jdkOrder = List.of(Security.getProviders());
    List<Path> paths = new ArrayList<>(List.of(new Path("JCA, JDK first", false, false),
        new Path("JCA, BC first (node)", true, false)));
    if (CryptoProviders.conscrypt().isPresent()) {
      paths.add(new Path("Conscrypt", false, true));
    }
    List<String> ops = List.of("open", "decrypt", "seal", "RSA private op (RS256 sign)", "RSA-OAEP-256 decrypt",
        "RS256 sign, key not rebuilt", "RS256 verify", "RS256 verify, key rebuilt");
    DeviceIdentity alice = TestIdentities.of("alice._device.example.test", KeyType.RSA);
    DeviceIdentity bob = TestIdentities.of("bob._device.example.test", KeyType.RSA);
    Envelope.SenderKeySource keys = name -> new Envelope.SenderKeys.Found(List.of(alice.publicKey()));
    byte[] wrapped = oaep(null, bob.publicKey(), null).doFinal(new byte[32]);

    Map<String, List<Double>> results = new LinkedHashMap<>();
    List<Double> openssl = new ArrayList<>();
    for (int round = 0; round <= rounds; round++) { // round 0 is the warm-up
      double opensslSign = opensslSignMicros();
      if (round > 0 && opensslSign > 0) {
        openssl.add(opensslSign);
      }
      for (Path path : paths) {
        if (path.bouncyCastleFirst()) {
          CryptoProviders.bouncyCastleFirst();
        } else {
          restore(jdkOrder);
        }
        Envelope envelope = new Envelope(Envelope.Settings.defaults(), path.conscrypt());
        Provider provider = path.conscrypt() ? CryptoProviders.conscrypt().orElseThrow() : null;
        PrivateKey signingKey = path.conscrypt()
            ? CryptoProviders.conscryptRsaKey(alice.privateKey()) : alice.privateKey();
        PrivateKey decryptionKey = path.conscrypt()
            ? CryptoProviders.conscryptRsaKey(bob.privateKey()) : bob.privateKey();
        byte[] payload = envelope.seal("benchmark message", alice, bob.name(), bob.publicKey());
        Map<String, Double> us = new LinkedHashMap<>();
        us.put(ops.get(0), time(iterations, () -> check(envelope.open(payload, bob.name(), List.of(bob), keys))));
        us.put(ops.get(1), time(iterations, () -> {
          if (!(envelope.decrypt(payload, bob.name(), List.of(bob)) instanceof Envelope.Decrypted)) {
            throw new IllegalStateException("did not decrypt");
          }
        }));
        us.put(ops.get(2), time(iterations, () -> envelope.seal("benchmark message", alice, bob.name(), bob.publicKey())));
        us.put(ops.get(3), time(iterations, () -> sign(provider, signingKey)));
        us.put(ops.get(4), time(iterations, () -> oaep(provider, null, decryptionKey).doFinal(wrapped)));
        us.put(ops.get(5), time(iterations, () -> sign(provider, alice.privateKey())));
        byte[] signature = sign(provider, signingKey);
        java.security.PublicKey rebuilt = path.conscrypt()
            ? CryptoProviders.conscryptRsaKey(alice.publicKey()) : alice.publicKey();
        us.put(ops.get(6), time(iterations * 4, () -> verify(provider, alice.publicKey(), signature)));
        us.put(ops.get(7), time(iterations * 4, () -> verify(provider, rebuilt, signature)));
        if (round > 0) {
          us.forEach((op, value) -> results.computeIfAbsent(path.name() + "|" + op, k -> new ArrayList<>()).add(value));
        }
      }
    }
    restore(jdkOrder);

    System.out.printf("java %s %s, %d iterations x %d alternating rounds; median CPU µs per operation (min-max)%n",
        System.getProperty("java.version"), String.join(" ",
            java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()), iterations, rounds);
    System.out.printf("%-30s", "operation");
    paths.forEach(p -> System.out.printf(" %24s", p.name()));
    System.out.println();
    for (String op : ops) {
      System.out.printf("%-30s", op);
      for (Path path : paths) {
        List<Double> values = new ArrayList<>(results.get(path.name() + "|" + op));
        values.sort(null);
        System.out.printf(Locale.ROOT, " %24s", String.format(Locale.ROOT, "%.0f (%.0f-%.0f)",
            values.get(values.size() / 2), values.get(0), values.get(values.size() - 1)));
      }
      System.out.println();
    }
    openssl.sort(null);
    if (!openssl.isEmpty()) {
      System.out.printf(Locale.ROOT, "openssl speed rsa2048, sign (RSA-2048 private op), in the same rounds: %.0f (%.0f-%.0f)%n",
          openssl.get(openssl.size() / 2), openssl.get(0), openssl.get(openssl.size() - 1));
    }
  }

  private static byte[] sign(Provider provider, PrivateKey key) throws Exception {
    Signature signer = provider == null ? Signature.getInstance("SHA256withRSA")
        : Signature.getInstance("SHA256withRSA", provider);
    signer.initSign(key);
    signer.update(new byte[32]);
    return signer.sign();
  }

  private static void verify(Provider provider, java.security.PublicKey key, byte[] signature) throws Exception {
    Signature verifier = provider == null ? Signature.getInstance("SHA256withRSA")
        : Signature.getInstance("SHA256withRSA", provider);
    verifier.initVerify(key);
    verifier.update(new byte[32]);
    if (!verifier.verify(signature)) {
      throw new IllegalStateException("signature did not verify");
    }
  }

  /** µs per RSA-2048 sign of {@code openssl speed} over 2 s, or -1 where openssl is not installed. */
  private static double opensslSignMicros() {
    try {
      Process p = new ProcessBuilder("openssl", "speed", "-seconds", "2", "rsa2048")
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
      String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      p.waitFor();
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("rsa 2048 bits\\s+([0-9.]+)s").matcher(out);
      return m.find() ? Double.parseDouble(m.group(1)) * 1e6 : -1;
    } catch (java.io.IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private interface Operation {
    void run() throws Exception;
  }

  /**
   * CPU time of this thread per operation, as {@code openssl speed} divides by CPU time (unless given
   * {@code -elapsed}): on a shared machine, time spent waiting for a core is not counted.
   */
  private static double time(int iterations, Operation op) throws Exception {
    long start = THREAD_CPU.getCurrentThreadCpuTime();
    for (int i = 0; i < iterations; i++) {
      op.run();
    }
    return (THREAD_CPU.getCurrentThreadCpuTime() - start) / 1e3 / iterations;
  }

  private static final java.lang.management.ThreadMXBean THREAD_CPU =
      java.lang.management.ManagementFactory.getThreadMXBean();

  /** RSA-OAEP-256 as jose4j asks for it: SHA-256 and MGF1 with SHA-256. */
  private static Cipher oaep(Provider provider, java.security.PublicKey encryptTo, PrivateKey decryptWith)
      throws Exception {
    String transformation = "RSA/ECB/OAEPWithSHA-256AndMGF1Padding";
    Cipher cipher = provider == null ? Cipher.getInstance(transformation) : Cipher.getInstance(transformation, provider);
    OAEPParameterSpec spec = new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT);
    if (encryptTo != null) {
      cipher.init(Cipher.ENCRYPT_MODE, encryptTo, spec);
    } else {
      cipher.init(Cipher.DECRYPT_MODE, decryptWith, spec);
    }
    return cipher;
  }

  private static void restore(List<Provider> order) {
    for (Provider p : Security.getProviders()) {
      Security.removeProvider(p.getName());
    }
    order.forEach(Security::addProvider);
  }

  private static void check(Envelope.OpenResult result) {
    if (!(result instanceof Envelope.Opened)) {
      throw new IllegalStateException(result.toString());
    }
  }
}
