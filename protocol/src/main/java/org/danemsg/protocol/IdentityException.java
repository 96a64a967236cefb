package org.danemsg.protocol;

/**
 * An identity could not be created, read or written. The message says what was wrong, with which
 * file, and what to do; it is meant to be shown to the operator as it is.
 */
public final class IdentityException extends Exception {

  private static final long serialVersionUID = 1L;

  /** An identity problem described by {@code message}. */
  public IdentityException(String message) {
    super(message);
  }

  /** An identity problem described by {@code message}, caused by {@code cause}. */
  public IdentityException(String message, Throwable cause) {
    super(message, cause);
  }
}
