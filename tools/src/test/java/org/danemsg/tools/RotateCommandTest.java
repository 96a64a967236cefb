package org.danemsg.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.IdentityFiles;
import org.danemsg.testing.KnotServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code tools identity rotate} against a real Knot server: the DNS and file side of a rollover. */
class RotateCommandTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();

  @TempDir Path dir;

  private ToolsRun rotate(DnsName name, String... extra) {
    String[] base = {"identity", "rotate", "--name", name.toString(), "--dir", dir.toString(),
        "--server", "127.0.0.1:" + knot.port(), "--tsig-key", knot.tsigKeyFile().toString(), "--ttl", "1"};
    String[] all = java.util.Arrays.copyOf(base, base.length + extra.length);
    System.arraycopy(extra, 0, all, base.length, extra.length);
    return ToolsRun.of(all);
  }

  private ToolsRun resolve(DnsName name) {
    return ToolsRun.of("resolve", name.toString(), "--server", "127.0.0.1:" + knot.port(),
        "--trust-anchor", knot.trustAnchorFile().toString());
  }

  private static long keyLines(ToolsRun r) {
    return r.out().lines().filter(l -> l.contains("SPKI SHA-256")).count();
  }

  @Test
  void rotatesInTwoStepsKeepingBothRecordsInBetween() throws Exception {
    DnsName name = knot.uniqueName("rot");
    assertEquals(0, ToolsRun.of("identity", "init", "--name", name.toString(), "--dir", dir.toString()).exit());
    assertEquals(0, ToolsRun.of("identity", "publish", "--name", name.toString(), "--dir", dir.toString(),
        "--server", "127.0.0.1:" + knot.port(), "--tsig-key", knot.tsigKeyFile().toString()).exit());
    IdentityFiles files = new IdentityFiles(dir, name);
    DeviceIdentity old = files.load();

    ToolsRun first = rotate(name);
    assertEquals(0, first.exit(), first::toString);
    assertTrue(first.out().contains("Step 1 of 2") && first.out().contains("Not yet"), first::toString);
    DeviceIdentity next = files.staged().load();
    assertEquals(old.fingerprint(), files.load().fingerprint(), "the current key stays until the switch");
    ToolsRun during = resolve(name);
    assertEquals(2, keyLines(during), during::toString);
    assertTrue(during.out().contains(old.fingerprint()) && during.out().contains(next.fingerprint()), during::toString);

    ToolsRun second = rotate(name, "--wait");
    assertEquals(0, second.exit(), second::toString);
    assertTrue(second.out().contains("complete"), second::toString);
    assertEquals(next.fingerprint(), files.load().fingerprint());
    assertEquals(old.fingerprint(), files.retired().load().fingerprint());
    assertFalse(files.staged().exist());
    assertFalse(Files.exists(dir.resolve(name + ".rollover")));
    ToolsRun after = resolve(name);
    assertEquals(1, keyLines(after), after::toString);
    assertTrue(after.out().contains(next.fingerprint()), after::toString);
  }

  @Test
  void waitDoesTheWholeRolloverInOneRun() throws Exception {
    DnsName name = knot.uniqueName("rotwait");
    assertEquals(0, ToolsRun.of("identity", "init", "--name", name.toString(), "--dir", dir.toString(), "--rsa").exit());
    DeviceIdentity old = new IdentityFiles(dir, name).load();
    ToolsRun r = rotate(name, "--wait");
    assertEquals(0, r.exit(), r::toString);
    DeviceIdentity now = new IdentityFiles(dir, name).load();
    assertFalse(now.fingerprint().equals(old.fingerprint()));
    assertEquals(old.keyType(), now.keyType());
    ToolsRun after = resolve(name);
    assertEquals(1, keyLines(after), after::toString);
    assertTrue(after.out().contains(now.fingerprint()), after::toString);
  }

  @Test
  void aRefusedUpdateLeavesEverythingAsItWas() throws Exception {
    DnsName name = knot.uniqueName("rotfail");
    assertEquals(0, ToolsRun.of("identity", "init", "--name", name.toString(), "--dir", dir.toString()).exit());
    String wrong = "hmac-sha256:" + knot.tsigKey().name() + ":" + java.util.Base64.getEncoder().encodeToString(new byte[32]);
    ToolsRun r = ToolsRun.of("identity", "rotate", "--name", name.toString(), "--dir", dir.toString(),
        "--server", "127.0.0.1:" + knot.port(), "--tsig-key", wrong);
    assertEquals(1, r.exit(), r::toString);
    assertTrue(r.oneErrorLine(), r::toString);
    assertTrue(r.err().contains("nothing changed"), r::toString);
    assertFalse(new IdentityFiles(dir, name).staged().exist());
  }
}
