package org.danemsg.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code tools bench} options (a whole run, with node.jar, is the integration module's BenchCommandIT). */
class BenchOptionsTest {

  @Test
  void givenServersNeedAllTheirOptions() {
    ToolsRun run = ToolsRun.of("bench", "--broker", "127.0.0.1:1883");
    assertEquals(CommandFailure.USAGE, run.exit(), run.toString());
    assertTrue(run.oneErrorLine(), run.toString());
  }
}
