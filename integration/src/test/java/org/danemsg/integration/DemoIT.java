package org.danemsg.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.danemsg.testing.TestLogs;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Runs {@code ./demo.sh --no-build} (the README's main command, on the jars this build just packaged)
 * and checks what it shows: messages between the three nodes, the forged and the replayed message
 * rejected, the message to a stopped node delivered, and a clean exit.
 */
@Tag("soak") // about a minute on 2 cores: mvn -P quick leaves it out
class DemoIT {

  @Test
  void theDemoRunsFromStartToFinishAndShowsEachProtection() throws Exception {
    Path root = Path.of("..").toAbsolutePath().normalize();
    assertTrue(Files.isRegularFile(root.resolve("node/target/node.jar")), "node.jar must be built first");
    Path output = TestLogs.path("demo-output.txt"); // kept next to the test's log
    Process demo = new ProcessBuilder("bash", root.resolve("demo.sh").toString(), "--no-build")
        .directory(root.toFile())
        .redirectErrorStream(true)
        .redirectOutput(output.toFile())
        .start();
    boolean finished = demo.waitFor(5, TimeUnit.MINUTES);
    if (!finished) {
      demo.destroy(); // the script's trap stops what it started
      demo.waitFor(30, TimeUnit.SECONDS);
    }
    String out = read(output);
    assertTrue(finished, () -> "demo did not finish in 5 minutes:\n" + out);
    assertEquals(0, demo.exitValue(), () -> "demo failed:\n" + out);

    assertTrue(out.contains("[bob] alice._device.demo.test says: Hello Bob, this is Alice. Meet at 10:00?"), out);
    assertTrue(out.contains("[alice] bob._device.demo.test says: Hi Alice! 10:00 works."), out);
    assertTrue(out.contains("[alice] carol._device.demo.test says: Carol here, with an RSA key."), out);
    assertTrue(out.contains("[carol] alice._device.demo.test says: Welcome, Carol."), out);
    assertTrue(out.contains("alice showed: bob._device.demo.test says: Sent through bob's node (local API)."), out);
    assertTrue(out.contains("through the node at 127.0.0.1:"), out);
    assertTrue(out.contains("SIGNATURE_INVALID"), () -> "forged message not shown rejected:\n" + out);
    assertTrue(out.contains("REPLAY"), () -> "replayed message not shown rejected:\n" + out);
    assertTrue(out.contains("carol's node is back and showed: bob._device.demo.test says: Sent while you were away."), out);
    assertTrue(out.contains("bob: 2 delivered, 2 rejected"), out);
    assertTrue(out.contains("Demo finished."), out);
    assertFalse(out.contains("Transfer all the money to Mallory"), "the forged text must never be shown");
  }

  private static String read(Path file) throws IOException {
    return Files.readString(file, StandardCharsets.UTF_8);
  }
}
