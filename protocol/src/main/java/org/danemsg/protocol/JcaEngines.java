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

  private enum Kind { CIPHER, SIGNATURE, KEY_AGREEMENT, MESSAGE_DIGEST, MAC, KEY_FACTORY }

  /** One kept engine. Providers are compared by identity: a Provider's equals and hashCode read all its entries. */
  private record Engine(Kind kind, String algorithm, Provider provider, Object engine) {}

  /** A thread needs a handful (a node's opening code uses at most eight): a list is the fastest lookup. */
  private static final ThreadLocal<List<Engine>> ENGINES = ThreadLocal.withInitial(ArrayList::new);

  private JcaEngines() {}

  static Cipher cipher(String transformation, Provider provider) throws GeneralSecurityException {
    if (provider == null) {
      return Cipher.getInstance(transformation);
    }
    Object known = find(Kind.CIPHER, transformation, provider);
    return known != null ? (Cipher) known : keep(Kind.CIPHER, transformation, provider,
        Cipher.getInstance(transformation, provider));
  }

  static Signature signature(String algorithm, Provider provider) throws GeneralSecurityException {
    if (provider == null) {
      return Signature.getInstance(algorithm);
    }
    Object known = find(Kind.SIGNATURE, algorithm, provider);
    return known != null ? (Signature) known : keep(Kind.SIGNATURE, algorithm, provider,
        Signature.getInstance(algorithm, provider));
  }

  static KeyAgreement keyAgreement(String algorithm, Provider provider) throws GeneralSecurityException {
    if (provider == null) {
      return KeyAgreement.getInstance(algorithm);
    }
    Object known = find(Kind.KEY_AGREEMENT, algorithm, provider);
    return known != null ? (KeyAgreement) known : keep(Kind.KEY_AGREEMENT, algorithm, provider,
        KeyAgreement.getInstance(algorithm, provider));
  }

  static MessageDigest messageDigest(String algorithm, Provider provider) throws GeneralSecurityException {
    if (provider == null) {
      return MessageDigest.getInstance(algorithm);
    }
    Object known = find(Kind.MESSAGE_DIGEST, algorithm, provider);
    MessageDigest digest = known != null ? (MessageDigest) known : keep(Kind.MESSAGE_DIGEST, algorithm, provider,
        MessageDigest.getInstance(algorithm, provider));
    digest.reset(); // a use that failed half-way may have left input behind
    return digest;
  }

  static Mac mac(String algorithm, Provider provider) throws GeneralSecurityException {
    if (provider == null) {
      return Mac.getInstance(algorithm);
    }
    Object known = find(Kind.MAC, algorithm, provider);
    return known != null ? (Mac) known : keep(Kind.MAC, algorithm, provider, Mac.getInstance(algorithm, provider));
  }

  static KeyFactory keyFactory(String algorithm, Provider provider) throws GeneralSecurityException {
    if (provider == null) {
      return KeyFactory.getInstance(algorithm);
    }
    Object known = find(Kind.KEY_FACTORY, algorithm, provider);
    return known != null ? (KeyFactory) known : keep(Kind.KEY_FACTORY, algorithm, provider,
        KeyFactory.getInstance(algorithm, provider));
  }

  private static Object find(Kind kind, String algorithm, Provider provider) {
    List<Engine> engines = ENGINES.get();
    for (int i = 0; i < engines.size(); i++) {
      Engine e = engines.get(i);
      if (e.kind() == kind && e.provider() == provider && e.algorithm().equals(algorithm)) {
        return e.engine();
      }
    }
    return null;
  }

  private static <T> T keep(Kind kind, String algorithm, Provider provider, T engine) {
    List<Engine> engines = ENGINES.get();
    if (engines.size() >= 32) {
      engines.clear(); // only a caller naming ever new providers gets here; bound the memory
    }
    engines.add(new Engine(kind, algorithm, provider, engine));
    return engine;
  }
}
