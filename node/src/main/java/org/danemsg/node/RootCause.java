package org.danemsg.node;

/** The innermost cause of a failure, as one line for the log: its class's simple name and its message. */
final class RootCause {

  private RootCause() {}

  static String describe(Throwable e) {
    Throwable cause = e;
    while (cause.getCause() != null && cause.getCause() != cause) {
      cause = cause.getCause();
    }
    String message = cause.getMessage();
    return cause.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }
}
