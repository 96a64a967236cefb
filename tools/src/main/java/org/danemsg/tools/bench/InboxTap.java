package org.danemsg.tools.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.jose4j.json.JsonUtil;
import org.jose4j.lang.JoseException;

/**
 * Follows the receiving node's {@code inbox.jsonl} as lines are appended and hands each message's
 * text and {@code received-at} (the node's time of printing) to a listener, on one daemon thread.
 */
final class InboxTap implements AutoCloseable {

  /** Gets each delivered message. */
  interface Listener {
    void delivered(String text, long receivedAtMicros);
  }

  private final Path file;
  private final Listener listener;
  private final Thread thread;
  private final AtomicLong lines = new AtomicLong();
  private final AtomicLong unreadable = new AtomicLong();
  private volatile boolean running = true;

  InboxTap(Path file, Listener listener) {
    this.file = file;
    this.listener = listener;
    this.thread = new Thread(this::follow, "inbox tap");
    thread.setDaemon(true);
    thread.start();
  }

  /** Lines read so far. */
  long lines() {
    return lines.get();
  }

  /** Lines that were not JSON with a text and a received-at. */
  long unreadable() {
    return unreadable.get();
  }

  private void follow() {
    ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
    ByteArrayOutputStream partial = new ByteArrayOutputStream();
    FileChannel channel = null;
    long position = 0;
    try {
      while (running) {
        if (channel == null) {
          if (!Files.exists(file)) {
            Thread.sleep(5);
            continue;
          }
          channel = FileChannel.open(file, StandardOpenOption.READ);
          position = channel.size(); // only what is appended from now on
        }
        buffer.clear();
        int n = channel.read(buffer, position);
        if (n <= 0) {
          Thread.sleep(1); // polling every millisecond costs far less than a message
          continue;
        }
        position += n;
        byte[] bytes = buffer.array();
        int start = 0;
        for (int i = 0; i < n; i++) {
          if (bytes[i] == '\n') {
            partial.write(bytes, start, i - start);
            line(partial.toString(StandardCharsets.UTF_8));
            partial.reset();
            start = i + 1;
          }
        }
        partial.write(bytes, start, n - start);
      }
    } catch (IOException e) {
      System.err.println("bench: cannot follow " + file + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException e) {
          // read-only
        }
      }
    }
  }

  private void line(String line) {
    if (line.isBlank()) {
      return;
    }
    lines.incrementAndGet();
    try {
      Map<String, Object> entry = JsonUtil.parseJson(line);
      if (entry.get("text") instanceof String text && entry.get("received-at") instanceof String at) {
        Instant received = Instant.parse(at);
        listener.delivered(text, received.getEpochSecond() * 1_000_000 + received.getNano() / 1000);
        return;
      }
    } catch (JoseException | RuntimeException e) {
      // counted below
    }
    unreadable.incrementAndGet();
  }

  @Override
  public void close() {
    running = false;
    try {
      thread.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
