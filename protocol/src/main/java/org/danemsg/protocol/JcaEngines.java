package org.danemsg.protocol;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.Provider;
import java.security.Signature;
import java.util.ArrayList;
import java.util.List;
import javax.crypto.Cipher;
import javax.crypto.KeyAgreement;
import javax.crypto.Mac;

/**
 * This thread's JCA engines, one per kind, algorithm and named provider, made on first use and then
 * kept. {@code getInstance} looks the algorithm up among the provider's services and builds the
 * engine by reflection on every call, which costs more than a message's AES-GCM. Every use
 * initialises the engine afresh ({@code init}, {@code initVerify}; a digest is reset when handed
 * out), so nothing of one message stays for the next, and the engines of a thread are used by that
 * thread alone.
 *
 * <p>Only engines of a named provider are kept. Where the caller names none (the JCA's provider
 * order), a new engine is made for each use, as before: which provider the order gives may change
 * while the JVM runs, and a Cipher, Signature or KeyAgreement of the order picks its provider by the
 * key it is first given.
 */
final class JcaEngines {

  /** One kept engine. Providers are compared by identity: a Provider's equals and hashCode read all its entries. */
  private record Engine(Class<?> type, String algorithm, Provider provider, Object engine) {}

  /** A thread needs a handful (a node's opening code uses at most eight): a list is the fastest lookup. */
  private static final ThreadLocal<List<Engine>> ENGINES = ThreadLocal.withInitial(ArrayList::new);

  /** An engine class's {@code getInstance(algorithm)}: the JCA's provider order. */
  @FunctionalInterface
  private interface FromOrder<T> {
    T getInstance(String algorithm) throws GeneralSecurityException;
  }

  /** An engine class's {@code getInstance(algorithm, provider)}. */
  @FunctionalInterface
  private interface FromProvider<T> {
    T getInstance(String algorithm, Provider provider) throws GeneralSecurityException;
  }

  private JcaEngines() {}

  static Cipher cipher(String transformation, Provider provider) throws GeneralSecurityException {
    return engine(Cipher.class, transformation, provider, Cipher::getInstance, Cipher::getInstance);
  }

  static Signature signature(String algorithm, Provider provider) throws GeneralSecurityException {
    return engine(Signature.class, algorithm, provider, Signature::getInstance, Signature::getInstance);
  }

  static KeyAgreement keyAgreement(String algorithm, Provider provider) throws GeneralSecurityException {
    return engine(KeyAgreement.class, algorithm, provider, KeyAgreement::getInstance, KeyAgreement::getInstance);
  }

  static MessageDigest messageDigest(String algorithm, Provider provider) throws GeneralSecurityException {
    MessageDigest digest = engine(MessageDigest.class, algorithm, provider, MessageDigest::getInstance,
        MessageDigest::getInstance);
    digest.reset(); // a use that failed half-way may have left input behind
    return digest;
  }

  static Mac mac(String algorithm, Provider provider) throws GeneralSecurityException {
    return engine(Mac.class, algorithm, provider, Mac::getInstance, Mac::getInstance);
  }

  static KeyFactory keyFactory(String algorithm, Provider provider) throws GeneralSecurityException {
    return engine(KeyFactory.class, algorithm, provider, KeyFactory::getInstance, KeyFactory::getInstance);
  }

  /** A new engine from the provider order when no provider is named, else this thread's kept one. */
  private static <T> T engine(Class<T> type, String algorithm, Provider provider, FromOrder<T> fromOrder,
      FromProvider<T> fromProvider) throws GeneralSecurityException {
    if (provider == null) {
      return fromOrder.getInstance(algorithm);
    }
    Object known = find(type, algorithm, provider);
    return known != null ? type.cast(known) : keep(type, algorithm, provider,
        fromProvider.getInstance(algorithm, provider));
  }

  private static Object find(Class<?> type, String algorithm, Provider provider) {
    List<Engine> engines = ENGINES.get();
    for (int i = 0; i < engines.size(); i++) {
      Engine e = engines.get(i);
      if (e.type() == type && e.provider() == provider && e.algorithm().equals(algorithm)) {
        return e.engine();
      }
    }
    return null;
  }

  private static <T> T keep(Class<T> type, String algorithm, Provider provider, T engine) {
    List<Engine> engines = ENGINES.get();
    if (engines.size() >= 32) {
      engines.clear(); // only a caller naming ever new providers gets here; bound the memory
    }
    engines.add(new Engine(type, algorithm, provider, engine));
    return engine;
  }
}
