package org.danemsg.node;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jose4j.json.JsonUtil;

/**
 * The ids of delivered messages (sender + id), each kept until it can no longer be accepted: a
 * native message's {@code exp} plus the clock skew, a legacy message's digest id for the configured
 * legacy window. Persisted in {@code replay.log} so that a restart does not reopen the replay window.
 * Also removes QoS 1 duplicates: a redelivered message carries the same sender and id.
 *
 * <p>Each entry is a JSON line ({@code {"sender":…,"id":…,"until":<epoch seconds>}}), written by
 * {@link JsonLines}: an id can hold nothing that changes the file's layout, and the key kept in
 * memory is the one read back. Lines of the older form ({@code <sender> <until> <id>}) are read once
 * and rewritten as JSON at the next compaction.
 *
 * <p>An id is recorded right after the message is written to the inbox. A crash between the two
 * writes would leave the inbox line without its id, so at start the ids of the inbox's last lines are
 * read back too. Expired ids are dropped in memory as they are met and from the file when it is
 * compacted (at start, and when it holds four times more lines than live ids). Not thread-safe: owned
 * by the Printer.
 */
final class ReplayCache {

  private static final int INBOX_TAIL_BYTES = 256 * 1024;
  static final long SKEW_SECONDS = 60;

  private final JsonLines log;
  private final Clock clock;
  private final java.time.Duration legacyWindow;
  private final Map<String, Entry> entries = new HashMap<>();
  private long linesInFile;

  private record Entry(String sender, String id, long until) {}

  ReplayCache(Path file, Path inbox, Clock clock, java.time.Duration legacyWindow) throws IOException {
    this.clock = clock;
    this.legacyWindow = legacyWindow;
    load(file, inbox);
    this.log = new JsonLines(file);
    compact();
  }

  /** Whether {@code sender}'s message {@code id} was delivered and may still come again. */
  boolean seen(String sender, String id) {
    String key = key(sender, id);
    Entry entry = entries.get(key);
    if (entry == null) {
      return false;
    }
    if (entry.until() < clock.instant().getEpochSecond()) {
      entries.remove(key);
      return false;
    }
    return true;
  }

  /** Records a delivered message until {@code until} (its expiry, or the end of the legacy window). */
  void record(String sender, String id, Instant until) throws IOException {
    Entry entry = new Entry(sender, id, until.getEpochSecond() + SKEW_SECONDS);
    entries.put(key(sender, id), entry);
    log.append(json(entry));
    linesInFile++;
    if (linesInFile > 10_000 && linesInFile > 4L * entries.size()) {
      compact();
    }
  }

  /** Puts the recorded ids on disk. */
  void force() throws IOException {
    log.force();
  }

  int size() {
    return entries.size();
  }

  void close() throws IOException {
    log.close();
  }

  private void load(Path file, Path inbox) throws IOException {
    try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      while ((line = reader.readLine()) != null) {
        Entry entry = line.startsWith("{") ? fromJson(line) : fromOldLine(line);
        if (entry != null) {
          entries.put(key(entry.sender(), entry.id()), entry);
        }
      }
    } catch (NoSuchFileException e) {
      // first start
    } catch (java.nio.charset.MalformedInputException e) {
      // written by an older node from a hostile id: what was read so far is kept
    }
    for (String line : inboxTail(inbox)) {
      try {
        Map<String, Object> record = JsonUtil.parseJson(line);
        if (record.get("sender") instanceof String sender && record.get("id") instanceof String id) {
          Instant until = record.get("expires-at") instanceof String exp ? Instant.parse(exp)
              : record.get("received-at") instanceof String received ? Instant.parse(received).plus(legacyWindow)
              : null;
          if (until != null) {
            entries.putIfAbsent(key(sender, id), new Entry(sender, id, until.getEpochSecond() + SKEW_SECONDS));
          }
        }
      } catch (Exception e) {
        // a torn or foreign line: skip it
      }
    }
  }

  private static Entry fromJson(String line) {
    try {
      Map<String, Object> record = JsonUtil.parseJson(line);
      if (record.get("sender") instanceof String sender && record.get("id") instanceof String id
          && record.get("until") instanceof Number until) {
        return new Entry(sender, id, until.longValue());
      }
    } catch (Exception e) {
      // a torn line: skip it
    }
    return null;
  }

  /** The older form; its ids could hold anything but a newline, so only whole, plain lines count. */
  private static Entry fromOldLine(String line) {
    String[] parts = line.split(" ", 3);
    if (parts.length != 3) {
      return null;
    }
    try {
      return new Entry(parts[0], parts[2], Long.parseLong(parts[1]));
    } catch (NumberFormatException e) {
      return null;
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
    long now = clock.instant().getEpochSecond();
    entries.values().removeIf(entry -> entry.until() < now);
    List<Map<String, Object>> live = new ArrayList<>(entries.size());
    for (Entry entry : entries.values()) {
      live.add(json(entry));
    }
    log.replaceAll(live);
    linesInFile = entries.size();
  }

  private static Map<String, Object> json(Entry entry) {
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("sender", entry.sender());
    line.put("id", entry.id());
    line.put("until", entry.until());
    return line;
  }

  private static String key(String sender, String id) {
    // Names compare case-insensitively. The key is only compared, never parsed back.
    return sender.toLowerCase(Locale.ROOT) + "\n" + id;
  }
}
