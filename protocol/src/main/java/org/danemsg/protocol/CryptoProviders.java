package org.danemsg.protocol;

import java.security.Provider;
import java.security.Security;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * Registers the Bouncy Castle provider, which this library uses for PEM parsing, certificate building
 * and, where it is measurably faster than the JDK's, for EC operations (named explicitly, see
 * {@link org.danemsg.protocol.Envelope.Settings#bouncyCastleForEc()}); and, where its native library
 * loads, Conscrypt (BoringSSL), which is faster still for the per-message EC P-256 and AES-GCM work
 * (see {@link #fastEc()}) and for RS256, which the JDK and Bouncy Castle compute in Java
 * {@code BigInteger} code; and, where its native library loads, the Amazon Corretto Crypto Provider
 * (AWS-LC) for the RSA private operation of RSA-OAEP-256 (see {@link #accp()}).
 *
 * <p>{@link #bouncyCastleFirst()} additionally puts it first, for code that asks for algorithms without
 * naming a provider, as dnsjava's DNSSEC validator does. Measured against a local Knot server on JDK
 * 17 (the test tree's {@code LookupLatency}): a validated TLSA lookup of a new name took a median
 * 1.3–1.5 ms with the JDK's providers and 0.6 ms with Bouncy Castle first; a fully cold one (zone keys
 * fetched and checked too) 3.9–4.2 ms against 1.9–2.1 ms. That changes the provider order for the whole
 * JVM, so it is an explicit call for applications to make once at start, never a side effect of
 * loading a class.
 */
public final class CryptoProviders {

  private static final Provider BOUNCY_CASTLE = install();
  private static final Provider P256_KEY_PAIRS = installP256();

  /** System property: {@code false} keeps Conscrypt out (Bouncy Castle is then the fast EC provider). */
  public static final String CONSCRYPT_PROPERTY = "danemsg.crypto.conscrypt";

  /**
   * System property: {@code false} keeps the Amazon Corretto Crypto Provider out (RSA private operations
   * then go to Conscrypt, or to the JDK).
   */
  public static final String ACCP_PROPERTY = "danemsg.crypto.accp";

  private static final NativeProvider CONSCRYPT = new NativeProvider(CONSCRYPT_PROPERTY, () -> {
    if (!org.conscrypt.Conscrypt.isAvailable()) {
      return null;
    }
    Provider existing = Security.getProvider("Conscrypt");
    return existing != null ? existing : org.conscrypt.Conscrypt.newProvider();
  });

  private static final NativeProvider ACCP = new NativeProvider(ACCP_PROPERTY, () -> {
    com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider provider =
        com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider.INSTANCE;
    if (provider.getLoadingError() != null) {
      return null; // no native library for this platform
    }
    provider.assertHealthy();
    return provider;
  });

  /**
   * A provider with a native library, loaded once at its first use where the library loads and its system
   * property does not say {@code false}, and registered at the end of the JCA list (used only where named).
   */
  private static final class NativeProvider {
    private final String property;
    private final java.util.function.Supplier<Provider> load;
    private volatile Provider provider;
    private volatile boolean tried;

    NativeProvider(String property, java.util.function.Supplier<Provider> load) {
      this.property = property;
      this.load = load;
    }

    java.util.Optional<Provider> get() {
      if (!tried) {
        load();
      }
      Provider loaded = provider;
      if (loaded != null && Security.getProvider(loaded.getName()) == null) {
        Security.addProvider(loaded); // someone reset the provider list; callers name it
      }
      return java.util.Optional.ofNullable(loaded);
    }

    /** The provider, or null before it loaded or where it does not. */
    Provider loaded() {
      return provider;
    }

    private synchronized void load() {
      if (tried) {
        return;
      }
      tried = true;
      if ("false".equalsIgnoreCase(System.getProperty(property, "true"))) {
        return;
      }
      try {
        Provider candidate = load.get();
        if (candidate == null) {
          return;
        }
        Provider existing = Security.getProvider(candidate.getName());
        if (existing == null) {
          Security.addProvider(candidate);
        }
        provider = existing != null ? existing : candidate;
      } catch (LinkageError | RuntimeException e) {
        // not loadable (no native library for this platform) or not healthy: others do the work
      }
    }
  }

  private CryptoProviders() {}

  /**
   * The Conscrypt provider (BoringSSL, native), registered at the end of the JCA list so that it is
   * used only where named; empty where its native library does not load on this platform (Conscrypt
   * ships Linux x86-64 and aarch64, macOS and Windows builds: not 32-bit ARM) or where the system
   * property {@value #CONSCRYPT_PROPERTY} is {@code false}.
   *
   * <p>Measured on JDK 17, 2 cores, per operation: ECDH P-256 64 µs (Bouncy Castle 190, SunEC 800),
   * ES256 sign 34 µs (230, 435), verify 53 µs (178, 878), P-256 key pair 8 µs (69, 423), AES-256-GCM
   * of 400 bytes 1 µs (12, 8).
   */
  public static java.util.Optional<Provider> conscrypt() {
    return CONSCRYPT.get();
  }

  /**
   * The Amazon Corretto Crypto Provider (AWS-LC, native), registered at the end of the JCA list so that
   * it is used only where named; empty where its native library does not load (it ships Linux x86-64 and
   * aarch64 builds; the jars of this project carry the x86-64 one, see the README) or where the system
   * property {@value #ACCP_PROPERTY} is {@code false}.
   *
   * <p>Used for one thing: the RSA private operation of RSA-OAEP-256, the most expensive step of opening
   * an RSA message. AWS-LC computes it with the AVX-512 IFMA code that OpenSSL 3 has and BoringSSL has
   * not. Measured on JDK 17, 2 cores (AMD EPYC with AVX-512 IFMA), an RSA-2048 OAEP decryption with a
   * key of the provider's own: 330 µs against Conscrypt's 700–800 µs and the JDK's 1,100–1,200 µs;
   * {@code openssl speed rsa2048} signs in 290 µs on the same machine at the same time.
   */
  public static java.util.Optional<Provider> accp() {
    return ACCP.get();
  }

  /**
   * The provider for the RSA private operation (RSA-OAEP-256 decryption): the Amazon Corretto Crypto
   * Provider where it loads, else Conscrypt where it loads, else empty (the JCA's provider order).
   */
  public static java.util.Optional<Provider> fastRsaPrivate() {
    java.util.Optional<Provider> first = accp();
    return first.isPresent() ? first : conscrypt();
  }

  /**
   * The provider for per-message EC P-256 work (ES256, ECDH-ES, ephemeral key pairs) and AES-GCM:
   * Conscrypt where available, else Bouncy Castle.
   */
  public static Provider fastEc() {
    return conscrypt().orElse(BOUNCY_CASTLE);
  }

  /**
   * The random source of per-message values (message ids, initialization vectors, content keys): one
   * thread-safe {@link java.security.SecureRandom}, BoringSSL's {@code RAND_bytes} through Conscrypt where
   * it loads, else the JDK's {@code DRBG}. Not {@code new SecureRandom()}: with Bouncy Castle first in the
   * list ({@link #installAll()}) that is Bouncy Castle's DRBG, computed in Java under a lock. Measured on
   * JDK 17 with C1 only, 16 bytes: Bouncy Castle's default 18-20 µs, the JDK's DRBG 1.7-2.5 µs,
   * Conscrypt's 0.6 µs; jose4j, left to itself, also seeds a new one for every initialization vector.
   */
  static java.security.SecureRandom random() {
    return RandomSource.RANDOM;
  }

  /** Made at the first {@link #random()}, so that loading this class does not load Conscrypt. */
  private static final class RandomSource {
    static final java.security.SecureRandom RANDOM = make();

    private static java.security.SecureRandom make() {
      try {
        Provider conscrypt = conscrypt().orElse(null);
        return conscrypt != null ? java.security.SecureRandom.getInstance("SHA1PRNG", conscrypt)
            : java.security.SecureRandom.getInstance("DRBG", "SUN");
      } catch (java.security.GeneralSecurityException e) {
        return new java.security.SecureRandom();
      }
    }
  }

  /** Keys already rebuilt as Conscrypt keys, per key object; weak, so a retired identity goes. */
  private static final java.util.Map<java.security.Key, java.security.Key> CONSCRYPT_KEYS =
      java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

  /** Keys already rebuilt as the Amazon Corretto Crypto Provider's keys, as {@link #CONSCRYPT_KEYS}. */
  private static final java.util.Map<java.security.Key, java.security.Key> ACCP_KEYS =
      java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

  /**
   * The same RSA key as a Conscrypt (BoringSSL) key: {@link #conscryptKey} for RSA keys, any other key
   * as it is. Measured (test tree's {@code RsaBenchmark}, CPU time): a private operation with a rebuilt
   * key takes 15 % less, an RS256 verify 20 % less.
   */
  static <K extends java.security.Key> K conscryptRsaKey(K key) {
    return "RSA".equals(key.getAlgorithm()) ? conscryptKey(key) : key;
  }

  /**
   * The same RSA or EC key as a Conscrypt (BoringSSL) key, rebuilt once per key and remembered, or the
   * key itself where Conscrypt is not in use or cannot take it (no encoding, as for a key held in a
   * token). Conscrypt takes any RSA or EC key, but rebuilds it natively from its encoding on every
   * {@code init}; for RSA, BoringSSL then computes the key's Montgomery (and, for a private key,
   * blinding) values again for each message; a key of its own keeps them. The rebuilt key is parsed
   * from the same encoding Conscrypt would parse at each use, so it behaves alike.
   * Public keys are the validated keys of senders, which the TLSA cache holds: weakly referenced
   * here, an entry goes when the cache lets the key go.
   */
  static <K extends java.security.Key> K conscryptKey(K key) {
    Provider provider = conscrypt().orElse(null);
    return provider == null ? key : providerKey(key, provider);
  }

  /**
   * The same RSA or EC key as a key of {@code provider} (Conscrypt or the Amazon Corretto Crypto
   * Provider, both of which rebuild any other key natively at every {@code init}), rebuilt once per key
   * and remembered; the key itself for any other provider or key, or where the provider cannot take it.
   */
  static <K extends java.security.Key> K providerKey(K key, Provider provider) {
    String algorithm = key.getAlgorithm();
    boolean rsa = "RSA".equals(algorithm);
    boolean ec = algorithm != null && algorithm.startsWith("EC");
    java.util.Map<java.security.Key, java.security.Key> rebuilt = provider == CONSCRYPT.loaded() ? CONSCRYPT_KEYS
        : provider == ACCP.loaded() ? ACCP_KEYS : null;
    if (rebuilt == null || !(rsa || ec)
        || key.getClass().getPackageName().equals(provider.getClass().getPackageName())) {
      return key;
    }
    java.security.Key known = rebuilt.get(key);
    if (known == null) {
      known = rebuild(key, rsa ? "RSA" : "EC", provider);
      rebuilt.put(key, known);
    }
    @SuppressWarnings("unchecked")
    K converted = (K) known;
    return converted;
  }

  private static java.security.Key rebuild(java.security.Key key, String algorithm, Provider provider) {
    byte[] encoded = key.getEncoded();
    if (encoded == null) {
      return key;
    }
    try {
      java.security.KeyFactory factory = java.security.KeyFactory.getInstance(algorithm, provider);
      return key instanceof java.security.PrivateKey
          ? factory.generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(encoded))
          : factory.generatePublic(new java.security.spec.X509EncodedKeySpec(encoded));
    } catch (java.security.GeneralSecurityException | RuntimeException e) {
      return key; // the JCA path still works with it
    }
  }

  /**
   * Adds Bouncy Castle to the JCA providers (after the JDK's, so it is used only where named) once,
   * and returns it. Safe to call from several threads.
   */
  public static Provider bouncyCastle() {
    if (Security.getProvider(BOUNCY_CASTLE.getName()) == null) {
      Security.addProvider(BOUNCY_CASTLE); // someone reset the provider list; jose4j names it
    }
    return BOUNCY_CASTLE;
  }

  /**
   * The provider of fast P-256 key pairs (see {@link P256KeyPairProvider}). jose4j asks for it by
   * name, so it is registered again if someone reset the provider list.
   */
  static String p256KeyPairs() {
    if (Security.getProvider(P256_KEY_PAIRS.getName()) == null) {
      Security.addProvider(P256_KEY_PAIRS);
    }
    return P256_KEY_PAIRS.getName();
  }

  private static synchronized Provider installP256() {
    Provider existing = Security.getProvider(P256KeyPairProvider.NAME);
    if (existing != null) {
      return existing;
    }
    Provider provider = new P256KeyPairProvider();
    Security.addProvider(provider);
    return provider;
  }

  private static synchronized Provider install() {
    Provider existing = Security.getProvider(BouncyCastleProvider.PROVIDER_NAME);
    if (existing != null) {
      return existing;
    }
    Provider provider = new BouncyCastleProvider();
    Security.addProvider(provider);
    return provider;
  }

  /**
   * Makes Bouncy Castle the first provider: inserts it, or moves an already registered instance to the
   * front. Idempotent and thread-safe.
   *
   * @return the Bouncy Castle provider in use
   */
  public static synchronized Provider bouncyCastleFirst() {
    Provider[] providers = Security.getProviders();
    Provider existing = Security.getProvider(BouncyCastleProvider.PROVIDER_NAME);
    if (existing != null && providers.length > 0 && providers[0] == existing) {
      return existing;
    }
    Provider provider = existing != null ? existing : new BouncyCastleProvider();
    if (existing != null) {
      Security.removeProvider(existing.getName());
    }
    Security.insertProviderAt(provider, 1);
    return provider;
  }

  /**
   * The JVM-wide provider set-up, called first by each entry point (the node's and the tools' {@code main},
   * the bench) and by test fixtures that need it, so that the provider order never depends on which class
   * happens to load first: Bouncy Castle first ({@link #bouncyCastleFirst()}), the fast P-256 key pairs
   * registered, and Conscrypt loaded where its native library loads ({@link #conscrypt()}). The Amazon
   * Corretto Crypto Provider ({@link #accp()}) is loaded at its first use instead, an RSA identity's first
   * decryption (its start costs about 0.3 s, which a {@code tools send} or an EC node need not pay); it
   * is added at the end of the list and used only where named, so the order of the others stays.
   * Idempotent.
   */
  public static synchronized void installAll() {
    bouncyCastleFirst();
    p256KeyPairs();
    conscrypt();
  }
}
