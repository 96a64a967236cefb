package org.danemsg.tools;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.TlsaRecord;
import org.danemsg.protocol.dns.DnsPublisher;
import org.danemsg.protocol.dns.DnsServer;
import org.danemsg.protocol.dns.PublishResult;
import org.danemsg.protocol.dns.TsigKey;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tools identity publish}: an RFC 2136 UPDATE, signed with TSIG, of the identity's TLSA record. */
@Command(
    name = "publish",
    mixinStandardHelpOptions = true,
    description = {"Publish this identity's TLSA record (3 0 0, the full certificate) by DNS UPDATE (RFC 2136),"
        + " signed with a TSIG key.",
        "Default: replace the name's TLSA records with this one. --add keeps the others (key rollover);"
            + " --remove deletes this identity's record.",
        "DNS providers without UPDATE: add the line 'tools identity show' prints by hand."})
final class IdentityPublishCommand implements Runnable {

  @Mixin IdentityOptions identity;

  @Option(names = "--server", paramLabel = "HOST:PORT", required = true,
      description = "The zone's primary server, which accepts updates.")
  String server;

  @Option(names = "--tsig-key", paramLabel = "FILE|SPEC", required = true,
      description = "TSIG key: a file in BIND form (key \"name\" { algorithm hmac-sha256; secret \"…\"; };)"
          + " or hmac-sha256:NAME:SECRET as kdig and knsupdate take it (a file keeps the secret out of ps).")
  String tsigKey;

  @Option(names = "--zone", paramLabel = "ZONE",
      description = "The zone to update (default: asked from the server: the zone holding NAME).")
  String zone;

  @Option(names = "--ttl", paramLabel = "SECONDS", defaultValue = "300",
      description = "TTL of the record (default: ${DEFAULT-VALUE}).")
  long ttl;

  @Option(names = "--add", description = "Add beside the existing TLSA records (key rollover, RFC 7671 §8).")
  boolean add;

  @Option(names = "--remove", description = "Remove this identity's record; others stay.")
  boolean remove;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    if (add && remove) {
      throw CommandFailure.usage("--add and --remove exclude each other");
    }
    if (ttl < 1 || ttl > 604800) {
      throw CommandFailure.usage("--ttl must be 1..604800 seconds, got " + ttl);
    }
    DnsServer dns;
    try {
      dns = DnsServer.parse(server);
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage("--server: " + e.getMessage());
    }
    TsigKey key = readKey(tsigKey);
    DeviceIdentity loaded = identity.load(spec.commandLine().getErr());
    DnsName name = loaded.name();
    DnsPublisher publisher = DnsPublisher.create(dns, key).withTtl(Duration.ofSeconds(ttl));
    if (zone != null) {
      try {
        DnsName zoneName = DnsName.parse(zone);
        if (!name.isWithin(zoneName)) {
          throw CommandFailure.usage("--zone " + zoneName + " does not contain " + name);
        }
        publisher = publisher.withZone(zoneName);
      } catch (IllegalArgumentException e) {
        throw CommandFailure.usage("--zone: " + e.getMessage());
      }
    }
    TlsaRecord record = loaded.tlsaRecord();
    PublishResult result = remove ? publisher.remove(name, record)
        : add ? publisher.add(name, record)
        : publisher.replace(name, record);
    PrintWriter out = spec.commandLine().getOut();
    if (result instanceof PublishResult.Failed failed) {
      throw CommandFailure.failed(failed.describe()
          + (remove ? "" : "; without DNS UPDATE, add by hand: " + record.zoneLine(name, ttl)));
    }
    out.println(((PublishResult.Published) result).describe());
    if (!remove) {
      out.println(record.zoneLine(name, ttl));
    }
  }

  private static TsigKey readKey(String value) {
    try {
      Path file = Path.of(value);
      if (Files.exists(file)) {
        return TsigKey.fromFile(file);
      }
    } catch (java.nio.file.InvalidPathException e) {
      // not a file name: read it as a key string below
    } catch (IllegalArgumentException e) {
      throw CommandFailure.failed("--tsig-key: " + e.getMessage());
    }
    if (!value.contains(":")) {
      throw CommandFailure.usage("--tsig-key: no file " + value + " (a key string looks like hmac-sha256:NAME:SECRET)");
    }
    try {
      return TsigKey.parse(value);
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage("--tsig-key: " + e.getMessage());
    }
  }
}
