package org.danemsg.node;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import org.jose4j.json.JsonUtil;

/**
 * An append-only file of JSON objects, one per line, flushed after each line so that a reader (or a
 * restart) sees every line the node acted on. Not thread-safe: owned by one actor.
 */
final class JsonLines implements Closeable {

  private final Path file;
  private final BufferedWriter writer;

  JsonLines(Path file) throws IOException {
    this.file = file;
    Files.createDirectories(file.toAbsolutePath().getParent());
    this.writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.APPEND, StandardOpenOption.WRITE);
  }

  Path file() {
    return file;
  }

  void append(Map<String, ?> object) throws IOException {
    writer.write(JsonUtil.toJson(object));
    writer.write('\n');
    writer.flush();
  }

  @Override
  public void close() throws IOException {
    writer.close();
  }
}
