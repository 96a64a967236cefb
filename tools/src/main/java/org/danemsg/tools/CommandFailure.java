package org.danemsg.tools;

/**
 * A command could not do its job for a reason the user can act on. Its message is printed as one
 * line on stderr, without a stack trace, and the tools exit with {@link #exitCode()}.
 */
public final class CommandFailure extends RuntimeException {

  /** The exit status of a failure. */
  public static final int FAILURE = 1;
  /** The exit status of bad usage. */
  public static final int USAGE = 2;

  private static final long serialVersionUID = 1L;
  private final int exitCode;

  private CommandFailure(String message, Throwable cause, int exitCode) {
    super(message, cause);
    this.exitCode = exitCode;
  }

  /** The job failed (exit 1). */
  public static CommandFailure failed(String message) {
    return new CommandFailure(message, null, FAILURE);
  }

  /** The job failed (exit 1), because of {@code cause} (shown with --verbose). */
  public static CommandFailure failed(String message, Throwable cause) {
    return new CommandFailure(message, cause, FAILURE);
  }

  /** The command was used wrongly (exit 2). */
  public static CommandFailure usage(String message) {
    return new CommandFailure(message, null, USAGE);
  }

  /** The exit status. */
  public int exitCode() {
    return exitCode;
  }
}
