package org.danemsg.tools;

import java.io.PrintWriter;
import java.time.Duration;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.IdentityException;
import org.danemsg.protocol.IdentityFiles;
import org.danemsg.protocol.KeyType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tools identity init}: a new key pair and self-signed certificate. */
@Command(
    name = "init",
    mixinStandardHelpOptions = true,
    description = {"Create a key pair and a self-signed certificate for NAME.",
        "Writes <dir>/<name>.key.pem (mode 0600) and <dir>/<name>.crt.pem and prints the TLSA record"
            + " to publish in DNS."})
final class IdentityInitCommand implements Runnable {

  @Mixin IdentityOptions identity;

  @Option(names = "--rsa", description = "RSA-2048 instead of EC P-256 (the Python original can encrypt only to RSA).")
  boolean rsa;

  @Option(names = "--days", paramLabel = "N", defaultValue = "365",
      description = "Certificate validity in days (default: ${DEFAULT-VALUE}; DANE ignores it).")
  int days;

  @Option(names = "--force", description = "Replace an existing identity. Its old key is lost.")
  boolean force;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    if (days < 1 || days > 36500) {
      throw CommandFailure.usage("--days must be 1..36500, got " + days);
    }
    DnsName name = identity.name();
    IdentityFiles files = identity.files();
    if (!force && files.exist()) {
      throw CommandFailure.failed("an identity for " + name + " already exists in " + files.dir()
          + "; use --force to replace it (the old key is then lost)");
    }
    DeviceIdentity created = DeviceIdentity.generate(name, rsa ? KeyType.RSA : KeyType.EC_P256,
        Duration.ofDays(days));
    try {
      files.write(created, force);
    } catch (IdentityException e) {
      throw CommandFailure.failed(e.getMessage(), e);
    }
    PrintWriter out = spec.commandLine().getOut();
    out.println("Created " + KeyType.describe(created.publicKey()) + " identity " + name);
    out.println("  private key: " + files.keyFile() + " (mode 0600, keep it secret)");
    out.println("  certificate: " + files.certificateFile());
    out.println("  fingerprint: " + created.fingerprint() + " (SHA-256 of the public key)");
    out.println();
    out.println("Publish this TLSA record in DNS (DNSSEC-signed zone):");
    out.println(created.tlsaRecord().zoneLine(name, 300));
    out.println();
    out.println("With DNS UPDATE: tools identity publish --name " + name
        + " --server HOST:PORT --tsig-key FILE");
  }
}
