package org.danemsg.tools.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MachineStallsTest {

  @Test
  void readsTheTotalOfTheAskedLineOfAPressureFile(@TempDir Path dir) throws Exception {
    Path io = dir.resolve("io");
    Files.writeString(io, "some avg10=12.25 avg60=6.17 avg300=2.39 total=24589399\n"
        + "full avg10=10.24 avg60=4.55 avg300=1.54 total=17176754\n");
    assertEquals(24_589_399L, MachineStalls.pressureTotal(io, "some"));
    assertEquals(17_176_754L, MachineStalls.pressureTotal(io, "full"));
  }

  @Test
  void aCounterTheKernelDoesNotOfferIsUnknownNotZero(@TempDir Path dir) throws Exception {
    Path cpu = dir.resolve("cpu");
    Files.writeString(cpu, "some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n"); // kernels before 5.13: no full line
    assertEquals(-1, MachineStalls.pressureTotal(cpu, "full"));
    assertEquals(-1, MachineStalls.pressureTotal(dir.resolve("absent"), "some"));
    Path garbled = dir.resolve("garbled");
    Files.writeString(garbled, "full total=lots\n");
    assertEquals(-1, MachineStalls.pressureTotal(garbled, "full"));
  }

  @Test
  void theReportGivesWhatChangedInMillisecondsOrNullWhereUnknown() throws Exception {
    MachineStalls before = MachineStalls.read();
    Thread.sleep(50);
    Map<String, Object> m = MachineStalls.read().since(before);
    boolean psi = Files.isReadable(Path.of("/proc/pressure/io"));
    for (String key : new String[] {"disk-stall-ms", "cpu-wait-ms"}) {
      if (psi) {
        assertTrue(((Long) m.get(key)) >= 0, key + " in " + m);
      } else {
        assertNull(m.get(key), key + " in " + m);
      }
    }
    assertTrue(MachineStalls.stolenNanosNow() >= 0, "Linux's /proc/stat has a steal column");
    assertTrue(((Long) m.get("cpu-stolen-ms")) >= 0, m.toString());
  }
}
