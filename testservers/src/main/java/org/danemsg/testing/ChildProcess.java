package org.danemsg.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One server process started by a test fixture: output to a log file, stopped by its PID (SIGTERM,
 * then SIGKILL after 5 s) when asked and by a JVM shutdown hook, paused with SIGSTOP.
 */
public final class ChildProcess {

  private final String label;
  private final Process process;
  private final Path log;
  private final Thread shutdownHook;

  private ChildProcess(String label, Process process, Path log) {
    this.label = label;
    this.process = process;
    this.log = log;
    this.shutdownHook = new Thread(this::destroy, "stop " + label);
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /** Starts {@code command} in {@code directory}, stdout and stderr appended to {@code log}. */
  public static ChildProcess start(String label, List<String> command, Path directory, Path log) {
    Path binary = Path.of(command.get(0));
    if (!Files.isExecutable(binary)) {
      throw new IllegalStateException(binary + " is not installed; the DNS and MQTT tests need real"
          + " servers: run the install command from the project README / shared/test-infra.md"
          + " (apt-get install -y knot knot-dnsutils mosquitto mosquitto-clients)");
    }
    try {
      Process p = new ProcessBuilder(command)
          .directory(directory.toFile())
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
          .start();
      return new ChildProcess(label, p, log);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + label + ": " + command, e);
    }
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** SIGTERM, wait up to 5 s, then SIGKILL. Idempotent. */
  public void stop() {
    destroy();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException alreadyShuttingDown) {
      // the hook runs anyway
    }
  }

  /**
   * SIGSTOP: the process stays, its sockets stay open, nothing is answered. Returns once every thread
   * of it is stopped: the kernel stops the others only when one of them takes the signal, and until then
   * (on a busy machine, milliseconds) a server's other threads still answer.
   */
  public void pause() {
    signal("STOP");
    Path tasks = Path.of("/proc", Long.toString(process.pid()), "task");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (process.isAlive() && !allStopped(tasks)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(label + " (pid " + process.pid() + ") did not stop within 5 s of SIGSTOP");
      }
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }
  }

  /** Every thread in {@code tasks} (a /proc/PID/task folder) is stopped (state T or t); true where /proc is not. */
  private static boolean allStopped(Path tasks) {
    if (!Files.isDirectory(tasks)) {
      return true;
    }
    try (Stream<Path> threads = Files.list(tasks)) {
      return threads.allMatch(thread -> {
        try {
          String stat = Files.readString(thread.resolve("stat"), StandardCharsets.ISO_8859_1); // any byte
          // pid (comm) state ...: comm may hold spaces and parentheses, the state follows the last ')'
          char state = stat.charAt(stat.lastIndexOf(')') + 2);
          return state == 'T' || state == 't';
        } catch (IOException | StringIndexOutOfBoundsException gone) {
          return true; // the thread ended
        }
      });
    } catch (IOException e) {
      return false;
    }
  }

  /** SIGCONT after {@link #pause()}. */
  public void resume() {
    signal("CONT");
  }

  public String log() {
    try {
      return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      return "(cannot read " + log + ": " + e + ")";
    }
  }

  private void destroy() {
    if (!process.isAlive()) {
      return;
    }
    signal("CONT"); // a stopped process does not act on SIGTERM until continued
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  private void signal(String signal) {
    if (!process.isAlive()) {
      return;
    }
    try {
      Process kill = new ProcessBuilder("/bin/kill", "-" + signal, Long.toString(process.pid()))
          .redirectErrorStream(true).start();
      if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new IllegalStateException("kill -" + signal + " " + process.pid() + " failed: "
            + new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  @Override
  public String toString() {
    return label + " (pid " + process.pid() + ")";
  }

  /** A port that was free on 127.0.0.1 a moment ago (TCP; servers here bind UDP on it too). */
  public static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port on 127.0.0.1", e);
    }
  }

  /** Runs a short command to completion and returns its output; fails on a non-zero exit. */
  public static String run(List<String> command, Path directory) {
    try {
      Process p = new ProcessBuilder(command).directory(directory.toFile())
          .redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(command + " did not finish within 30 s");
      }
      String text = new String(out, StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new IllegalStateException(command + " exited with " + p.exitValue() + ": " + text);
      }
      return text;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Deletes a directory tree, best effort. */
  public static void deleteTree(Path directory) {
    if (directory == null || !Files.exists(directory)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(directory)) {
      List<Path> all = new ArrayList<>(paths.sorted(Comparator.reverseOrder()).toList());
      for (Path p : all) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      // a left-over temp folder is harmless
    }
  }
}
