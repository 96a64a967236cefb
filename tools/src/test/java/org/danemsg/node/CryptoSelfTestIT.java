package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.danemsg.protocol.KeyType;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A Java runtime whose cryptography does not work (seen under emulation: the JCE could not read its
 * policy folder) stops the node at start with one line, instead of a node that quarantines every
 * valid message as DECRYPTION_FAILED.
 */
class CryptoSelfTestIT {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  @Test
  void aRuntimeWithoutWorkingCryptographyStopsTheNodeAtStartWithOneLine() throws Exception {
    TestDevice device = TestDevice.published(knot, broker, "broken-jre", KeyType.EC_P256);
    Path folder = Files.createTempDirectory("selftest-");
    // The same failure as an unreadable policy folder: the JCE finds no policy and allows no cipher.
    Path security = Files.writeString(folder.resolve("java.security"), "crypto.policy=missing-folder\n");
    Process node = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Djava.security.properties=" + security, "-Ddanemsg.crypto.conscrypt=false",
        "-jar", NodeProcess.NODE_JAR.toAbsolutePath().toString(),
        "--config", device.writeConfigFile(folder.resolve("node.conf")).toString())
        .redirectErrorStream(true).start();
    assertTrue(node.waitFor(60, TimeUnit.SECONDS), "the node did not stop");
    String output = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(1, node.exitValue(), output);
    List<String> lines = output.lines().filter(line -> line.contains("crypto self-test")).toList();
    assertEquals(1, lines.size(), output);
    assertFalse(output.contains("\tat "), "a stack trace: " + output);
    assertFalse(output.contains("subscribed to"), output);
  }
}
