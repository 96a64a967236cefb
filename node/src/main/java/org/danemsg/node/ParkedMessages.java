package org.danemsg.node;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;
import org.danemsg.protocol.DnsName;

/**
 * Payloads waiting for their sender's DNS answer: {@code DATA_PATH/parked/<claimed sender>/<SHA-256 of
 * the payload>.msg}. The payload lives only here, never on the heap while it waits: the node keeps the
 * file's name, size and time. The folder name is a validated {@link DnsName} (letters, digits, '-',
 * '_', '.'), and the file name a digest, so nothing in a message chooses a path; a redelivered copy
 * parks onto the same file and keeps its first parking time (the file's time, which survives
 * restarts). A payload is written (temporary file with a random name, forced to disk, then moved) before
 * its MQTT message is acked, and deleted once it was delivered or quarantined. Used by the
 * {@link ParkingLot} (which parks) and its children (which read and delete): the methods that change a
 * sender's folder are synchronized, so a folder deleted as it empties cannot race a new park into it.
 */
final class ParkedMessages {

  /** A parked payload's file, its claimed sender (null for files of an older node), size and time. */
  record Parked(Path file, DnsName sender, long size, Instant parkedAt) {}

  private final Path dir;

  ParkedMessages(Path dir) throws IOException {
    this.dir = Files.createDirectories(dir);
    OwnerOnly.narrowFolder(dir);
  }

  /** Writes {@code payload} for {@code sender} unless a copy is parked already; returns its entry. */
  Parked park(DnsName sender, byte[] payload) throws IOException {
    return park(sender, payload, null);
  }

  /** As {@link #park(DnsName, byte[])}, keeping {@code parkedAt} (not null) as the first parking time. */
  synchronized Parked park(DnsName sender, byte[] payload, Instant parkedAt) throws IOException {
    Path senderDir = dir.resolve(sender.canonical());
    Path file = senderDir.resolve(hash(payload) + ".msg");
    if (Files.exists(file)) {
      return new Parked(file, sender, payload.length, Files.getLastModifiedTime(file).toInstant());
    }
    Files.createDirectories(senderDir);
    Path tmp = Files.createTempFile(senderDir, ".", ".tmp",
        OwnerOnly.fileAttribute());
    try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
      ByteBuffer buffer = ByteBuffer.wrap(payload);
      while (buffer.hasRemaining()) {
        out.write(buffer);
      }
      out.force(true);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    if (parkedAt != null) {
      Files.setLastModifiedTime(tmp, java.nio.file.attribute.FileTime.from(parkedAt));
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    return new Parked(file, sender, payload.length, Files.getLastModifiedTime(file).toInstant());
  }

  byte[] read(Parked parked) throws IOException {
    return Files.readAllBytes(parked.file());
  }

  /** Deletes a settled payload, and its sender's folder once empty. */
  synchronized void remove(Parked parked) throws IOException {
    Files.deleteIfExists(parked.file());
    Path parent = parked.file().getParent();
    if (!parent.equals(dir)) {
      try {
        Files.deleteIfExists(parent);
      } catch (java.nio.file.DirectoryNotEmptyException more) {
        // other messages of the sender still wait
      }
    }
  }

  /**
   * Every parked payload, one at a time, without reading any payload: a start after a flood reads
   * names and sizes only. Left-over temporary files of a crash are deleted.
   */
  synchronized void forEach(Consumer<Parked> each) throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        if (Files.isDirectory(entry) && DnsName.problemWith(name) == null) {
          DnsName sender = DnsName.parse(name);
          try (DirectoryStream<Path> files = Files.newDirectoryStream(entry)) {
            for (Path file : files) {
              visit(file, sender, each);
            }
          }
        } else if (Files.isRegularFile(entry)) {
          visit(entry, null, each); // parked by an older node, directly in parked/
        }
      }
    }
  }

  private static void visit(Path file, DnsName sender, Consumer<Parked> each) throws IOException {
    String name = file.getFileName().toString();
    if (name.endsWith(".tmp")) {
      Files.deleteIfExists(file);
    } else if (name.endsWith(".msg")) {
      each.accept(new Parked(file, sender, Files.size(file), Files.getLastModifiedTime(file).toInstant()));
    }
  }

  private static String hash(byte[] payload) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(payload));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 missing from the JDK", e);
    }
  }
}
