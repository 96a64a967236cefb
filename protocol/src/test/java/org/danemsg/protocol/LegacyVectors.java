package org.danemsg.protocol;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The Python original's test vectors (output of a live run of the original), kept in this
 * repository's test resources under {@code vectors/legacy}. They are copied once from the class path
 * into a temporary folder, because identity files are read from a folder and the test-jar that other
 * modules use holds them inside a jar.
 */
public final class LegacyVectors {

  public static final DnsName ALICE = DnsName.parse("alice._device.example.test");
  public static final DnsName BOB = DnsName.parse("bob._device.example.test");

  private static final List<String> FILES = List.of("README.md", "accepted-variant.payload.json",
      "accepted-variant.plaintext.txt", "alice._device.example.test.crt.pem",
      "alice._device.example.test.key.pem", "alice._device.example.test.tlsa.txt",
      "bob._device.example.test.crt.pem", "bob._device.example.test.key.pem",
      "bob._device.example.test.tlsa.txt", "compact-jwe-not-jws.payload.txt", "message-1.inner-jws.json",
      "message-1.payload.json", "message-1.plaintext.txt", "message-1.topic.txt", "message-2.inner-jws.json",
      "message-2.payload.json", "message-2.plaintext.txt", "message-2.topic.txt", "zone-snippet.txt");

  private static Path dir;

  private LegacyVectors() {}

  /** The folder holding the vectors (a private copy: tests may read, never write, it). */
  public static synchronized Path dir() {
    if (dir == null) {
      try {
        Path copy = Files.createTempDirectory("legacy-vectors");
        for (String name : FILES) {
          try (InputStream in = LegacyVectors.class.getResourceAsStream("/vectors/legacy/" + name)) {
            if (in == null) {
              throw new IllegalStateException("test resource vectors/legacy/" + name + " is missing");
            }
            Files.copy(in, copy.resolve(name));
          }
        }
        for (String name : FILES) {
          if (name.endsWith(".key.pem")) {
            Files.setPosixFilePermissions(copy.resolve(name),
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
          }
        }
        copy.toFile().deleteOnExit();
        dir = copy;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
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
      throw new UncheckedIOException(e);
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
