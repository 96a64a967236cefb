package org.danemsg.node;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.danemsg.protocol.SafeText;
import org.jose4j.json.JsonUtil;

/**
 * The writer of the node before the message store, kept as it was so that tests write the files of an
 * older node ({@code inbox.jsonl}, {@code quarantine.jsonl}) exactly as that node did
 * ({@link OlderNodeFolder}). An append-only file of JSON objects, one per line. Not thread-safe.
 *
 * <p>What it guarantees whatever the values hold: every line is one valid JSON object in valid UTF-8
 * (string values are made {@linkplain SafeText#wellFormed well-formed} here and the JSON encoder
 * escapes control characters, so no value can end a line or break the encoding, and no write can
 * fail because of what a message contained); the file is created with mode 0600 (it may hold
 * plaintext) and an existing file with a wider mode is narrowed; {@link #force} puts what was
 * appended on disk. With a byte limit, a line that would take the file past it first moves the file
 * to {@code <name>.1} (replacing the previous one), so the two together never hold more than twice
 * the limit.
 */
final class JsonLines implements Closeable {

  private final Path file;
  private final long maxBytes;
  private FileChannel channel;
  private long size;
  private boolean unforced;
  private long rotations;

  /** An unbounded file. */
  JsonLines(Path file) throws IOException {
    this(file, 0);
  }

  /** A file of at most {@code maxBytes} (0: unbounded) plus one previous generation. */
  JsonLines(Path file, long maxBytes) throws IOException {
    this.file = file;
    this.maxBytes = maxBytes;
    open();
  }

  /** The previous generation, where a full file is moved. */
  Path previous() {
    return file.resolveSibling(file.getFileName() + ".1");
  }

  /** How often the file was full and moved aside since start. */
  long rotations() {
    return rotations;
  }

  /**
   * Appends one object as a line (to the OS: a crash of this process loses nothing appended;
   * {@link #force} makes it survive a crash of the machine).
   *
   * @return true when the file was full and was moved to {@link #previous()} first
   */
  boolean append(Map<String, ?> object) throws IOException {
    byte[] line = (JsonUtil.toJson(wellFormed(object)) + "\n").getBytes(StandardCharsets.UTF_8);
    boolean rotated = false;
    if (maxBytes > 0 && size > 0 && size + line.length > maxBytes) {
      rotate();
      rotated = true;
    }
    ByteBuffer buffer = ByteBuffer.wrap(line);
    while (buffer.hasRemaining()) {
      channel.write(buffer);
    }
    size += line.length;
    unforced = true;
    return rotated;
  }

  /** Puts every appended line on disk (fsync), if any is not yet. */
  void force() throws IOException {
    if (unforced) {
      channel.force(false);
      unforced = false;
    }
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  private void rotate() throws IOException {
    channel.force(false);
    channel.close();
    Files.move(file, previous(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    rotations++;
    open();
  }

  private void open() throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    if (!Files.exists(file)) {
      try {
        Files.createFile(file, OwnerOnly.fileAttribute());
      } catch (java.nio.file.FileAlreadyExistsException raced) {
        // created meanwhile: narrowed below
      }
    }
    OwnerOnly.narrowFile(file);
    channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    size = channel.size();
    unforced = false;
  }

  /** The object with every string (nested too) made well-formed: it can always be encoded. */
  private static Map<String, Object> wellFormed(Map<String, ?> object) {
    Map<String, Object> copy = new LinkedHashMap<>();
    object.forEach((key, value) -> copy.put(SafeText.wellFormed(key), wellFormedValue(value)));
    return copy;
  }

  @SuppressWarnings("unchecked")
  private static Object wellFormedValue(Object value) {
    if (value instanceof String s) {
      return SafeText.wellFormed(s);
    }
    if (value instanceof Map<?, ?> m) {
      return wellFormed((Map<String, ?>) m);
    }
    if (value instanceof List<?> l) {
      return l.stream().map(JsonLines::wellFormedValue).toList();
    }
    return value;
  }
}
