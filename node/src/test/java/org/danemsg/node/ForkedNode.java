package org.danemsg.node;

import com.typesafe.config.ConfigRenderOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A test device's node run as a JVM of its own ({@code java -Xmx… org.danemsg.node.Main --config FILE}
 * on this test's class path), so that its heap limit and memory figures are its own, as in a
 * deployment. Its log goes to a file in the device's data folder, with the node's shipped logging setup.
 */
final class ForkedNode implements AutoCloseable {

  private final Process process;
  private final Path log;
  private final long logStart;

  private ForkedNode(Process process, Path log, long logStart) {
    this.process = process;
    this.log = log;
    this.logStart = logStart;
  }

  /** Starts {@code device}'s node with {@code heap} as -Xmx and waits until it has subscribed. */
  static ForkedNode start(TestDevice device, String heap, Duration within) {
    try {
      Path folder = device.dataPath.getParent().resolve(device.dataPath.getFileName() + "-process");
      Files.createDirectories(folder);
      Path config = folder.resolve("node.conf");
      Files.writeString(config, "danemsg = " + device.config().getConfig("danemsg").root()
          .render(ConfigRenderOptions.concise()));
      Path log = folder.resolve("node.log");
      long logStart = Files.exists(log) ? Files.size(log) : 0;
      String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
      Path logback = Path.of(Node.class.getResource("/logback.xml").toURI());
      List<String> command = new ArrayList<>(List.of(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xmx" + heap, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
          "-Dlogback.configurationFile=" + logback,
          "-cp", classPath, Main.class.getName(), "--config", config.toString()));
      Process process = new ProcessBuilder(command).directory(folder.toFile())
          .redirectOutput(ProcessBuilder.Redirect.appendTo(folder.resolve("node-stdout.txt").toFile()))
          .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
          .start();
      ForkedNode node = new ForkedNode(process, log, logStart);
      Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly));
      Poll.until(within, () -> !process.isAlive() || node.log().contains("subscribed to"),
          () -> "the node did not subscribe: " + node.log());
      if (!process.isAlive()) {
        throw new AssertionError("the node exited at start: " + node.log());
      }
      return node;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** What this run of the node logged so far. */
  String log() {
    try {
      byte[] all = Files.readAllBytes(log);
      return new String(all, (int) logStart, all.length - (int) logStart, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
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

  /** SIGTERM, as a service manager stops it; waits for the exit. */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
