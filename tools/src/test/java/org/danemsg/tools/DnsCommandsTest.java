package org.danemsg.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.IdentityFiles;
import org.danemsg.protocol.TlsaRecord;
import org.danemsg.testing.KnotServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code tools identity publish|check} and {@code tools resolve} against a real Knot server. */
class DnsCommandsTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();

  @TempDir Path dir;

  private String[] dns(String... args) {
    String[] all = java.util.Arrays.copyOf(args, args.length + 4);
    all[args.length] = "--server";
    all[args.length + 1] = "127.0.0.1:" + knot.port();
    all[args.length + 2] = "--trust-anchor";
    all[args.length + 3] = knot.trustAnchorFile().toString();
    return all;
  }

  private DeviceIdentity init(DnsName name, boolean rsa) throws Exception {
    ToolsRun r = rsa
        ? ToolsRun.of("identity", "init", "--name", name.toString(), "--dir", dir.toString(), "--rsa")
        : ToolsRun.of("identity", "init", "--name", name.toString(), "--dir", dir.toString());
    assertEquals(0, r.exit(), r::toString);
    return new IdentityFiles(dir, name).load();
  }

  private ToolsRun publish(DnsName name, String... extra) {
    String[] base = {"identity", "publish", "--name", name.toString(), "--dir", dir.toString(),
        "--server", "127.0.0.1:" + knot.port(), "--tsig-key", knot.tsigKeyFile().toString(), "--ttl", "60"};
    String[] all = java.util.Arrays.copyOf(base, base.length + extra.length);
    System.arraycopy(extra, 0, all, base.length, extra.length);
    return ToolsRun.of(all);
  }

  @Test
  void publishThenResolveShowsTheSecureKey() throws Exception {
    DnsName name = knot.uniqueName("alice");
    DeviceIdentity alice = init(name, false);
    ToolsRun published = publish(name);
    assertEquals(0, published.exit(), published::toString);

    ToolsRun resolved = ToolsRun.of(dns("resolve", name.toString()));
    assertEquals(0, resolved.exit(), resolved::toString);
    assertTrue(resolved.out().contains("secure"), resolved::toString);
    assertTrue(resolved.out().contains("EC P-256 key, SPKI SHA-256 " + alice.fingerprint()), resolved::toString);
    assertTrue(resolved.out().contains("TTL: 60 s"), resolved::toString);
  }

  @Test
  void checkSaysInSyncOnlyForThePublishedKey() throws Exception {
    DnsName name = knot.uniqueName("bob");
    init(name, true);
    ToolsRun before = ToolsRun.of(dns("identity", "check", "--name", name.toString(), "--dir", dir.toString()));
    assertEquals(1, before.exit(), before::toString);
    assertTrue(before.oneErrorLine(), before::toString);
    assertTrue(before.err().contains("not published") && before.err().contains("IN TLSA 3 0 0"), before::toString);

    assertEquals(0, publish(name).exit());
    ToolsRun after = ToolsRun.of(dns("identity", "check", "--name", name.toString(), "--dir", dir.toString()));
    assertEquals(0, after.exit(), after::toString);
    assertTrue(after.out().startsWith("in sync"), after::toString);

    // A new key locally, the old one still in DNS.
    assertEquals(0, ToolsRun.of("identity", "init", "--name", name.toString(), "--dir", dir.toString(), "--force").exit());
    ToolsRun stale = ToolsRun.of(dns("identity", "check", "--name", name.toString(), "--dir", dir.toString()));
    assertEquals(1, stale.exit(), stale::toString);
    assertTrue(stale.err().contains("but not this identity's key"), stale::toString);
  }

  @Test
  void addKeepsTheOldRecordAndRemoveDeletesOnlyThisOne() throws Exception {
    DnsName name = knot.uniqueName("carol");
    DeviceIdentity first = init(name, false);
    assertEquals(0, publish(name).exit());
    Path other = dir.resolve("next");
    Files.createDirectories(other);
    ToolsRun next = ToolsRun.of("identity", "init", "--name", name.toString(), "--dir", other.toString());
    assertEquals(0, next.exit());
    ToolsRun added = ToolsRun.of("identity", "publish", "--name", name.toString(), "--dir", other.toString(),
        "--server", "127.0.0.1:" + knot.port(), "--tsig-key", knot.tsigKeyFile().toString(), "--add");
    assertEquals(0, added.exit(), added::toString);
    ToolsRun both = ToolsRun.of(dns("resolve", name.toString()));
    assertEquals(2, both.out().lines().filter(l -> l.contains("SPKI SHA-256")).count(), both::toString);

    ToolsRun removed = publish(name, "--remove");
    assertEquals(0, removed.exit(), removed::toString);
    ToolsRun one = ToolsRun.of(dns("resolve", name.toString()));
    assertEquals(1, one.out().lines().filter(l -> l.contains("SPKI SHA-256")).count(), one::toString);
    assertTrue(!one.out().contains(first.fingerprint()), one::toString);
  }

  @Test
  void removingTheLastRecordLeavesNoRecords() throws Exception {
    DnsName name = knot.uniqueName("dave");
    init(name, false);
    assertEquals(0, publish(name).exit());
    assertEquals(0, publish(name, "--remove").exit());
    ToolsRun r = ToolsRun.of(dns("resolve", name.toString()));
    assertEquals(1, r.exit(), r::toString);
    assertTrue(r.oneErrorLine(), r::toString);
  }

  @Test
  void aWrongTsigSecretIsAClearError() throws Exception {
    DnsName name = knot.uniqueName("eve");
    init(name, false);
    String wrong = "hmac-sha256:" + knot.tsigKey().name() + ":" + java.util.Base64.getEncoder().encodeToString(new byte[32]);
    ToolsRun r = ToolsRun.of("identity", "publish", "--name", name.toString(), "--dir", dir.toString(),
        "--server", "127.0.0.1:" + knot.port(), "--tsig-key", wrong);
    assertEquals(1, r.exit(), r::toString);
    assertTrue(r.oneErrorLine(), r::toString);
    assertTrue(r.err().contains("BADSIG"), r::toString);
    assertTrue(r.err().contains("IN TLSA 3 0 0"), r::toString);
  }

  @Test
  void resolveOfAMissingNameExitsOneWithTheReason() {
    ToolsRun r = ToolsRun.of(dns("resolve", knot.uniqueName("ghost").toString()));
    assertEquals(1, r.exit(), r::toString);
    assertTrue(r.oneErrorLine(), r::toString);
  }

  @Test
  void resolveWithAWrongAnchorSaysBogusAndWhy() throws Exception {
    DnsName name = knot.uniqueName("frank");
    knot.publish(name, TlsaRecord.of(org.danemsg.testing.TestCertificates.ec(name).certificate()));
    ToolsRun r = ToolsRun.of("resolve", name.toString(), "--server", "127.0.0.1:" + knot.port(),
        "--trust-anchor", knot.wrongAnchorFile().toString());
    assertEquals(1, r.exit(), r::toString);
    assertTrue(r.out().contains("bogus"), r::toString);
    assertTrue(r.oneErrorLine(), r::toString);
  }

  @Test
  void anUnsignedZoneIsInsecureButReadableInLabMode() throws Exception {
    DnsName name = knot.uniqueName("gina", KnotServer.UNSIGNED_ZONE);
    knot.publish(name, TlsaRecord.of(org.danemsg.testing.TestCertificates.ec(name).certificate()));
    ToolsRun secure = ToolsRun.of(dns("resolve", name.toString()));
    assertEquals(1, secure.exit(), secure::toString);
    assertTrue(secure.out().contains("insecure"), secure::toString);
    ToolsRun lab = ToolsRun.of("resolve", name.toString(), "--server", "127.0.0.1:" + knot.port(), "--dnssec-off");
    assertEquals(0, lab.exit(), lab::toString);
    assertTrue(lab.out().contains("UNAUTHENTICATED"), lab::toString);
    assertTrue(lab.err().contains("NOT authenticated"), lab::toString);
  }

  @Test
  void badDnsOptionsAreUsageErrors() {
    ToolsRun r = ToolsRun.of("resolve", "x.example.test", "--server", "not a server:99999");
    assertEquals(2, r.exit(), r::toString);
    ToolsRun anchor = ToolsRun.of("resolve", "x.example.test", "--server", "127.0.0.1:" + knot.port(),
        "--trust-anchor", "/nonexistent/anchor");
    assertEquals(1, anchor.exit(), anchor::toString);
    assertTrue(anchor.err().contains("/nonexistent/anchor"), anchor::toString);
    ToolsRun both = ToolsRun.of("identity", "publish", "--name", "x.example.test", "--server", "127.0.0.1:1",
        "--tsig-key", "hmac-sha256:k:AAAA", "--add", "--remove");
    assertEquals(2, both.exit(), both::toString);
  }
}
