package org.danemsg.node;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import org.danemsg.client.SettingsException;

/**
 * The node's MQTT client id: {@code MQTT_CLIENT_ID} when set, else a random id made once and kept in
 * {@code DATA_PATH/mqtt-client-id}. The broker keeps a persistent session (the subscription and the
 * messages queued while the node is away) under the client id, and whoever connects with that id
 * takes the session over: the id used to be derived from the node's public name, so anyone could.
 * A random id cannot be derived; kept in the data folder, it is the same on every start, so the
 * session survives restarts. A node moved to an empty data folder gets a new id, hence a new session.
 */
final class MqttClientId {

  /** The file in DATA_PATH. */
  static final String FILE = "mqtt-client-id";

  private static final char[] BASE32 = "abcdefghijklmnopqrstuvwxyz234567".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();

  private MqttClientId() {}

  /**
   * {@code configured} when not empty, else the id kept in {@code dataPath} (made now if there is none).
   *
   * @throws SettingsException when the file cannot be read or written, or holds no usable id
   */
  static String resolve(String configured, Path dataPath) {
    if (!configured.isEmpty()) {
      return configured;
    }
    Path file = dataPath.resolve(FILE);
    try {
      String kept = Files.readString(file, StandardCharsets.US_ASCII).strip();
      if (kept.isEmpty() || kept.length() > 65535 || !kept.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
        throw new SettingsException(file + " does not hold an MQTT client id: delete it to get a new one"
            + " (and a new broker session), or set MQTT_CLIENT_ID");
      }
      return kept;
    } catch (NoSuchFileException e) {
      return create(file);
    } catch (IOException e) {
      throw new SettingsException("cannot read " + file + " (the node's MQTT client id): " + e.getMessage());
    }
  }

  /** {@code danemsg-} and 128 random bits in base32 (26 characters). */
  static String random() {
    byte[] bits = new byte[16];
    RANDOM.nextBytes(bits);
    StringBuilder id = new StringBuilder("danemsg-");
    int buffer = 0;
    int buffered = 0;
    for (byte b : bits) {
      buffer = (buffer << 8) | (b & 0xff);
      buffered += 8;
      while (buffered >= 5) {
        id.append(BASE32[(buffer >> (buffered - 5)) & 31]);
        buffered -= 5;
      }
    }
    if (buffered > 0) {
      id.append(BASE32[(buffer << (5 - buffered)) & 31]);
    }
    return id.toString();
  }

  /** Writes a new id atomically: a temp file made (mode 0600) in the same folder, then renamed over. */
  private static String create(Path file) {
    String id = random();
    Path temp = null;
    try {
      Path folder = file.getParent();
      try {
        temp = Files.createTempFile(folder, FILE + "-", ".tmp",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      } catch (UnsupportedOperationException e) {
        temp = Files.createTempFile(folder, FILE + "-", ".tmp"); // not a POSIX file system
      }
      Files.writeString(temp, id + "\n", StandardCharsets.US_ASCII);
      try (var channel = java.nio.channels.FileChannel.open(temp, java.nio.file.StandardOpenOption.WRITE)) {
        channel.force(true);
      }
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);
      temp = null;
      return id;
    } catch (AccessDeniedException e) {
      throw new SettingsException("cannot write " + file + " (the node's MQTT client id): permission denied");
    } catch (FileSystemException e) {
      throw new SettingsException("cannot write " + file + " (the node's MQTT client id): " + e.getMessage());
    } catch (IOException e) {
      throw new SettingsException("cannot write " + file + " (the node's MQTT client id): " + e);
    } finally {
      if (temp != null) {
        try {
          Files.deleteIfExists(temp);
        } catch (IOException ignored) {
          // a stray temp file is harmless; the next start makes the id again
        }
      }
    }
  }
}
