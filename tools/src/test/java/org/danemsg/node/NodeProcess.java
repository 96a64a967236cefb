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

/**
 * A node as a process of its own ({@code java <options> -jar node/target/node.jar --config FILE}), so that
 * its heap limit is real and its memory figures are its own. Its stdout (the printed lines) and stderr
 * (its log) go to files in {@code folder}.
 */
final class NodeProcess implements AutoCloseable {

  static final Path NODE_JAR = Path.of("../node/target/node.jar");

  private final List<String> command;
  private final Path folder;
  private Process process;
  private int starts;

  NodeProcess(Path configFile, Path folder, List<String> jvmOptions) {
    this.folder = folder;
    this.command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmOptions);
    command.addAll(List.of("-jar", NODE_JAR.toAbsolutePath().toString(), "--config", configFile.toString()));
  }

  /** Starts the node and waits until it has subscribed. */
  NodeProcess start() {
    starts++;
    ProcessBuilder builder = new ProcessBuilder(command).directory(folder.toFile())
        .redirectOutput(ProcessBuilder.Redirect.appendTo(folder.resolve("stdout.txt").toFile()))
        .redirectError(ProcessBuilder.Redirect.appendTo(folder.resolve("node.log").toFile()));
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
    int subscribedBefore = count(log(), "subscribed to");
    Poll.until(Duration.ofSeconds(60), () -> {
      if (!process.isAlive()) {
        throw new IllegalStateException("the node exited at start (" + process.exitValue() + "): " + tail());
      }
      return count(log(), "subscribed to") > subscribedBefore;
    }, () -> "the node did not subscribe: " + tail());
    return this;
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** The most memory the process has had resident (VmHWM), in bytes. */
  long peakRssBytes() {
    return statusField("VmHWM:");
  }

  long rssBytes() {
    return statusField("VmRSS:");
  }

  private long statusField(String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
        if (line.startsWith(field)) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      // gone
    }
    return -1;
  }

  String stdout() {
    return read(folder.resolve("stdout.txt"));
  }

  String log() {
    return read(folder.resolve("node.log"));
  }

  String tail() {
    String log = log();
    return log.substring(Math.max(0, log.length() - 3000));
  }

  /** SIGTERM: the node drains and exits. */
  void stop() {
    process.destroy();
    waitFor();
  }

  /** SIGKILL: a crash. */
  void kill() {
    process.destroyForcibly();
    waitFor();
  }

  @Override
  public void close() {
    if (process != null && process.isAlive()) {
      kill();
    }
  }

  private void waitFor() {
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static int count(String text, String part) {
    int n = 0;
    for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + part.length())) {
      n++;
    }
    return n;
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
