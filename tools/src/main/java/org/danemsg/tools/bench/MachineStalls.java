package org.danemsg.tools.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the machine itself took from a run, read from Linux's counters before and after it: CPU time
 * the hypervisor gave to other guests ({@code steal} in {@code /proc/stat}), time every task that wanted
 * the disk was stalled waiting for it ({@code full} of {@code /proc/pressure/io}, pressure stall
 * information), and time some runnable task waited for a CPU ({@code some} of
 * {@code /proc/pressure/cpu}). The node commits each batch of messages with an fsync before it prints
 * and acks them, so a disk that stalls an fsync for 100-200 ms (seen on the shared virtual machines this
 * bench runs on) holds every message behind it that long: a run whose latency tail is the disk's shows
 * it here. The node's own fsyncs count too when nothing else is runnable meanwhile (tens of milliseconds
 * in a quiet run of a few seconds). A counter the kernel does not offer is reported as null.
 */
record MachineStalls(long stolenNanos, long ioFullMicros, long cpuSomeMicros) {

  private static final Path IO_PRESSURE = Path.of("/proc/pressure/io");
  private static final Path CPU_PRESSURE = Path.of("/proc/pressure/cpu");

  /** The counters now. */
  static MachineStalls read() {
    return new MachineStalls(stolenNanosNow(), pressureTotal(IO_PRESSURE, "full"),
        pressureTotal(CPU_PRESSURE, "some"));
  }

  /** The report's {@code machine} member: what changed from {@code before} to now, in milliseconds. */
  Map<String, Object> since(MachineStalls before) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cpu-stolen-ms", difference(before.stolenNanos, stolenNanos, 1_000_000));
    m.put("disk-stall-ms", difference(before.ioFullMicros, ioFullMicros, 1_000));
    m.put("cpu-wait-ms", difference(before.cpuSomeMicros, cpuSomeMicros, 1_000));
    m.put("note", "cpu-stolen: CPU time the hypervisor gave to other guests; disk-stall: time all tasks"
        + " wanting the disk waited for it (pressure stall information, io full); cpu-wait: time some"
        + " runnable task waited for a CPU (cpu some)");
    return m;
  }

  private static Long difference(long before, long after, long unitsPerMilli) {
    return before < 0 || after < 0 ? null : (after - before) / unitsPerMilli;
  }

  /** The {@code steal} column of /proc/stat's {@code cpu} line, in nanoseconds; -1 where it cannot be read. */
  static long stolenNanosNow() {
    long[] ticks = ReceivingNode.machineTicks();
    return ticks == null ? -1 : ticks[7] * ReceivingNode.NANOS_PER_TICK;
  }

  /**
   * The {@code total=} microseconds of the {@code some} or {@code full} line of a pressure file
   * ({@code full avg10=0.00 avg60=0.00 avg300=0.00 total=17186040}); -1 where the kernel has none.
   */
  static long pressureTotal(Path file, String line) {
    try {
      for (String l : Files.readAllLines(file)) {
        String[] f = l.trim().split("\\s+");
        if (f.length > 0 && f[0].equals(line)) {
          for (String field : f) {
            if (field.startsWith("total=")) {
              return Long.parseLong(field.substring("total=".length()));
            }
          }
        }
      }
      return -1;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }
}
