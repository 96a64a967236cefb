package org.danemsg.tools;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.dns.DnsPublisher;
import org.danemsg.protocol.dns.DnsServer;
import org.danemsg.protocol.dns.TsigKey;
import picocli.CommandLine.Option;

/** Where and how to send DNS UPDATEs: server, TSIG key, zone and TTL. */
final class UpdateOptions {

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

  Duration ttl() {
    if (ttl < 1 || ttl > 604800) {
      throw CommandFailure.usage("--ttl must be 1..604800 seconds, got " + ttl);
    }
    return Duration.ofSeconds(ttl);
  }

  /** A publisher for records of {@code name}, or a usage error naming the bad option. */
  DnsPublisher publisher(DnsName name) {
    DnsServer dns;
    try {
      dns = DnsServer.parse(server);
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage("--server: " + e.getMessage());
    }
    DnsPublisher publisher = DnsPublisher.create(dns, readKey(tsigKey)).withTtl(ttl());
    if (zone == null) {
      return publisher;
    }
    DnsName zoneName;
    try {
      zoneName = DnsName.parse(zone);
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage("--zone: " + e.getMessage());
    }
    if (!name.isWithin(zoneName)) {
      throw CommandFailure.usage("--zone " + zoneName + " does not contain " + name);
    }
    return publisher.withZone(zoneName);
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
