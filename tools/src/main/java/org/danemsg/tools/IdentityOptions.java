package org.danemsg.tools;

import java.nio.file.Path;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.IdentityException;
import org.danemsg.protocol.IdentityFiles;
import picocli.CommandLine.Option;

/** {@code --name} and {@code --dir}: which identity, in which folder. */
final class IdentityOptions {

  @Option(names = "--name", paramLabel = "NAME", defaultValue = "${env:IDENTITY_NAME}",
      description = "The identity's DNS name, e.g. alice._device.example.com (default: $IDENTITY_NAME).")
  String name;

  @Option(names = "--dir", paramLabel = "DIR", defaultValue = "${env:CRYPTO_PATH:-identity}",
      description = "Folder of the identity files (default: $CRYPTO_PATH, else ./identity).")
  Path dir;

  DnsName name() {
    if (name == null || name.isBlank()) {
      throw CommandFailure.usage("missing --name (or set IDENTITY_NAME)");
    }
    try {
      return DnsName.parse(name);
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage(e.getMessage());
    }
  }

  IdentityFiles files() {
    return new IdentityFiles(dir, name());
  }

  /** Loads the identity; prints file warnings (such as a readable key) to {@code err}. */
  DeviceIdentity load(java.io.PrintWriter err) {
    IdentityFiles files = files();
    try {
      DeviceIdentity identity = files.load();
      files.warnings().forEach(w -> err.println("warning: " + w));
      return identity;
    } catch (IdentityException e) {
      throw CommandFailure.failed(e.getMessage(), e);
    }
  }
}
