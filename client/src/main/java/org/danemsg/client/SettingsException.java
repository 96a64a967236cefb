package org.danemsg.client;

/**
 * A setting is missing or wrong. The message is one line naming the setting (and its environment
 * variable) and what is wrong with it; it is shown to the operator as it is and the node stops.
 */
public final class SettingsException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /** A problem described by {@code message}. */
  public SettingsException(String message) {
    super(message);
  }
}
