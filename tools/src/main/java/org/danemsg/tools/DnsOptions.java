package org.danemsg.tools;

import java.nio.file.Path;
import java.time.Duration;
import org.danemsg.protocol.dns.DaneLookup;
import org.danemsg.protocol.dns.DnsServer;
import org.danemsg.protocol.dns.TrustAnchors;
import picocli.CommandLine.Option;

/** Where and how to look up TLSA records: the same settings as the node's. */
final class DnsOptions {

  @Option(names = "--server", paramLabel = "HOST:PORT", defaultValue = "${env:DNS_SERVER}",
      description = "DNS server to ask (default: $DNS_SERVER, else the first nameserver of /etc/resolv.conf).")
  String server;

  @Option(names = "--trust-anchor", paramLabel = "FILE", defaultValue = "${env:DNSSEC_TRUST_ANCHOR}",
      description = "DS/DNSKEY records to validate from (default: $DNSSEC_TRUST_ANCHOR, else the IANA root key).")
  Path trustAnchor;

  @Option(names = "--dnssec-off",
      description = "Lab mode: do not validate DNSSEC. Keys found are NOT authenticated.")
  boolean dnssecOff;

  @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "5",
      description = "Seconds to wait for the DNS server (default: ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  DnsServer server() {
    try {
      return server == null || server.isBlank() ? DnsServer.systemDefault() : DnsServer.parse(server);
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage("--server: " + e.getMessage());
    } catch (IllegalStateException e) {
      throw CommandFailure.failed("no DNS server: " + e.getMessage() + "; give one with --server HOST:PORT");
    }
  }

  DaneLookup.Settings lookupSettings() {
    if (timeoutSeconds < 1 || timeoutSeconds > 300) {
      throw CommandFailure.usage("--timeout must be 1..300 seconds, got " + timeoutSeconds);
    }
    DnsServer dns = server();
    if (dnssecOff) {
      return DaneLookup.Settings.withoutDnssec(dns).withTimeout(Duration.ofSeconds(timeoutSeconds));
    }
    TrustAnchors anchors;
    try {
      anchors = trustAnchor == null ? TrustAnchors.ianaRoot() : TrustAnchors.fromFile(trustAnchor);
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw CommandFailure.failed("--trust-anchor: " + e.getMessage());
    }
    return DaneLookup.Settings.validating(dns, anchors).withTimeout(Duration.ofSeconds(timeoutSeconds));
  }
}
