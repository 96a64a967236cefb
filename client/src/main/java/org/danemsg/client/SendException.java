package org.danemsg.client;

/** A message could not be sent; the message is one line saying why, for the operator. */
public final class SendException extends Exception {

  private static final long serialVersionUID = 1L;

  /** A failure described by {@code message}. */
  public SendException(String message) {
    super(message);
  }

  /** A failure described by {@code message}, caused by {@code cause}. */
  public SendException(String message, Throwable cause) {
    super(message, cause);
  }
}
