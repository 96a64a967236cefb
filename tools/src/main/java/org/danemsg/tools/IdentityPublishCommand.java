package org.danemsg.tools;

import java.io.PrintWriter;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.TlsaRecord;
import org.danemsg.protocol.dns.DnsPublisher;
import org.danemsg.protocol.dns.PublishResult;
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
  @Mixin UpdateOptions update;

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
    DnsName name = identity.name();
    DnsPublisher publisher = update.publisher(name);
    DeviceIdentity loaded = identity.load(spec.commandLine().getErr());
    TlsaRecord record = loaded.tlsaRecord();
    PublishResult result = remove ? publisher.remove(name, record)
        : add ? publisher.add(name, record)
        : publisher.replace(name, record);
    String line = record.zoneLine(name, update.ttl().toSeconds());
    if (result instanceof PublishResult.Failed failed) {
      throw CommandFailure.failed(failed.describe() + (remove ? "" : "; without DNS UPDATE, add by hand: " + line));
    }
    PrintWriter out = spec.commandLine().getOut();
    out.println(((PublishResult.Published) result).describe());
    if (!remove) {
      out.println(line);
    }
  }
}
