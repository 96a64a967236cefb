package org.danemsg.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.danemsg.testing.TestLogs;
import org.danemsg.tools.Tools;
import org.jose4j.json.JsonUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tiny {@code tools bench} run end to end: the report's structure and zero loss, not the speed. An
 * integration test (after packaging) because the bench runs node.jar as a process.
 */
class BenchCommandIT {

  /** Built by the node module's package phase, before this module's integration tests in the reactor. */
  private static final Path NODE_JAR = Path.of("../node/target/node.jar");

  @Test
  @SuppressWarnings("unchecked")
  void smallRunDeliversEveryMessageOnceAndWritesTheReport(@TempDir Path dir) throws Exception {
    assertTrue(Files.isReadable(NODE_JAR), "node.jar not built (run mvn verify from the root)");
    Path json = dir.resolve("report.json");
    Run run = Run.of("bench", "--messages", "200", "--warmup", "50", "--first-probes", "1",
        "--senders", "2", "--node-jar", NODE_JAR.toString(), "--json", json.toString(),
        "--work-dir", TestLogs.path("bench").toString(), "--keep"); // the node's files kept next to the test's log
    assertEquals(0, run.exit(), run.toString());
    assertTrue(run.out().contains("delivered (printed once)"), run.out());
    assertTrue(run.err().contains("sent"), "progress lines on stderr: " + run.err());

    Map<String, Object> report = JsonUtil.parseJson(Files.readString(json));
    Map<String, Object> result = (Map<String, Object>) report.get("result");
    assertEquals(200L, result.get("sent"));
    assertEquals(200L, result.get("delivered"));
    assertEquals(0L, result.get("lost"));
    assertEquals(0L, result.get("duplicated"));
    Map<String, Object> latency = (Map<String, Object>) report.get("latency-ms");
    assertEquals(200L, latency.get("count"));
    for (String p : new String[] {"p50", "p90", "p99", "max"}) {
      assertNotNull(latency.get(p), p);
    }
    Map<String, Object> first = (Map<String, Object>) report.get("first-message-to-new-peer");
    assertEquals(1L, first.get("delivered"));
    // timed after its path was warmed, against the work of both ends: each part measured, the sum theirs
    assertTrue(java.util.regex.Pattern.compile("first messages to new peers, 1 probe\\(s\\) \\(their code warmed by"
        + " [1-9][0-9]* unmeasured rounds\\)").matcher(run.err()).find(), run.err());
    Map<String, Object> probe = ((List<Map<String, Object>>) first.get("each")).get(0);
    double parts = 0;
    for (String part : new String[] {"lookup-and-seal-ms", "receiver-lookup-ms", "open-ms"}) {
      assertTrue(((Number) probe.get(part)).doubleValue() > 0, part + " in " + probe);
      parts += ((Number) probe.get(part)).doubleValue();
    }
    assertEquals(parts, ((Number) probe.get("inherent-ms")).doubleValue(), 0.03, probe.toString());
    assertEquals(((Number) probe.get("printed-ms")).doubleValue() / ((Number) probe.get("inherent-ms")).doubleValue(),
        ((Number) first.get("median-ratio-to-inherent-work")).doubleValue(), 0.01, first.toString());
    Map<String, Object> node = (Map<String, Object>) report.get("receiving-node");
    Map<String, Object> idle = (Map<String, Object>) node.get("idle-after-run");
    assertTrue(((Number) idle.get("rss-mb")).longValue() > 0, node.toString());
    assertNotNull(report.get("cpu"));
    // What the machine took from the run: stolen CPU always (Linux's /proc/stat), stalls where the kernel has PSI
    Map<String, Object> machine = (Map<String, Object>) report.get("machine");
    assertTrue(((Number) machine.get("cpu-stolen-ms")).longValue() >= 0, machine.toString());
    if (Files.isReadable(Path.of("/proc/pressure/io"))) {
      assertTrue(((Number) machine.get("disk-stall-ms")).longValue() >= 0, machine.toString());
      assertTrue(((Number) machine.get("cpu-wait-ms")).longValue() >= 0, machine.toString());
    }
    assertTrue(run.out().contains("machine: CPU stolen / disk stalls / CPU waits"), run.out());
    assertNotNull(report.get("targets"));
    // The senders ran in a JVM of their own with the serial collector (whatever this JVM uses); its pauses are reported
    assertTrue(run.err().contains("the senders run in a JVM of their own"), run.err());
    Map<String, Object> sendersJvm = (Map<String, Object>) report.get("senders-jvm");
    assertTrue(((List<Object>) sendersJvm.get("collectors")).contains("Copy"), sendersJvm.toString());
    assertTrue(String.valueOf(sendersJvm.get("jvm-options")).contains("-XX:+UseSerialGC"), sendersJvm.toString());
    assertNotNull(sendersJvm.get("gc-pause-max-ms"));
  }

  @Test
  @SuppressWarnings("unchecked")
  void sendersJvmOptionsNoneKeepsTheSendersInThisJvm(@TempDir Path dir) throws Exception {
    Path json = dir.resolve("report.json");
    Run run = Run.of("bench", "--messages", "50", "--warmup", "10", "--first-probes", "1",
        "--node-jar", NODE_JAR.toString(), "--json", json.toString(), "--senders-jvm-options", "none");
    assertEquals(0, run.exit(), run.toString());
    assertFalse(run.err().contains("the senders run in a JVM of their own"), run.err());
    Map<String, Object> sendersJvm = (Map<String, Object>) JsonUtil.parseJson(Files.readString(json)).get("senders-jvm");
    assertEquals(java.lang.management.ManagementFactory.getGarbageCollectorMXBeans().stream()
        .map(java.lang.management.GarbageCollectorMXBean::getName).toList(), sendersJvm.get("collectors"));
  }

  /** The tools run in-process, with what they printed. */
  private record Run(int exit, String out, String err) {
    static Run of(String... args) {
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      int exit = Tools.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
      return new Run(exit, out.toString(), err.toString());
    }
  }
}
