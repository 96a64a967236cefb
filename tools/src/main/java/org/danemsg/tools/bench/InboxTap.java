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
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.danemsg.tools.NodeRecords;
import org.jose4j.json.JsonUtil;
import org.jose4j.lang.JoseException;

/**
 * Follows the receiving node's inbox and hands each message's text and {@code received-at} (the
 * node's time of recording it) to a listener, on one daemon thread: the table {@code inbox} of the
 * node's database by cursor (read-only, {@link NodeRecords}) when the node has one, else (a node from
 * before the message store, such as the release the bench compares with) the lines appended to
 * {@code inbox.jsonl}. Only what arrives after the tap started is handed on.
 */
final class InboxTap implements AutoCloseable {

  /** Gets each delivered message. */
  interface Listener {
    void delivered(String text, long receivedAtMicros);
  }

  private static final long IDLE_POLL_MILLIS = 1;

  private final Path dataPath;
  private final Path file;
  private final Listener listener;
  private final Thread thread;
  private final AtomicLong lines = new AtomicLong();
  private final AtomicLong unreadable = new AtomicLong();
  private volatile boolean running = true;

  /** A tap on the inbox of the node whose data folder is {@code dataPath}. */
  InboxTap(Path dataPath, Listener listener) {
    this.dataPath = dataPath;
    this.file = dataPath.resolve("inbox.jsonl");
    this.listener = listener;
    this.thread = new Thread(this::follow, "inbox tap");
    thread.setDaemon(true);
    thread.start();
  }

  /** Messages read so far. */
  long lines() {
    return lines.get();
  }

  /** Lines of inbox.jsonl that were not JSON with a text and a received-at. */
  long unreadable() {
    return unreadable.get();
  }

  /** Waits for the node's database or inbox.jsonl, whichever it writes, and follows that. */
  private void follow() {
    try {
      while (running) {
        if (NodeRecords.readable(dataPath)) {
          followDatabase();
          return;
        }
        if (Files.exists(file)) {
          followFile();
          return;
        }
        Thread.sleep(5);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void followDatabase() throws InterruptedException {
    try (NodeRecords records = NodeRecords.open(dataPath)) {
      long cursor = records.lastCursor(NodeRecords.Kind.INBOX); // only what is recorded from now on
      while (running) {
        List<NodeRecords.Delivered> rows = records.delivered(cursor, 1000);
        for (NodeRecords.Delivered row : rows) {
          lines.incrementAndGet();
          listener.delivered(row.text(), row.receivedAtMicros());
          cursor = row.cursor();
        }
        if (rows.isEmpty()) {
          Thread.sleep(IDLE_POLL_MILLIS); // a query costs far less than a message
        }
      }
    } catch (NodeRecords.Unreadable e) {
      System.err.println("bench: cannot follow the node's inbox: " + e.getMessage());
    }
  }

  private void followFile() {
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
