package org.danemsg.tools.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.Reader;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import javax.management.ListenerNotFoundException;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

/**
 * The JVM the bench's senders run in. Latency is measured from each message's scheduled send time, and
 * the senders share the machine with the node, so the senders' own JVM shows in the latency twice: its
 * pauses count as latency, and its CPU competes with the node's. With the JVM's defaults, at 1,100 msg/s
 * on 2 cores: G1 (a young generation of about 280 MB) paused the senders for 9-28 ms every 1.7-4 s (in
 * the slowest 1 % of messages the senders were then late by 6.7 ms on average, their messages 6.5 ms on
 * the way to the node, the node 3.3 ms), and C2's compilations took 38 % of the senders' CPU during the
 * run (0.75 ms a message against 0.50 with C1 only). So the bench runs its senders in a JVM of known
 * options ({@link #DEFAULT_OPTIONS}: the serial collector with a small young generation and a heap that
 * does not grow, pauses of a few milliseconds; C1 only), started from the one the user started, and
 * reports that JVM's own collector pauses during the measured run ({@link Pauses}) next to the latency.
 */
public final class SendersJvm {

  /** Set in the environment of the JVM started for the senders (so it does not start another). */
  public static final String CHILD_ENV = "DANEMSG_BENCH_SENDERS_JVM";

  /** The default {@code --senders-jvm-options}. */
  public static final String DEFAULT_OPTIONS =
      "-XX:+UseSerialGC -Xms256m -Xmx256m -Xmn32m -XX:MetaspaceSize=96m -XX:TieredStopAtLevel=1";

  /** Options of the starting JVM not to pass on: a choice of collector (it would clash), a debugger's port. */
  private static final Pattern NOT_INHERITED = Pattern.compile("-XX:[+-]Use\\w*GC|-agentlib:jdwp.*|-Xdebug|-Xrunjdwp.*");

  private SendersJvm() {}

  /** Whether this JVM is the one started for the senders. */
  public static boolean isSendersJvm() {
    return System.getenv(CHILD_ENV) != null;
  }

  /**
   * Runs {@code tools <args>} in a new JVM with {@code options} (after this JVM's own options, without
   * its choice of collector), its output copied to {@code out} and {@code err}; returns its exit status.
   */
  public static int run(List<String> options, List<String> args, PrintWriter out, PrintWriter err)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String inherited : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (!NOT_INHERITED.matcher(inherited).matches()) {
        command.add(inherited); // -D settings, -Xlog, an agent: as the user gave them
      }
    }
    command.addAll(options);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add("org.danemsg.tools.Tools");
    command.addAll(args);
    err.println("bench: the senders run in a JVM of their own with " + String.join(" ", options)
        + " (--senders-jvm-options; 'none' keeps them in this JVM)");
    err.flush();
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().put(CHILD_ENV, "1");
    Process process = builder.start();
    process.getOutputStream().close();
    Thread stop = new Thread(process::destroy, "bench-senders-jvm-stop");
    Runtime.getRuntime().addShutdownHook(stop);
    Thread copyOut = copy(process.getInputStream(), out, "bench-senders-jvm-out");
    Thread copyErr = copy(process.getErrorStream(), err, "bench-senders-jvm-err");
    try {
      int status = process.waitFor();
      copyOut.join();
      copyErr.join();
      return status;
    } finally {
      process.destroy();
      try {
        Runtime.getRuntime().removeShutdownHook(stop);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs anyway
      }
    }
  }

  private static Thread copy(InputStream from, PrintWriter to, String name) {
    Thread t = new Thread(() -> {
      try (Reader reader = new InputStreamReader(from, StandardCharsets.UTF_8)) {
        char[] buffer = new char[8192];
        int n;
        while ((n = reader.read(buffer)) >= 0) {
          to.write(buffer, 0, n);
          to.flush();
        }
      } catch (IOException e) {
        // the process ended
      }
    }, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  /**
   * This JVM's collector pauses from {@link #start()} to {@link #stop()}: count, total and longest, from
   * the JVM's garbage collection notifications.
   */
  static final class Pauses implements NotificationListener {
    private final List<NotificationEmitter> emitters = new ArrayList<>();
    private long count;
    private long totalMillis;
    private long maxMillis;

    static Pauses start() {
      Pauses pauses = new Pauses();
      for (GarbageCollectorMXBean bean : ManagementFactory.getGarbageCollectorMXBeans()) {
        if (bean instanceof NotificationEmitter emitter) {
          emitter.addNotificationListener(pauses, null, null);
          pauses.emitters.add(emitter);
        }
      }
      return pauses;
    }

    @Override
    public synchronized void handleNotification(Notification notification, Object handback) {
      if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(notification.getType())) {
        return;
      }
      GarbageCollectionNotificationInfo info =
          GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData());
      String action = info.getGcAction().toLowerCase(java.util.Locale.ROOT);
      if (info.getGcCause().equals("No GC") || action.contains("cycle") || action.contains("concurrent")) {
        return; // a concurrent collector's cycle, not a pause
      }
      long millis = info.getGcInfo().getDuration();
      count++;
      totalMillis += millis;
      maxMillis = Math.max(maxMillis, millis);
    }

    /** Stops counting and gives the report's {@code senders-jvm} member. */
    synchronized Map<String, Object> stop() {
      for (NotificationEmitter emitter : emitters) {
        try {
          emitter.removeNotificationListener(this);
        } catch (ListenerNotFoundException e) {
          // not registered: nothing to remove
        }
      }
      emitters.clear();
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("jvm-options", String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()));
      report.put("collectors", ManagementFactory.getGarbageCollectorMXBeans().stream()
          .map(GarbageCollectorMXBean::getName).toList());
      report.put("gc-pauses-during-run", count);
      report.put("gc-pause-total-ms", totalMillis);
      report.put("gc-pause-max-ms", maxMillis);
      return report;
    }
  }
}
