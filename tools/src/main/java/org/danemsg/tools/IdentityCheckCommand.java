package org.danemsg.tools;

import java.io.PrintWriter;
import java.util.List;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.TlsaRecord;
import org.danemsg.protocol.dns.DaneLookup;
import org.danemsg.protocol.dns.LookupResult;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code tools identity check}: does DNS publish this identity's key, securely? */
@Command(
    name = "check",
    mixinStandardHelpOptions = true,
    description = {"Check that DNS publishes this identity's key in a DNSSEC-validated TLSA record.",
        "Prints 'in sync', or what is wrong and the TLSA line to publish. Exit 0 only when in sync."})
final class IdentityCheckCommand implements Runnable {

  @Mixin IdentityOptions identity;
  @Mixin DnsOptions dns;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    DeviceIdentity loaded = identity.load(spec.commandLine().getErr());
    DaneLookup.Settings settings = dns.lookupSettings();
    LookupResult result = DaneLookup.create(settings).lookup(loaded.name());
    String publish = "; publish: " + loaded.tlsaRecord().zoneLine(loaded.name(), 300);
    List<TlsaRecord> records = result.records();
    boolean keyRecord = records.stream().anyMatch(r -> r.matches(loaded.certificate())
        && r.publicKey() instanceof TlsaRecord.UsableKey);
    boolean hashOnly = !keyRecord && records.stream().anyMatch(r -> r.matches(loaded.certificate()));
    PrintWriter out = spec.commandLine().getOut();
    if (result instanceof LookupResult.Secure secure && keyRecord) {
      int others = secure.records().size() - 1;
      out.println("in sync: " + loaded.name() + " publishes this identity's key (fingerprint "
          + loaded.fingerprint() + "), DNSSEC-validated via " + secure.server() + ", TTL "
          + secure.ttlSeconds() + " s" + (others > 0 ? "; " + others + " other record(s) published too" : ""));
      return;
    }
    if (result instanceof LookupResult.Unauthenticated && keyRecord) {
      out.println("in sync, but UNAUTHENTICATED (--dnssec-off): " + loaded.name()
          + " publishes this identity's key; DNSSEC was not checked");
      return;
    }
    String problem;
    if (result.isTransient()) {
      problem = "cannot check: " + result.describe();
      throw CommandFailure.failed(problem);
    } else if (result instanceof LookupResult.NoSuchName || result instanceof LookupResult.NoRecords) {
      problem = "not published: " + result.describe() + publish;
    } else if (result instanceof LookupResult.Bogus) {
      problem = "DNSSEC validation fails, peers will reject this name: " + result.describe();
    } else if (result instanceof LookupResult.Insecure) {
      problem = (keyRecord ? "published but not DNSSEC-signed, peers will not trust it: "
          : "not published securely: ") + result.describe();
    } else if (hashOnly) {
      problem = "published only as a hash record; peers need the key itself to encrypt to it" + publish;
    } else {
      problem = "DNS publishes " + records.size() + " other record(s) at " + loaded.name()
          + " but not this identity's key (fingerprint " + loaded.fingerprint() + ")" + publish;
    }
    throw CommandFailure.failed(problem);
  }
}
