package org.danemsg.protocol;

import java.security.Provider;
import java.security.Security;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * Registers the Bouncy Castle provider, which this library uses for PEM parsing, certificate building
 * and, where it is measurably faster than the JDK's, for EC operations (named explicitly, see
 * {@link org.danemsg.protocol.Envelope.Settings#bouncyCastleForEc()}).
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

  private CryptoProviders() {}

  /**
   * Adds Bouncy Castle to the JCA providers (after the JDK's, so it is used only where named) once,
   * and returns it. Safe to call from several threads.
   */
  public static Provider bouncyCastle() {
    return BOUNCY_CASTLE;
  }

  /** The provider of fast P-256 key pairs (see {@link P256KeyPairProvider}), registered by name. */
  static String p256KeyPairs() {
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
}
