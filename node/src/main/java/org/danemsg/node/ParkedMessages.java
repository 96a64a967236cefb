package org.danemsg.node;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Payloads waiting for their sender's DNS answer, one file each in {@code DATA_PATH/parked/}, named
 * by the payload's SHA-256 (so a redelivered copy parks onto the same file). A payload is written
 * (atomically) before its MQTT message is acked and deleted once it was delivered or quarantined;
 * at start the node takes up whatever is left. Owned by the Authenticator.
 */
final class ParkedMessages {

  /** A parked payload, its file, and when it was parked (the file's time: it survives restarts). */
  record Parked(Path file, byte[] payload, java.time.Instant parkedAt) {}

  private final Path dir;

  ParkedMessages(Path dir) throws IOException {
    this.dir = Files.createDirectories(dir);
  }

  Path park(byte[] payload) throws IOException {
    Path file = dir.resolve(hash(payload) + ".msg");
    if (Files.exists(file)) {
      return file; // a redelivered copy: same content, and the first parking time stays
    }
    Path tmp = dir.resolve(file.getFileName() + ".tmp");
    Files.write(tmp, payload);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return file;
  }

  void remove(Path file) throws IOException {
    Files.deleteIfExists(file);
  }

  List<Parked> all() throws IOException {
    List<Parked> parked = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.msg")) {
      for (Path file : files) {
        parked.add(new Parked(file, Files.readAllBytes(file), Files.getLastModifiedTime(file).toInstant()));
      }
    }
    return parked;
  }

  private static String hash(byte[] payload) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(payload));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 missing from the JDK", e);
    }
  }
}
