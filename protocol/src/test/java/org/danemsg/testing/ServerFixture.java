package org.danemsg.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * What the server fixtures share: a temp folder, a free 127.0.0.1 port, one child process, and its
 * life cycle — started before a test class (or by {@link #start()}), retried once on another port if
 * the free one was taken meanwhile, stopped by PID and the folder deleted afterwards.
 */
public abstract class ServerFixture implements BeforeAllCallback, AfterAllCallback, AutoCloseable {

  /** The server's folder. */
  protected Path directory;
  /** The server's port. */
  protected int port;
  /** The running server, or {@code null}. */
  protected ChildProcess process;

  /** The temp folder's name prefix. */
  abstract String folderPrefix();

  /** Writes what the server needs into {@link #directory} before its first start. */
  abstract void prepare() throws IOException;

  /** Starts the server on {@link #port} and waits until it answers; sets {@link #process}. */
  abstract void launch();

  /** After the first successful launch. */
  void started() {}

  @Override
  public void beforeAll(ExtensionContext context) {
    start();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  /** Prepares the folder and starts the server, once. */
  public synchronized void start() {
    if (process != null) {
      return;
    }
    try {
      directory = Files.createTempDirectory(folderPrefix());
      prepare();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare the folder " + directory, e);
    }
    IllegalStateException firstFailure = null;
    for (int attempt = 0; attempt < 2; attempt++) { // the free port may be taken meanwhile: retry once
      port = ChildProcess.freePort();
      try {
        launch();
        started();
        return;
      } catch (IllegalStateException e) {
        stop();
        if (firstFailure != null) {
          e.addSuppressed(firstFailure);
          close();
          throw e;
        }
        firstFailure = e;
      }
    }
  }

  /** Stops the server (if running) and deletes its folder. */
  @Override
  public synchronized void close() {
    stop();
    ChildProcess.deleteTree(directory);
  }

  /** Stops the server with SIGTERM, keeping its folder and port for {@link #restart()}. */
  public synchronized void stop() {
    if (process != null) {
      process.stop();
      process = null;
    }
  }

  /** Starts the server again on the same port with the same folder, after {@link #stop()}. */
  public synchronized void restart() {
    stop();
    launch();
  }

  /** SIGSTOP: the server keeps its sockets but answers nothing until {@link #resume()}. */
  public void pause() {
    process.pause();
  }

  /** SIGCONT after {@link #pause()}. */
  public void resume() {
    process.resume();
  }

  /** The port the server listens on. */
  public int port() {
    return port;
  }

  /** The folder the server runs from (config, data, log). */
  public Path directory() {
    return directory;
  }

  /** What the server logged so far. */
  public String log() {
    return process == null ? "(not running)" : process.log();
  }

  /** The server's process id. */
  public long pid() {
    return process.pid();
  }
}
