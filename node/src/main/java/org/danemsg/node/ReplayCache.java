package org.danemsg.node;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jose4j.json.JsonUtil;

/**
 * The ids (sender + jti) of delivered native messages, each kept until its {@code exp} (plus clock
 * skew) has passed, persisted in {@code replay.log} so that a restart does not reopen the replay
 * window. Also removes QoS 1 duplicates: a redelivered message carries the same sender and jti.
 *
 * <p>An id is recorded right after the message is written to the inbox. A crash between the two
 * writes would leave the inbox line without its id, so at start the ids of the inbox's last lines are
 * read back too. Expired ids are dropped in memory as they are met and from the file when it is
 * compacted (at start, and when it holds four times more lines than live ids). Not thread-safe: owned
 * by the Printer.
 */
final class ReplayCache {

  private static final int INBOX_TAIL_BYTES = 256 * 1024;
  private static final long SKEW_SECONDS = 60;

  private final Path file;
  private final Clock clock;
  private final Map<String, Long> expiries = new HashMap<>();
  private BufferedWriter writer;
  private long linesInFile;

  ReplayCache(Path file, Path inbox, Clock clock) throws IOException {
    this.file = file;
    this.clock = clock;
    load(inbox);
    compact();
  }

  /** Whether {@code sender}'s message {@code id} was delivered and has not expired. */
  boolean seen(String sender, String id) {
    Long expiry = expiries.get(key(sender, id));
    if (expiry == null) {
      return false;
    }
    if (expiry < clock.instant().getEpochSecond()) {
      expiries.remove(key(sender, id));
      return false;
    }
    return true;
  }

  /** Records a delivered message until {@code expiresAt}. */
  void record(String sender, String id, Instant expiresAt) throws IOException {
    long expiry = expiresAt.getEpochSecond() + SKEW_SECONDS;
    expiries.put(key(sender, id), expiry);
    writer.write(sender + " " + expiry + " " + id + "\n");
    writer.flush();
    linesInFile++;
    if (linesInFile > 10_000 && linesInFile > 4L * expiries.size()) {
      compact();
    }
  }

  int size() {
    return expiries.size();
  }

  void close() throws IOException {
    writer.close();
  }

  private void load(Path inbox) throws IOException {
    try {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        String[] parts = line.split(" ", 3);
        if (parts.length == 3) {
          try {
            expiries.put(key(parts[0], parts[2]), Long.parseLong(parts[1]));
          } catch (NumberFormatException e) {
            // a line torn by a crash: skip it
          }
        }
      }
    } catch (NoSuchFileException e) {
      // first start
    }
    for (String line : inboxTail(inbox)) {
      try {
        Map<String, Object> entry = JsonUtil.parseJson(line);
        if (entry.get("sender") instanceof String sender && entry.get("id") instanceof String id
            && entry.get("expires-at") instanceof String exp) {
          expiries.putIfAbsent(key(sender, id), Instant.parse(exp).getEpochSecond() + SKEW_SECONDS);
        }
      } catch (Exception e) {
        // a torn or foreign line: skip it
      }
    }
  }

  private static List<String> inboxTail(Path inbox) throws IOException {
    if (inbox == null || !Files.exists(inbox)) {
      return List.of();
    }
    try (RandomAccessFile raf = new RandomAccessFile(inbox.toFile(), "r")) {
      long start = Math.max(0, raf.length() - INBOX_TAIL_BYTES);
      byte[] tail = new byte[(int) (raf.length() - start)];
      raf.seek(start);
      raf.readFully(tail);
      List<String> lines = List.of(new String(tail, StandardCharsets.UTF_8).split("\n"));
      return start == 0 ? lines : lines.subList(Math.min(1, lines.size()), lines.size());
    }
  }

  private void compact() throws IOException {
    if (writer != null) {
      writer.close();
    }
    long now = clock.instant().getEpochSecond();
    expiries.values().removeIf(expiry -> expiry < now);
    Files.createDirectories(file.toAbsolutePath().getParent());
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    StringBuilder sb = new StringBuilder();
    for (var entry : expiries.entrySet()) {
      String[] senderAndId = entry.getKey().split(" ", 2);
      sb.append(senderAndId[0]).append(' ').append(entry.getValue()).append(' ').append(senderAndId[1])
          .append('\n');
    }
    Files.writeString(tmp, sb, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    linesInFile = expiries.size();
    writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
  }

  private static String key(String sender, String id) {
    // Names compare case-insensitively; a DNS name has no spaces, so the space separates.
    return sender.toLowerCase(java.util.Locale.ROOT) + " " + id;
  }
}
