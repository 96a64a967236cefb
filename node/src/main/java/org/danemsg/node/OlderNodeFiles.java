package org.danemsg.node;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.danemsg.protocol.DnsName;
import org.jose4j.json.JsonUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The files an older node kept in {@code DATA_PATH}, imported once into the {@link MessageStore} at
 * start, in this order, each kind in a transaction of its own:
 * <ul>
 *   <li>{@code replay.log} (JSON lines, or the older {@code <sender> <until> <id>} form) into
 *       {@code seen}; renamed {@code replay.log.migrated};
 *   <li>{@code inbox.jsonl.1} then {@code inbox.jsonl} into {@code inbox}, line by line in order (their
 *       ids also join the replay window while they can come again); renamed {@code *.migrated};
 *   <li>{@code quarantine.jsonl.1} then {@code quarantine.jsonl} into {@code quarantine}; renamed
 *       {@code *.migrated};
 *   <li>{@code parked/<sender>/*.msg} into {@code parked} with that sender, and {@code parked/*.msg}
 *       (an older node's, without a sender folder) with none, each with its file's time as the
 *       parking time; the files are deleted.
 * </ul>
 * A file is renamed or deleted only after its import committed; should the node die in between,
 * the next start finds it noted in {@code imported_files} (or, for parked payloads, parked already by
 * their digest) and does not import it twice. A torn or foreign line is skipped and counted. One INFO
 * line per kind says what was imported.
 */
final class OlderNodeFiles {

  private static final Logger LOG = LoggerFactory.getLogger(OlderNodeFiles.class);

  private OlderNodeFiles() {}

  /** Imports whatever older files {@code dataPath} holds; does nothing when there are none. */
  static void importInto(MessageStore store, Path dataPath) throws IOException {
    store.commit();
    replayLog(store, dataPath.resolve("replay.log"));
    jsonLines(store, dataPath, "inbox.jsonl", "message(s)", OlderNodeFiles::inboxLine);
    jsonLines(store, dataPath, "quarantine.jsonl", "refused message(s)", OlderNodeFiles::quarantineLine);
    parked(store, dataPath.resolve("parked"));
  }

  @FunctionalInterface
  private interface LineImport {
    /** Imports one parsed line; false when it is not one of the kind (skipped). */
    boolean take(MessageStore store, Map<String, Object> line) throws IOException;
  }

  private static void replayLog(MessageStore store, Path log) throws IOException {
    if (!Files.exists(log)) {
      return;
    }
    int taken = 0;
    int skipped = 0;
    long bytes = Files.size(log);
    if (!store.wasImported(log.getFileName().toString(), bytes)) {
      try (BufferedReader reader = reader(log)) {
        String line;
        while ((line = reader.readLine()) != null) {
          if (line.startsWith("{") ? takeReplayJson(store, line) : takeReplayOldLine(store, line)) {
            taken++;
          } else if (!line.isBlank()) {
            skipped++;
          }
        }
      }
      store.markImported(log.getFileName().toString(), bytes);
      store.commit();
    }
    Files.move(log, log.resolveSibling("replay.log.migrated"), StandardCopyOption.REPLACE_EXISTING);
    OwnerOnly.narrowFile(log.resolveSibling("replay.log.migrated"));
    LOG.info("migrated replay.log: {} replay window entr(ies) into {} (table seen), {} unreadable line(s) skipped;"
        + " the file is kept as replay.log.migrated", taken, MessageStore.FILE, skipped);
  }

  private static boolean takeReplayJson(MessageStore store, String line) throws IOException {
    Map<String, Object> record = parse(line);
    if (record != null && record.get("sender") instanceof String sender && record.get("id") instanceof String id
        && record.get("until") instanceof Number until) {
      store.importSeen(sender, id, until.longValue());
      return true;
    }
    return false;
  }

  /** The older form; its ids could hold anything but a newline, so only whole, plain lines count. */
  private static boolean takeReplayOldLine(MessageStore store, String line) throws IOException {
    String[] parts = line.split(" ", 3);
    if (parts.length != 3) {
      return false;
    }
    try {
      store.importSeen(parts[0], parts[2], Long.parseLong(parts[1]));
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  /** {@code name.1} (the older generation) then {@code name}, in one transaction. */
  private static void jsonLines(MessageStore store, Path dataPath, String name, String what, LineImport kind)
      throws IOException {
    List<Path> files = new ArrayList<>();
    for (Path file : List.of(dataPath.resolve(name + ".1"), dataPath.resolve(name))) {
      if (Files.exists(file)) {
        files.add(file);
      }
    }
    if (files.isEmpty()) {
      return;
    }
    long taken = 0;
    long skipped = 0;
    boolean importing = false;
    for (Path file : files) {
      long bytes = Files.size(file);
      if (store.wasImported(file.getFileName().toString(), bytes)) {
        continue; // imported by a start that died before renaming it
      }
      importing = true;
      try (BufferedReader reader = reader(file)) {
        String line;
        while ((line = reader.readLine()) != null) {
          if (line.isBlank()) {
            continue;
          }
          Map<String, Object> parsed = parse(line);
          if (parsed != null && kind.take(store, parsed)) {
            taken++;
          } else {
            skipped++;
          }
        }
      }
      store.markImported(file.getFileName().toString(), bytes);
    }
    if (importing) {
      store.commit();
    }
    List<String> kept = new ArrayList<>();
    for (Path file : files) {
      Path migrated = file.resolveSibling(file.getFileName() + ".migrated");
      Files.move(file, migrated, StandardCopyOption.REPLACE_EXISTING);
      OwnerOnly.narrowFile(migrated); // an older node created them 0644, and they hold messages
      kept.add(migrated.getFileName().toString());
    }
    LOG.info("migrated {}: {} {} into {} (table {}), {} unreadable line(s) skipped; kept as {}",
        files.stream().map(f -> f.getFileName().toString()).toList(), taken, what, MessageStore.FILE,
        name.substring(0, name.indexOf('.')), skipped, kept);
  }

  private static boolean inboxLine(MessageStore store, Map<String, Object> line) throws IOException {
    Instant received = instant(line.get("received-at"));
    if (received == null || !(line.get("sender") instanceof String sender)
        || !(line.get("text") instanceof String text)) {
      return false;
    }
    store.importInbox(new MessageStore.InboxRow(received, sender, string(line.get("recipient")),
        instant(line.get("sent-at")), instant(line.get("expires-at")), string(line.get("id")),
        line.get("profile") instanceof String profile ? profile : "native",
        line.get("dnssec") instanceof String dnssec ? dnssec : "validated", text));
    return true;
  }

  private static boolean quarantineLine(MessageStore store, Map<String, Object> line) throws IOException {
    Instant at = instant(line.get("at"));
    if (at == null || !(line.get("reason") instanceof String reason)) {
      return false;
    }
    byte[] payload = null;
    Long payloadSize = null;
    if (line.get("payload") instanceof String base64) {
      try {
        payload = Base64.getDecoder().decode(base64);
      } catch (IllegalArgumentException e) {
        payload = null;
      }
      payloadSize = line.get("payload-size") instanceof Number n ? n.longValue()
          : payload == null ? null : (long) payload.length;
    }
    store.importQuarantine(new MessageStore.QuarantineRow(at, reason, string(line.get("detail")),
        string(line.get("sender")), payload, payload == null ? null : payloadSize));
    return true;
  }

  private static void parked(MessageStore store, Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    List<Path> imported = new ArrayList<>();
    List<Path> leftovers = new ArrayList<>();
    List<Path> senderFolders = new ArrayList<>();
    int withoutSender = 0;
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        if (Files.isDirectory(entry) && DnsName.problemWith(name) == null) {
          senderFolders.add(entry);
          try (DirectoryStream<Path> files = Files.newDirectoryStream(entry)) {
            for (Path file : files) {
              parkedFile(store, file, name, imported, leftovers);
            }
          }
        } else if (Files.isRegularFile(entry) && parkedFile(store, entry, null, imported, leftovers)) {
          withoutSender++;
        }
      }
    }
    store.commit();
    for (Path file : imported) {
      Files.deleteIfExists(file);
    }
    for (Path file : leftovers) {
      Files.deleteIfExists(file); // temporary files of a crash while parking: their message was not acked
    }
    for (Path folder : senderFolders) {
      deleteIfEmpty(folder);
    }
    deleteIfEmpty(dir);
    if (!imported.isEmpty()) {
      LOG.info("migrated parked/: {} parked payload(s) into {} (table parked), {} of them without a sender"
          + " folder (their sender is learned by decrypting them); the files were deleted", imported.size(),
          MessageStore.FILE, withoutSender);
    }
  }

  /** Imports one parked file; true when it was a payload ({@code .msg}). */
  private static boolean parkedFile(MessageStore store, Path file, String sender, List<Path> imported,
      List<Path> leftovers) throws IOException {
    String name = file.getFileName().toString();
    if (name.endsWith(".tmp")) {
      leftovers.add(file);
      return false;
    }
    if (!name.endsWith(".msg") || !Files.isRegularFile(file)) {
      return false;
    }
    store.importParked(sender, Files.readAllBytes(file), Files.getLastModifiedTime(file).toInstant());
    imported.add(file);
    return true;
  }

  private static void deleteIfEmpty(Path folder) throws IOException {
    try {
      Files.deleteIfExists(folder);
    } catch (java.nio.file.DirectoryNotEmptyException e) {
      // something else is in there: left as it is
    }
  }

  /** Lines of a file an older node wrote; bytes that are not UTF-8 (a very old node) become U+FFFD. */
  private static BufferedReader reader(Path file) throws IOException {
    return new BufferedReader(new InputStreamReader(Files.newInputStream(file), StandardCharsets.UTF_8));
  }

  private static Map<String, Object> parse(String line) {
    try {
      return JsonUtil.parseJson(line);
    } catch (org.jose4j.lang.JoseException | RuntimeException e) {
      return null; // a torn or foreign line
    }
  }

  private static Instant instant(Object value) {
    if (value instanceof String text) {
      try {
        return Instant.parse(text);
      } catch (java.time.format.DateTimeParseException e) {
        return null;
      }
    }
    return null;
  }

  private static String string(Object value) {
    return value instanceof String s ? s : null;
  }
}
