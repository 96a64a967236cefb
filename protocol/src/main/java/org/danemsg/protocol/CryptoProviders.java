package org.danemsg.protocol;

import java.security.Provider;
import java.security.Security;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * Registers the Bouncy Castle provider, which this library uses for PEM parsing, certificate building
 * and, where it is measurably faster than the JDK's, for EC operations.
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
}
