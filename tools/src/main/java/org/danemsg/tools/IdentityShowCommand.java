package org.danemsg.tools;

import java.io.PrintWriter;
import java.time.Instant;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.TlsaRecord;
import org.danemsg.protocol.TlsaRecord.MatchingType;
import org.danemsg.protocol.TlsaRecord.Selector;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code tools identity show}: what an identity is and what to publish for it. */
@Command(
    name = "show",
    mixinStandardHelpOptions = true,
    description = "Show an identity: key type, fingerprint, validity and its TLSA records.")
final class IdentityShowCommand implements Runnable {

  @Mixin IdentityOptions identity;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    PrintWriter out = spec.commandLine().getOut();
    DeviceIdentity loaded = identity.load(spec.commandLine().getErr());
    var files = identity.files();
    Instant notAfter = loaded.certificate().getNotAfter().toInstant();
    out.println("name:        " + loaded.name());
    out.println("key:         " + KeyType.describe(loaded.publicKey()) + " (" + files.keyFile() + ")");
    out.println("certificate: " + files.certificateFile());
    out.println("fingerprint: " + loaded.fingerprint() + " (SPKI SHA-256)");
    out.println("key id:      " + loaded.keyId() + " (JWK thumbprint, the JWE kid)");
    out.println("valid:       " + loaded.certificate().getNotBefore().toInstant() + " to " + notAfter
        + (notAfter.isBefore(Instant.now()) ? " (expired; DANE-EE ignores dates, other tools may not)" : ""));
    out.println("TLSA records (publish the first; the second is the short form some tools show):");
    out.println("  " + loaded.tlsaRecord().zoneLine(loaded.name(), 300));
    out.println("  " + TlsaRecord.of(loaded.certificate(), Selector.PUBLIC_KEY, MatchingType.SHA256)
        .zoneLine(loaded.name(), 300));
  }
}
