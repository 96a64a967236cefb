package org.danemsg.tools;

import java.io.PrintWriter;
import java.security.PublicKey;
import java.util.List;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.TlsaRecord;
import org.danemsg.protocol.dns.DaneLookup;
import org.danemsg.protocol.dns.LookupResult;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code tools resolve NAME}: the TLSA records of a name and what a node would make of them. */
@Command(
    name = "resolve",
    mixinStandardHelpOptions = true,
    description = {"Look up the TLSA records of NAME, validate DNSSEC locally and show the usable keys.",
        "Exit 0 when a DNSSEC-validated usable key was found (or, with --dnssec-off, any usable key),"
            + " else 1 with the reason."})
final class ResolveCommand implements Runnable {

  @Parameters(paramLabel = "NAME", description = "The DNS name of a device, e.g. bob._device.example.com.")
  String name;

  @Mixin DnsOptions dns;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    DnsName target;
    try {
      target = DnsName.parse(name);
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage(e.getMessage());
    }
    DaneLookup.Settings settings = dns.lookupSettings();
    LookupResult result = DaneLookup.create(settings).lookup(target);
    PrintWriter out = spec.commandLine().getOut();
    List<TlsaRecord> records = result.records();
    out.println(target.absolute() + " via " + result.server());
    out.println("status: " + status(result));
    for (TlsaRecord record : records) {
      out.println("  TLSA " + record + "  " + verdict(record));
    }
    if (result instanceof LookupResult.Secure secure) {
      out.println("TTL: " + secure.ttlSeconds() + " s");
    }
    out.flush();
    if (result instanceof LookupResult.Unauthenticated) {
      spec.commandLine().getErr().println("warning: DNSSEC was not checked (--dnssec-off): these keys are"
          + " NOT authenticated");
      return;
    }
    if (!(result instanceof LookupResult.Secure)) {
      throw CommandFailure.failed(result.describe());
    }
  }

  private static String status(LookupResult result) {
    if (result instanceof LookupResult.Secure) {
      return "secure (DNSSEC validated)";
    }
    if (result instanceof LookupResult.Unauthenticated) {
      return "UNAUTHENTICATED (DNSSEC not checked)";
    }
    if (result instanceof LookupResult.Insecure) {
      return "insecure (the zone is not signed) — no key usable";
    }
    if (result instanceof LookupResult.Bogus bogus) {
      return "bogus — " + bogus.validatorReason();
    }
    return result.describe();
  }

  private static String verdict(TlsaRecord record) {
    TlsaRecord.KeyExtraction key = record.publicKey();
    if (key instanceof TlsaRecord.UsableKey usable) {
      PublicKey publicKey = usable.key();
      return "-> " + KeyType.describe(publicKey) + " key, SPKI SHA-256 " + TlsaRecord.spkiSha256(publicKey);
    }
    return "-> unusable: " + ((TlsaRecord.UnusableRecord) key).reason();
  }
}
