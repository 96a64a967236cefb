package org.danemsg.protocol;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** The Python original's test vectors in ../shared/vectors/legacy, read at test time. */
public final class LegacyVectors {

  public static final DnsName ALICE = DnsName.parse("alice._device.example.test");
  public static final DnsName BOB = DnsName.parse("bob._device.example.test");

  private LegacyVectors() {}

  public static Path dir() {
    String shared = System.getProperty("danemsg.shared");
    Path base = shared != null ? Path.of(shared) : Path.of("..", "..", "shared");
    Path dir = base.resolve("vectors").resolve("legacy").normalize();
    if (!Files.isDirectory(dir)) {
      throw new IllegalStateException("legacy vectors not found at " + dir.toAbsolutePath()
          + " (set -Ddanemsg.shared=/path/to/shared)");
    }
    return dir;
  }

  public static Path file(String name) {
    return dir().resolve(name);
  }

  public static byte[] bytes(String name) {
    try {
      return Files.readAllBytes(file(name));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public static String text(String name) {
    return new String(bytes(name), StandardCharsets.UTF_8);
  }

  public static DeviceIdentity identity(DnsName name) {
    try {
      return new IdentityFiles(dir(), name).load();
    } catch (IdentityException e) {
      throw new IllegalStateException(e);
    }
  }
}
