package org.danemsg.protocol;

/** A message could not be sealed; the message says why, for the person sending it. */
public final class SealException extends Exception {

  private static final long serialVersionUID = 1L;

  /** A sealing problem described by {@code message}. */
  public SealException(String message) {
    super(message);
  }
}
