package org.danemsg.tools.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.danemsg.testing.LocalServers;

/**
 * The receiving node of a bench run: {@code java <jvm options> -jar node.jar} as a process of its own,
 * so that its memory figures are its own; configured through the environment as in a deployment.
 * Its stdout (the printed messages) and stderr (its log) go to files in its folder.
 */
final class ReceivingNode implements AutoCloseable {

  private static final Pattern USED = Pattern.compile("used (\\d+)K");
  private static final Pattern TOTAL = Pattern.compile("total (\\d+)K");

  private final Process process;
  private final Path folder;
  private final Thread hook;

  private ReceivingNode(Process process, Path folder) {
    this.process = process;
    this.folder = folder;
    this.hook = new Thread(process::destroyForcibly, "stop receiving node");
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /** Starts the node; returns once it has subscribed (its log says so), or throws. */
  static ReceivingNode start(List<String> commandPrefix, Path nodeJar, List<String> jvmOptions,
      Map<String, String> environment, Path folder, Duration within) {
    // The prefix (e.g. taskset -c 0) runs java itself, so the node's pid is still the JVM's.
    List<String> command = new ArrayList<>(commandPrefix);
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmOptions);
    command.add("-jar");
    command.add(nodeJar.toString());
    ProcessBuilder builder = new ProcessBuilder(command).directory(folder.toFile())
        .redirectOutput(folder.resolve("node-stdout.txt").toFile())
        .redirectError(folder.resolve("node.log").toFile());
    builder.environment().putAll(environment);
    ReceivingNode node;
    try {
      node = new ReceivingNode(builder.start(), folder);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the node: " + command, e);
    }
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline) {
      if (!node.process.isAlive()) {
        throw new IllegalStateException("the node exited at start (status " + node.process.exitValue() + "): "
            + LocalServers.tail(folder.resolve("node.log")));
      }
      if (node.log().contains("subscribed to")) {
        return node;
      }
      sleep(50);
    }
    node.close();
    throw new IllegalStateException("the node did not subscribe within " + within.toSeconds() + " s: "
        + LocalServers.tail(folder.resolve("node.log")));
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** Resident set size in bytes (VmRSS of /proc/PID/status), or -1 where unreadable. */
  long rssBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      // not Linux, or the process is gone
    }
    return -1;
  }

  /** CPU time (user + system) the node used so far, in nanoseconds, or -1 where unreadable. */
  long cpuNanos() {
    return cpuNanosOf(process.pid());
  }

  /** CPU time of a process from /proc/PID/stat (fields 14 and 15, in clock ticks of 10 ms). */
  static long cpuNanosOf(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * NANOS_PER_TICK;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** The unit of /proc/stat and /proc/PID/stat (USER_HZ: 100 a second on every Linux this runs on). */
  static final long NANOS_PER_TICK = 10_000_000L;

  /**
   * The first eight counters of /proc/stat's {@code cpu} line (user, nice, system, idle, iowait, irq,
   * softirq, steal), in ticks of {@link #NANOS_PER_TICK}; null where they cannot be read.
   */
  static long[] machineTicks() {
    try {
      String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
      if (f.length < 9 || !f[0].equals("cpu")) {
        return null;
      }
      long[] ticks = new long[8];
      for (int i = 0; i < ticks.length; i++) {
        ticks[i] = Long.parseLong(f[i + 1]);
      }
      return ticks;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** Busy CPU time of the whole machine (all processes), in nanoseconds, from /proc/stat; -1 where unreadable. */
  static long machineBusyNanos() {
    long[] ticks = machineTicks();
    if (ticks == null) {
      return -1;
    }
    long busy = 0;
    for (int i = 0; i < ticks.length; i++) {
      if (i != 3 && i != 4) { // idle and iowait
        busy += ticks[i];
      }
    }
    return busy * NANOS_PER_TICK;
  }

  /** Java heap used and committed in bytes, from {@code jcmd PID GC.heap_info}; null where jcmd fails. */
  long[] heapBytes() {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    if (!Files.isExecutable(jcmd)) {
      return null;
    }
    try {
      Process p = new ProcessBuilder(jcmd.toString(), Long.toString(process.pid()), "GC.heap_info")
          .redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        return null;
      }
      long used = 0;
      long total = 0;
      boolean found = false;
      for (String line : out.split("\n")) {
        // G1: "garbage-first heap total …K, used …K"; Serial/Parallel: one line per generation
        if (line.contains("Metaspace") || line.contains("class space") || !line.contains("total")) {
          continue;
        }
        Matcher u = USED.matcher(line);
        Matcher t = TOTAL.matcher(line);
        if (u.find() && t.find()) {
          used += Long.parseLong(u.group(1)) * 1024;
          total += Long.parseLong(t.group(1)) * 1024;
          found = true;
        }
      }
      return found ? new long[] {used, total} : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  String log() {
    try {
      return Files.readString(folder.resolve("node.log"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /** SIGTERM (the node drains and exits), SIGKILL after 15 s. */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(15, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // the hook runs anyway
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
