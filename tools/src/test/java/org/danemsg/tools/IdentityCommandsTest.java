package org.danemsg.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.IdentityFiles;
import org.danemsg.protocol.KeyType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tools identity init|show}: files, output and error exits. */
class IdentityCommandsTest {

  @TempDir Path dir;

  private ToolsRun run(String... args) {
    return ToolsRun.of(args);
  }

  @Test
  void initCreatesAnEcIdentityAndPrintsTheTlsaLine() throws Exception {
    ToolsRun r = run("identity", "init", "--name", "alice._device.example.test", "--dir", dir.toString());
    assertEquals(0, r.exit(), r::toString);
    IdentityFiles files = new IdentityFiles(dir, DnsName.parse("alice._device.example.test"));
    var identity = files.load();
    assertEquals(KeyType.EC_P256, identity.keyType());
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(files.keyFile())));
    assertTrue(r.out().contains(files.keyFile().toString()), r::toString);
    assertTrue(r.out().contains(identity.tlsaRecord().zoneLine(identity.name(), 300)), r::toString);
  }

  @Test
  void initMakesRsaOnRequest() throws Exception {
    ToolsRun r = run("identity", "init", "--name", "bob._device.example.test", "--dir", dir.toString(), "--rsa",
        "--days", "10");
    assertEquals(0, r.exit(), r::toString);
    assertEquals(KeyType.RSA, new IdentityFiles(dir, DnsName.parse("bob._device.example.test")).load().keyType());
    assertTrue(r.out().contains("RSA-2048"), r::toString);
  }

  @Test
  void initRefusesToOverwriteWithoutForce() throws Exception {
    assertEquals(0, run("identity", "init", "--name", "a.example.test", "--dir", dir.toString()).exit());
    String before = Files.readString(dir.resolve("a.example.test.key.pem"));
    ToolsRun again = run("identity", "init", "--name", "a.example.test", "--dir", dir.toString());
    assertEquals(1, again.exit(), again::toString);
    assertTrue(again.oneErrorLine(), again::toString);
    assertTrue(again.err().contains("--force"), again::toString);
    assertEquals(before, Files.readString(dir.resolve("a.example.test.key.pem")));
    ToolsRun forced = run("identity", "init", "--name", "a.example.test", "--dir", dir.toString(), "--force");
    assertEquals(0, forced.exit(), forced::toString);
    assertFalse(before.equals(Files.readString(dir.resolve("a.example.test.key.pem"))));
  }

  @Test
  void showPrintsNameTypeFingerprintValidityAndBothTlsaForms() throws Exception {
    run("identity", "init", "--name", "carol.example.test", "--dir", dir.toString());
    var identity = new IdentityFiles(dir, DnsName.parse("carol.example.test")).load();
    ToolsRun r = run("identity", "show", "--name", "carol.example.test", "--dir", dir.toString());
    assertEquals(0, r.exit(), r::toString);
    assertTrue(r.out().contains("carol.example.test"), r::toString);
    assertTrue(r.out().contains("EC P-256"), r::toString);
    assertTrue(r.out().contains(identity.fingerprint()), r::toString);
    assertTrue(r.out().contains("valid:"), r::toString);
    assertTrue(r.out().contains("IN TLSA 3 0 0 "), r::toString);
    assertTrue(r.out().contains("IN TLSA 3 1 1 " + identity.fingerprint()), r::toString);
  }

  @Test
  void showWarnsAboutAKeyOthersCanRead() throws Exception {
    run("identity", "init", "--name", "dave.example.test", "--dir", dir.toString());
    Files.setPosixFilePermissions(dir.resolve("dave.example.test.key.pem"), PosixFilePermissions.fromString("rw-r--r--"));
    ToolsRun r = run("identity", "show", "--name", "dave.example.test", "--dir", dir.toString());
    assertEquals(0, r.exit(), r::toString);
    assertTrue(r.err().contains("warning:") && r.err().contains("chmod 600"), r::toString);
  }

  @Test
  void showOfAMissingIdentityIsOneLineNamingTheFile() {
    ToolsRun r = run("identity", "show", "--name", "nobody.example.test", "--dir", dir.toString());
    assertEquals(1, r.exit(), r::toString);
    assertTrue(r.oneErrorLine(), r::toString);
    assertTrue(r.err().contains(dir.resolve("nobody.example.test.key.pem").toString()), r::toString);
  }

  @Test
  void showReadsTheOriginalsPkcs1Identity() {
    Path vectors = org.danemsg.protocol.LegacyVectors.dir();
    ToolsRun r = run("identity", "show", "--name", "alice._device.example.test", "--dir", vectors.toString());
    assertEquals(0, r.exit(), r::toString);
    assertTrue(r.out().contains("RSA-2048"), r::toString);
  }

  @Test
  void badUsageExitsTwoWithOneLine() {
    for (String[] args : new String[][] {
        {"identity", "init", "--name", "bad..name", "--dir", dir.toString()},
        {"identity", "init", "--name", "ok.example.test", "--days", "0", "--dir", dir.toString()},
        {"identity", "init", "--name", "ok.example.test", "--days", "many"},
        {"identity", "init", "--unknown"},
        {"identity", "frobnicate"},
        {"identity"},
        {}}) {
      ToolsRun r = run(args);
      assertEquals(2, r.exit(), () -> String.join(" ", args) + "\n" + r);
      assertTrue(r.err().startsWith("error: "), r::toString);
      assertFalse(r.err().contains("\tat "), r::toString);
    }
  }

  @Test
  void everyCommandHasHelp() {
    for (String[] args : new String[][] {{"--help"}, {"identity", "--help"}, {"identity", "init", "--help"},
        {"identity", "show", "--help"}, {"identity", "publish", "--help"}, {"identity", "check", "--help"},
        {"identity", "rotate", "--help"},
        {"resolve", "--help"}}) {
      ToolsRun r = run(args);
      assertEquals(0, r.exit(), r::toString);
      assertTrue(r.out().startsWith("Usage: tools"), r::toString);
    }
  }
}
