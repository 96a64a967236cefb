package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.time.Duration;
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
class CryptoSelfTestAtStartTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  @Test
  void aRuntimeWithoutWorkingCryptographyStopsTheNodeAtStartWithOneLine() throws Exception {
    TestDevice device = TestDevice.published(knot, broker, "broken-jre", KeyType.EC_P256);
    NodeProcess node = NodeProcess.of(device, NodeProcess.LAUNCHER_OPTIONS);
    // The same failure as an unreadable policy folder: the JCE finds no policy and allows no cipher.
    Path security = Files.writeString(node.folder().resolve("java.security"), "crypto.policy=missing-folder\n");
    int status = node.withJvmOptions("-Djava.security.properties=" + security, "-Ddanemsg.crypto.conscrypt=false")
        .runToExit(Duration.ofSeconds(60));
    String output = node.wholeLog() + node.stdout();
    assertEquals(1, status, output);
    List<String> lines = output.lines().filter(line -> line.contains("crypto self-test")).toList();
    assertEquals(1, lines.size(), output);
    assertFalse(output.contains("\tat "), "a stack trace: " + output);
    assertFalse(output.contains("subscribed to"), output);
  }
}
