package org.danemsg.protocol;

import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECParameterSpec;

/**
 * The key types a device identity may have: EC P-256 (the default) or RSA of 2048 to 4096 bits
 * (what the Python original uses).
 *
 * <p>The upper bounds are there because keys come from DNS, and a sender's zone may be an
 * attacker's: checking a signature with an RSA key costs about the square of its size, and with a
 * large public exponent as much as a private operation, so an oversized key would make every
 * message claiming that sender expensive to reject.
 */
public enum KeyType {
  /** ECDSA / ECDH on NIST P-256 (secp256r1): ES256 signatures, ECDH-ES key agreement. */
  EC_P256,
  /** RSA, 2048 to 4096 bits: RS256 signatures, RSA-OAEP-256 key transport. */
  RSA;

  /** The smallest RSA modulus accepted, in bits. */
  public static final int MIN_RSA_BITS = 2048;

  /** The largest RSA modulus accepted, in bits. */
  public static final int MAX_RSA_BITS = 4096;

  /**
   * The largest RSA public exponent accepted, in bits. Keys use 65537 (17 bits) in practice; a huge
   * exponent is legal RSA but makes each verification cost as much as signing.
   */
  public static final int MAX_RSA_EXPONENT_BITS = 32;

  /**
   * The type of {@code key}, or {@code null} when it is of no supported type; {@link #problemWith}
   * says why.
   */
  public static KeyType of(PublicKey key) {
    return problemWith(key) == null ? (key instanceof RSAPublicKey ? RSA : EC_P256) : null;
  }

  /** Why {@code key} cannot be used here, or {@code null} when it can. */
  public static String problemWith(PublicKey key) {
    if (key instanceof RSAPublicKey rsa) {
      int bits = rsa.getModulus().bitLength();
      if (bits < MIN_RSA_BITS) {
        return "RSA key of " + bits + " bits is too short (at least " + MIN_RSA_BITS + " bits)";
      }
      if (bits > MAX_RSA_BITS) {
        return "RSA key of " + bits + " bits: only " + MIN_RSA_BITS + " to " + MAX_RSA_BITS + " are accepted";
      }
      int exponentBits = rsa.getPublicExponent().bitLength();
      return exponentBits > MAX_RSA_EXPONENT_BITS
          ? "RSA public exponent of " + exponentBits + " bits: at most " + MAX_RSA_EXPONENT_BITS
              + " are accepted (65537 is usual)"
          : null;
    }
    if (key instanceof ECPublicKey ec) {
      return isP256(ec.getParams()) ? null : "EC key is not on curve P-256";
    }
    return "key algorithm " + (key == null ? "none" : key.getAlgorithm())
        + " is not supported (EC P-256 or RSA only)";
  }

  /** A short description such as {@code EC P-256} or {@code RSA-2048}. */
  public static String describe(PublicKey key) {
    if (key instanceof RSAPublicKey rsa) {
      return "RSA-" + rsa.getModulus().bitLength();
    }
    if (key instanceof ECPublicKey ec) {
      return isP256(ec.getParams()) ? "EC P-256" : "EC (" + ec.getParams().getCurve().getField().getFieldSize() + " bits)";
    }
    return key == null ? "none" : key.getAlgorithm();
  }

  private static final java.math.BigInteger P256_ORDER = new java.math.BigInteger(
      "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16);

  static boolean isP256(ECParameterSpec params) {
    // P-256 is identified by its order; comparing curve names depends on the provider.
    return params != null
        && params.getOrder().equals(P256_ORDER)
        && params.getCurve().getField().getFieldSize() == 256;
  }
}
