package org.danemsg.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.TlsaRecord;
import org.danemsg.protocol.dns.DaneLookup;
import org.danemsg.protocol.dns.DnsPublisher;
import org.danemsg.protocol.dns.DnsServer;
import org.danemsg.protocol.dns.PublishResult;
import org.danemsg.protocol.dns.TrustAnchors;
import org.danemsg.protocol.dns.TsigKey;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * A real Knot DNS server for tests, on a free 127.0.0.1 port, from a temp folder.
 *
 * <p>It serves {@code example.test.} signed with DNSSEC (ECDSAP256SHA256, one CSK, signed at once and
 * on every update) and {@code unsigned.test.} without DNSSEC; a TSIG key may update both. Use it as a
 * JUnit 5 extension, started before the class's tests and stopped after them:
 *
 * <pre>{@code
 * @RegisterExtension static final KnotServer knot = KnotServer.create();
 * ...
 * DnsName alice = knot.uniqueName("alice");          // alice-1._device.example.test
 * knot.publish(alice, TlsaRecord.of(certificate));   // replaces alice's TLSA RRset
 * DaneLookup lookup = DaneLookup.create(knot.lookupSettings());
 * }</pre>
 *
 * or by hand ({@link #start()}, {@link #close()}) from a main. It is stopped by PID at the end and by a
 * JVM shutdown hook. For fault tests: {@link #pause()}/{@link #resume()} (SIGSTOP/SIGCONT) and
 * {@link #stop()}/{@link #restart()} (same port, same keys and records).
 */
public final class KnotServer extends ServerFixture {

  private static final String KNOTD = "/usr/sbin/knotd";
  private static final String KEYMGR = "/usr/sbin/keymgr";
  private static final Duration READY_WITHIN = Duration.ofSeconds(15);
  private static final AtomicInteger NAMES = new AtomicInteger();

  /** The DNSSEC-signed zone. */
  public static final DnsName SIGNED_ZONE = DnsName.parse("example.test");
  /** The zone served without DNSSEC. */
  public static final DnsName UNSIGNED_ZONE = DnsName.parse("unsigned.test");

  private TsigKey tsigKey;
  private Path trustAnchorFile;
  private Path dnskeyAnchorFile;
  private Path wrongAnchorFile;
  private Path tsigKeyFile;

  private KnotServer() {}

  /** A server that starts before the tests of the class that registers it. */
  public static KnotServer create() {
    return new KnotServer();
  }

  /** A server started now (for mains and hand-written lifecycles); {@link #close()} stops it. */
  public static KnotServer startNow() {
    KnotServer server = new KnotServer();
    server.start();
    return server;
  }

  @Override
  String folderPrefix() {
    return "knot-test-";
  }

  /** The TSIG key and both zones; knotd itself is configured for its port in {@link #launch()}. */
  @Override
  void prepare() throws IOException {
    Files.createDirectories(directory.resolve("run"));
    Files.createDirectories(directory.resolve("storage"));
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    tsigKey = TsigKey.of("hmac-sha256", "update-key", secret);
    tsigKeyFile = Files.writeString(directory.resolve("update-key.conf"), tsigKey.toKeyFile());
    writeZone(SIGNED_ZONE);
    writeZone(UNSIGNED_ZONE);
  }

  /** Once knotd serves both zones (the signed one signed): the trust anchor files. */
  @Override
  void started() {
    writeAnchors();
  }

  /** {@code 127.0.0.1:<port>}. */
  public DnsServer server() {
    return new DnsServer("127.0.0.1", port);
  }

  /** The signed zone's DS record, from keymgr: a trust anchor file. */
  public Path trustAnchorFile() {
    return trustAnchorFile;
  }

  /** The signed zone's DNSKEY record (KSK), as served: a trust anchor file of the other form. */
  public Path dnskeyAnchorFile() {
    return dnskeyAnchorFile;
  }

  /** A DS record for {@code example.test.} that matches none of its keys: validation turns bogus. */
  public Path wrongAnchorFile() {
    return wrongAnchorFile;
  }

  /** The signed zone's trust anchors (from {@link #trustAnchorFile()}). */
  public TrustAnchors trustAnchors() {
    return TrustAnchors.fromFile(trustAnchorFile);
  }

  /** Validating lookup settings for this server with the right anchor and a 2 s timeout. */
  public DaneLookup.Settings lookupSettings() {
    return DaneLookup.Settings.validating(server(), trustAnchors()).withTimeout(Duration.ofSeconds(2));
  }

  /** The TSIG key allowed to update both zones. */
  public TsigKey tsigKey() {
    return tsigKey;
  }

  /** The TSIG key in a BIND key file. */
  public Path tsigKeyFile() {
    return tsigKeyFile;
  }

  /** A publisher to this server with the TSIG key and a 60 s TTL. */
  public DnsPublisher publisher() {
    return DnsPublisher.create(server(), tsigKey).withTtl(Duration.ofSeconds(60));
  }

  /** A fresh name {@code <label>-<n>._device.example.test} no other test uses. */
  public DnsName uniqueName(String label) {
    return uniqueName(label, SIGNED_ZONE);
  }

  /** A fresh name {@code <label>-<n>._device.<zone>} no other test uses. */
  public DnsName uniqueName(String label, DnsName zone) {
    return DnsName.parse(label + "-" + NAMES.incrementAndGet() + "._device." + zone);
  }

  /** Makes {@code record} the only TLSA record of {@code name}; fails the test if the update fails. */
  public void publish(DnsName name, TlsaRecord record) {
    check(publisher().replace(name, record));
  }

  /** Adds {@code record} to {@code name}'s TLSA records; fails the test if the update fails. */
  public void addRecord(DnsName name, TlsaRecord record) {
    check(publisher().add(name, record));
  }

  /** A name that exists in the signed zone ({@code ns1.example.test}, an A record) but has no TLSA. */
  public DnsName nameWithoutTlsa() {
    return DnsName.parse("ns1." + SIGNED_ZONE);
  }

  @Override
  public String toString() {
    return "knotd on 127.0.0.1:" + port + " in " + directory;
  }

  private static void check(PublishResult result) {
    if (!result.isPublished()) {
      throw new IllegalStateException("test fixture update failed: " + result.describe());
    }
  }

  private void writeZone(DnsName zone) throws IOException {
    Files.writeString(directory.resolve(zone + ".zone"), ServerTemplates.zoneFile(zone.toString(), 60));
  }

  @Override
  void launch() {
    Path config = directory.resolve("knot.conf");
    String secret = tsigKey.toSpec().split(":")[2];
    String conf = ServerTemplates.knotConf(port, directory, tsigKey.name(), secret, SIGNED_ZONE.toString(),
        UNSIGNED_ZONE.toString(), "info");
    try {
      Files.writeString(config, conf);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    process = ChildProcess.start("knotd", List.of(KNOTD, "-c", config.toString()), directory,
        directory.resolve("knotd.log"));
    awaitReady();
  }

  private void awaitReady() {
    long deadline = System.nanoTime() + READY_WITHIN.toNanos();
    SimpleResolver resolver = new SimpleResolver(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    resolver.setTimeout(Duration.ofMillis(200));
    resolver.setEDNS(0, 1232, Flags.DO, List.of());
    String last = "no answer yet";
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("knotd exited at start (port " + port + "): " + process.log());
      }
      try {
        Message signed = resolver.send(Message.newQuery(
            Record.newRecord(Name.fromString(SIGNED_ZONE.absolute()), Type.DNSKEY, DClass.IN)));
        Message unsigned = resolver.send(Message.newQuery(
            Record.newRecord(Name.fromString(UNSIGNED_ZONE.absolute()), Type.SOA, DClass.IN)));
        boolean hasSignature = signed.getSection(Section.ANSWER).stream().anyMatch(r -> r.getType() == Type.RRSIG);
        if (hasSignature && unsigned.getRcode() == Rcode.NOERROR) {
          return;
        }
        last = "example.test DNSKEY " + Rcode.string(signed.getRcode()) + (hasSignature ? " signed" : " unsigned")
            + ", unsigned.test SOA " + Rcode.string(unsigned.getRcode());
      } catch (IOException e) {
        last = e.toString();
      }
      try {
        Thread.sleep(20); // poll interval, bounded by the deadline
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for knotd", e);
      }
    }
    throw new IllegalStateException("knotd on port " + port + " not ready within " + READY_WITHIN
        + " (" + last + "): " + process.log());
  }

  private void writeAnchors() {
    try {
      String config = directory.resolve("knot.conf").toString();
      String ds = ChildProcess.run(List.of(KEYMGR, "-c", config, SIGNED_ZONE.absolute(), "ds"), directory)
          .lines().filter(l -> l.contains(" DS ")).findFirst()
          .orElseThrow(() -> new IllegalStateException("keymgr printed no DS record"));
      trustAnchorFile = Files.writeString(directory.resolve("anchor-ds.txt"), ds + "\n");

      SimpleResolver resolver = new SimpleResolver(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      Message keys = resolver.send(Message.newQuery(
          Record.newRecord(Name.fromString(SIGNED_ZONE.absolute()), Type.DNSKEY, DClass.IN)));
      StringBuilder dnskeys = new StringBuilder();
      for (Record r : keys.getSection(Section.ANSWER)) {
        if (r.getType() == Type.DNSKEY) {
          dnskeys.append(r).append('\n');
        }
      }
      dnskeyAnchorFile = Files.writeString(directory.resolve("anchor-dnskey.txt"), dnskeys.toString());

      // Same name, same algorithm, a digest that matches no key of the zone
      List<String> fields = List.of(ds.trim().split("\\s+"));
      String keyTag = fields.get(fields.indexOf("DS") + 1);
      byte[] digest = new byte[32];
      new SecureRandom().nextBytes(digest);
      String wrong = SIGNED_ZONE.absolute() + " 3600 IN DS " + keyTag + " 13 2 "
          + HexFormat.of().withUpperCase().formatHex(digest);
      wrongAnchorFile = Files.writeString(directory.resolve("anchor-wrong.txt"), wrong + "\n",
          StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the trust anchor files", e);
    }
  }
}
