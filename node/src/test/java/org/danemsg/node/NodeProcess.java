package org.danemsg.node;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.danemsg.testing.TestLogs;

/**
 * A test device's node run as a JVM of its own ({@code java <options> org.danemsg.node.Main --config
 * FILE} on this test's class path, with the node's shipped logging set-up), so that its heap limit is
 * real and its memory figures are its own, as in a deployment. It can be stopped (SIGTERM), killed and
 * started again on the same folders. Its configuration, its stdout (the printed lines) and its log go to
 * a folder next to the test's log file, kept after the test: {@code
 * target/test-logs/<TestClass>/<method>.node-<label>/} ({@link TestLogs#path}).
 */
final class NodeProcess implements AutoCloseable {

  /** The launcher's options (bin/danemsg-node). */
  static final List<String> LAUNCHER_OPTIONS =
      List.of("-Xmx128m", "-Xms16m", "-XX:+UseSerialGC", "-XX:MetaspaceSize=64m", "-XX:+ExitOnOutOfMemoryError",
          "-XX:TieredStopAtLevel=1");

  private final List<String> command;
  private final Path folder;
  private Process process;
  private long logStart;

  private NodeProcess(List<String> command, Path folder) {
    this.command = command;
    this.folder = folder;
  }

  /** A node for {@code device}, run with {@code jvmOptions}; not started yet. */
  static NodeProcess of(TestDevice device, List<String> jvmOptions) {
    return of(device, jvmOptions, "");
  }

  /** A node for {@code device} whose folder's name ends in {@code suffix} (members of one identity). */
  static NodeProcess of(TestDevice device, List<String> jvmOptions, String suffix) {
    try {
      String label = device.name.toString().substring(0, device.name.toString().indexOf('.'));
      Path folder = TestLogs.path("node-" + label + suffix);
      Files.createDirectories(folder);
      Path config = device.writeConfigFile(folder.resolve("node.conf"));
      String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
      Path logback = Path.of(Node.class.getResource("/logback.xml").toURI());
      List<String> command = new ArrayList<>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      command.addAll(jvmOptions);
      command.addAll(List.of("-Dlogback.configurationFile=" + logback, "-cp", classPath, Main.class.getName(),
          "--config", config.toString()));
      return new NodeProcess(command, folder);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Starts {@code device}'s node with the launcher's options and waits until it has subscribed. */
  static NodeProcess start(TestDevice device) {
    return of(device, LAUNCHER_OPTIONS).start(Duration.ofSeconds(60));
  }

  /** Starts (again) and waits until this run has subscribed. */
  NodeProcess start(Duration within) {
    launch();
    return awaitSubscribed(within);
  }

  /** Waits until this run has subscribed (a run started with {@link #launch}). */
  NodeProcess awaitSubscribed(Duration within) {
    Process started = process;
    Poll.until(within, () -> !started.isAlive() || log().contains("subscribed to"),
        () -> "the node did not subscribe: " + tail());
    if (!started.isAlive()) {
      throw new AssertionError("the node exited at start (" + started.exitValue() + "): " + tail());
    }
    return this;
  }

  /** Starts (again) without waiting for anything. */
  NodeProcess launch() {
    Path log = folder.resolve("node.log");
    try {
      logStart = Files.exists(log) ? Files.size(log) : 0;
      process = new ProcessBuilder(command).directory(folder.toFile())
          .redirectOutput(ProcessBuilder.Redirect.appendTo(folder.resolve("stdout.txt").toFile()))
          .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
    Process started = process;
    Runtime.getRuntime().addShutdownHook(new Thread(started::destroyForcibly));
    return this;
  }

  /**
   * The CPU time this run used so far, user + system, in milliseconds (/proc/PID/stat, in clock ticks
   * of 10 ms on Linux), or -1.
   */
  long cpuMillis() {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"));
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * 10; // utime, stime
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** Starts the node and waits for it to exit; its exit status. */
  int runToExit(Duration within) {
    try {
      logStart = 0;
      process = new ProcessBuilder(command).directory(folder.toFile())
          .redirectOutput(ProcessBuilder.Redirect.appendTo(folder.resolve("stdout.txt").toFile()))
          .redirectError(ProcessBuilder.Redirect.appendTo(folder.resolve("node.log").toFile()))
          .start();
      if (!process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS)) {
        kill();
        throw new AssertionError("the node did not exit within " + within.toSeconds() + " s: " + tail());
      }
      return process.exitValue();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** A copy of this node's command with {@code options} added to the JVM's. */
  NodeProcess withJvmOptions(String... options) {
    List<String> more = new ArrayList<>(command);
    more.addAll(1, List.of(options));
    return new NodeProcess(more, folder);
  }

  /** The exit status of this run (it has exited). */
  int exitStatus() {
    return process.exitValue();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** A line of /proc/PID/status in bytes (VmRSS: resident now, VmHWM: the most resident so far), or -1. */
  long memory(String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      // not Linux, or the process is gone
    }
    return -1;
  }

  /** What the node printed on stdout, in every run. */
  String stdout() {
    return read(folder.resolve("stdout.txt"), 0);
  }

  /** What this run of the node logged so far. */
  String log() {
    return read(folder.resolve("node.log"), logStart);
  }

  /** What every run of the node logged. */
  String wholeLog() {
    return read(folder.resolve("node.log"), 0);
  }

  Path folder() {
    return folder;
  }

  String tail() {
    String log = log();
    return log.substring(Math.max(0, log.length() - 3000));
  }

  /** SIGTERM, as a service manager stops it; waits for the exit. */
  void stop() {
    process.destroy();
    waitForExit();
  }

  /** SIGKILL: a crash. */
  void kill() {
    process.destroyForcibly();
    waitForExit();
  }

  @Override
  public void close() {
    if (process != null && process.isAlive()) {
      stop();
    }
  }

  /** How often {@code part} occurs in {@code text}. */
  static int count(String text, String part) {
    int n = 0;
    for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + part.length())) {
      n++;
    }
    return n;
  }

  private void waitForExit() {
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  private static String read(Path file, long from) {
    try {
      if (!Files.exists(file)) {
        return "";
      }
      byte[] all = Files.readAllBytes(file);
      int start = (int) Math.min(from, all.length);
      return new String(all, start, all.length - start, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
