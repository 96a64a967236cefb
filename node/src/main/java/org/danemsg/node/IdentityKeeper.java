package org.danemsg.node;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.IdentityException;
import org.danemsg.protocol.IdentityFiles;
import org.danemsg.protocol.dns.LookupResult;

/**
 * Owns this device's key(s) and certificate. Loaded once at start (by {@link Node}, so a missing or
 * corrupt identity stops the node before it connects), then:
 * <ul>
 *   <li>checks at start and every {@code publication-check-interval} that DNS publishes the key
 *       securely; if not, logs "identity not published" with the exact TLSA line to add, and the node
 *       keeps receiving (senders that still know the old record can reach it);
 *   <li>watches the key files and reloads them when they change; subscribers (the Decryptor) get the
 *       new {@link Keys}. Besides the current files it loads those of a key rollover
 *       ({@code tools identity rotate}, RFC 7671 §8.1): the staged next key ({@code <name>.next.*}),
 *       usable as soon as its files appear because peers may encrypt to its record right away, and the
 *       retired one ({@code <name>.old.*}) plus the previous key in memory, for messages already
 *       encrypted to them. A change that does not load (half-written files, a mismatched pair) keeps
 *       the keys in use, is retried shortly and logged once if it lasts.
 * </ul>
 * File reads are blocking: the actor runs on the file dispatcher.
 */
public final class IdentityKeeper extends AbstractBehavior<IdentityKeeper.Command> {

  /** What the keeper does. */
  public sealed interface Command {}

  /** Send the current keys now and after every change. */
  public record Subscribe(ActorRef<Keys> subscriber) implements Command {}

  /** Reply with the publication status. */
  public record GetStatus(ActorRef<Status> replyTo) implements Command {}

  /** Check the publication in DNS now (also runs on a timer). */
  public record CheckPublication() implements Command {}

  private record CheckFiles() implements Command {}

  private record PublicationChecked(LookupResult result) implements Command {}

  /**
   * This node's keys for decryption: the current identity first (it signs), then during a rollover the
   * staged next key, the retired one and the previous key in memory, each once.
   */
  public record Keys(DnsName self, List<DeviceIdentity> identities) {
    /** Copies the list. */
    public Keys {
      identities = List.copyOf(identities);
    }
  }

  /** Whether DNS publishes this node's current key. */
  public sealed interface Status {}

  /** Not checked yet. */
  public record Unchecked() implements Status {}

  /** DNS publishes the current key (validated, unless DNSSEC is off). */
  public record Published(String detail) implements Status {}

  /** DNS does not publish the key securely; {@code tlsaLine} is the record to add. */
  public record NotPublished(String reason, String tlsaLine) implements Status {}

  /** DNS could not be asked this time. */
  public record Unknown(String reason) implements Status {}

  /** How often to check. */
  public record Settings(Duration publicationCheckInterval, Duration fileCheckInterval) {}

  private record FileStamp(Object fileKey, FileTime modified, long size) {
    static final FileStamp MISSING = new FileStamp(null, null, -1);
  }

  /** Why one role's files did not load, and since when (to tell a rollover's brief switch from damage). */
  private record Problem(String message, long sinceNanos) {}

  /** A problem is retried this often until it is reported. */
  private static final Duration RETRY = Duration.ofMillis(250);

  /** Files may mismatch this long (the renames of {@link IdentityFiles#promoteStaged}) before a warning. */
  private static final Duration GRACE = Duration.ofSeconds(1);

  private static final String CURRENT = "current";
  private static final String STAGED = "staged";
  private static final String RETIRED = "retired";

  private final IdentityFiles files;
  private final ActorRef<TlsaResolver.Command> resolver;
  private final ActorRef<LookupResult> lookupAdapter;
  private final TimerScheduler<Command> timers;
  private final List<ActorRef<Keys>> subscribers = new ArrayList<>();
  private final WatchService watch;
  private DeviceIdentity current;
  private DeviceIdentity staged;
  private DeviceIdentity retired;
  private DeviceIdentity previous;
  private List<FileStamp> stamps;
  private final Map<String, Problem> problems = new HashMap<>();
  private final Map<String, String> reported = new HashMap<>();
  private Keys announced;
  private final KeyRing ring;
  private Status status = new Unchecked();

  /**
   * The keys at start, before the keeper runs: {@code current} and, when a rollover is under way, the
   * staged and retired keys whose files load (those that do not are the keeper's to report). Cluster
   * remoting's TLS trusts them from its first connection on.
   */
  public static Keys atStart(IdentityFiles files, DeviceIdentity current) {
    Map<String, DeviceIdentity> byFingerprint = new LinkedHashMap<>();
    byFingerprint.put(current.fingerprint(), current);
    for (IdentityFiles roleFiles : List.of(files.staged(), files.retired())) {
      DeviceIdentity identity = read(STAGED, roleFiles).identity();
      if (identity != null) {
        byFingerprint.putIfAbsent(identity.fingerprint(), identity);
      }
    }
    return new Keys(current.name(), List.copyOf(byFingerprint.values()));
  }

  /** A keeper of {@code initial}, which was loaded from {@code files}. */
  public static Behavior<Command> create(IdentityFiles files, DeviceIdentity initial,
      ActorRef<TlsaResolver.Command> resolver, Settings settings) {
    return create(files, initial, resolver, settings, new KeyRing(new Keys(initial.name(), List.of(initial))));
  }

  /** A keeper of {@code initial} that publishes every change of the keys to decrypt with in {@code ring}. */
  public static Behavior<Command> create(IdentityFiles files, DeviceIdentity initial,
      ActorRef<TlsaResolver.Command> resolver, Settings settings, KeyRing ring) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new IdentityKeeper(context, timers, files, initial, resolver, settings, ring)));
  }

  private IdentityKeeper(ActorContext<Command> context, TimerScheduler<Command> timers, IdentityFiles files,
      DeviceIdentity initial, ActorRef<TlsaResolver.Command> resolver, Settings settings, KeyRing ring) {
    super(context);
    this.ring = ring;
    this.files = files;
    this.current = initial;
    this.resolver = resolver;
    this.timers = timers;
    this.lookupAdapter = context.messageAdapter(LookupResult.class, PublicationChecked::new);
    this.announced = new Keys(initial.name(), List.of(initial));
    this.watch = watch(files, context.getSelf(), context.getLog());
    // A rollover may be under way already: use its staged and retired keys from the start.
    this.stamps = stamps();
    Map<String, Outcome> read = readConsistently();
    if (read != null) {
      read.remove(CURRENT); // the node was started with the current identity, already checked
      apply(read);
    } else {
      timers.startSingleTimer("retry", new CheckFiles(), RETRY);
    }
    if (keys().identities().size() > 1) {
      announce(keys());
    }
    context.getSelf().tell(new CheckPublication());
    timers.startTimerWithFixedDelay("publication", new CheckPublication(), settings.publicationCheckInterval());
    timers.startTimerWithFixedDelay("files", new CheckFiles(), settings.fileCheckInterval());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Subscribe.class, this::onSubscribe)
        .onMessage(GetStatus.class, get -> {
          get.replyTo().tell(status);
          return this;
        })
        .onMessage(CheckPublication.class, check -> {
          resolver.tell(new TlsaResolver.Lookup(current.name(), true, lookupAdapter));
          return this;
        })
        .onMessage(PublicationChecked.class, this::onPublicationChecked)
        .onMessage(CheckFiles.class, this::onCheckFiles)
        .onSignal(PostStop.class, stop -> closeWatch())
        .onSignal(PreRestart.class, restart -> closeWatch())
        .build();
  }

  private Behavior<Command> onSubscribe(Subscribe subscribe) {
    subscribers.add(subscribe.subscriber());
    subscribe.subscriber().tell(keys());
    return this;
  }

  private Behavior<Command> onPublicationChecked(PublicationChecked checked) {
    LookupResult result = checked.result();
    Status next;
    String tlsaLine = current.tlsaRecord().zoneLine(current.name(), 3600);
    if (result.isTransient()) {
      next = new Unknown(result.describe());
    } else if (result.usableKeys().stream()
        .anyMatch(k -> java.util.Arrays.equals(k.getEncoded(), current.publicKey().getEncoded()))) {
      // During a rollover DNS publishes the current key beside the staged (or retired) one: that is
      // published too.
      next = new Published(result.describe());
    } else if (!result.usableKeys().isEmpty()) {
      next = new NotPublished("DNS publishes other key(s), not this node's current one ("
          + result.describe() + ")", tlsaLine);
    } else {
      next = new NotPublished(result.describe(), tlsaLine);
    }
    if (!next.equals(status)) {
      if (next instanceof Published published) {
        getContext().getLog().info("identity published: {}", published.detail());
      } else if (next instanceof NotPublished not) {
        getContext().getLog().warn("identity not published: {}; senders cannot encrypt to this node until"
            + " this record is in the zone (or run 'tools identity publish'): {}", not.reason(), not.tlsaLine());
      } else if (next instanceof Unknown unknown) {
        getContext().getLog().warn("identity publication unknown: {}; checked again in the next round",
            unknown.reason());
      }
    }
    status = next;
    return this;
  }

  private Behavior<Command> onCheckFiles(CheckFiles check) {
    if (stamps().equals(stamps) && problems.isEmpty()) {
      return this;
    }
    Map<String, Outcome> read = readConsistently();
    if (read == null) {
      timers.startSingleTimer("retry", new CheckFiles(), RETRY); // still being written
      return this;
    }
    DeviceIdentity before = current;
    apply(read);
    if (!current.fingerprint().equals(before.fingerprint())) {
      previous = before;
      getContext().getLog().info("identity reloaded: now {}; the previous key {} still decrypts", current,
          previous.fingerprint());
      getContext().getSelf().tell(new CheckPublication());
    }
    Keys keys = keys();
    if (!fingerprints(keys).equals(fingerprints(announced))) {
      announce(keys);
      for (ActorRef<Keys> subscriber : subscribers) {
        subscriber.tell(keys);
      }
    }
    return this;
  }

  /** What one role's files gave: a key, a problem, or nothing (no files). */
  private record Outcome(DeviceIdentity identity, String problem) {}

  /**
   * Reads the current, staged and retired files as one snapshot: {@link IdentityFiles#promoteStaged}
   * renames file after file, and a read spanning one of its renames could see the staged key gone but
   * not yet current. Returns null while the files keep changing.
   */
  private Map<String, Outcome> readConsistently() {
    List<FileStamp> before = stamps();
    for (int attempt = 0; attempt < 3; attempt++) {
      Map<String, Outcome> read = new LinkedHashMap<>();
      read.put(CURRENT, read(CURRENT, files));
      read.put(STAGED, read(STAGED, files.staged()));
      read.put(RETIRED, read(RETIRED, files.retired()));
      List<FileStamp> after = stamps();
      if (after.equals(before)) {
        stamps = after;
        return read;
      }
      before = after;
    }
    return null;
  }

  private static Outcome read(String role, IdentityFiles roleFiles) {
    if (!role.equals(CURRENT) && !roleFiles.exist()) {
      return new Outcome(null, null);
    }
    try {
      return new Outcome(roleFiles.load(), null);
    } catch (IdentityException e) {
      return new Outcome(null, e.getMessage());
    }
  }

  /**
   * Takes what was read. A role whose files do not load keeps the key it had: between the two renames
   * of {@link IdentityFiles#promoteStaged} the new key lies beside the old certificate. Such a problem
   * is retried shortly and reported only if it lasts.
   */
  private void apply(Map<String, Outcome> read) {
    for (Map.Entry<String, Outcome> entry : read.entrySet()) {
      String role = entry.getKey();
      Outcome outcome = entry.getValue();
      DeviceIdentity had = role.equals(CURRENT) ? current : role.equals(STAGED) ? staged : retired;
      DeviceIdentity now = outcome.problem() == null ? outcome.identity() : had;
      if (outcome.problem() == null) {
        if (reported.containsKey(role) && now != null) {
          getContext().getLog().info("{} identity files load again: {}", role, now.fingerprint());
        }
        problems.remove(role);
        reported.remove(role);
      } else {
        noteProblem(role, outcome.problem(), had);
      }
      switch (role) {
        case CURRENT -> current = now;
        case STAGED -> staged = now;
        default -> retired = now;
      }
    }
    if (problems.keySet().stream().anyMatch(role -> !reported.containsKey(role))) {
      timers.startSingleTimer("retry", new CheckFiles(), RETRY);
    }
  }

  private void noteProblem(String role, String message, DeviceIdentity had) {
    Problem problem = problems.get(role);
    if (problem == null || !problem.message().equals(message)) {
      problem = new Problem(message, System.nanoTime());
      problems.put(role, problem);
    }
    boolean lasting = System.nanoTime() - problem.sinceNanos() >= GRACE.toNanos();
    if (!lasting || message.equals(reported.get(role))) {
      return;
    }
    reported.put(role, message);
    if (role.equals(CURRENT)) {
      getContext().getLog().warn("identity files changed but do not load, keeping key {}: {}",
          had.fingerprint(), message);
    } else {
      getContext().getLog().warn("{} identity files ({}) do not load, {}: {}", role,
          role.equals(STAGED) ? "the next key of a rollover" : "the key before the last rollover",
          had == null ? "not decrypting with them" : "still decrypting with key " + had.fingerprint(), message);
    }
  }

  /** Current first (it signs), then staged, retired and the in-memory previous key, each once. */
  private Keys keys() {
    Map<String, DeviceIdentity> byFingerprint = new LinkedHashMap<>();
    for (DeviceIdentity identity : Arrays.asList(current, staged, retired, previous)) {
      if (identity != null) {
        byFingerprint.putIfAbsent(identity.fingerprint(), identity);
      }
    }
    return new Keys(current.name(), List.copyOf(byFingerprint.values()));
  }

  private void announce(Keys keys) {
    announced = keys;
    ring.publish(keys);
    List<String> parts = new ArrayList<>();
    parts.add("current " + current.fingerprint());
    if (staged != null && !staged.fingerprint().equals(current.fingerprint())) {
      parts.add("staged " + staged.fingerprint());
    }
    if (retired != null && !retired.fingerprint().equals(current.fingerprint())) {
      parts.add("retired " + retired.fingerprint());
    }
    if (previous != null && Arrays.asList(current, staged, retired).stream()
        .noneMatch(k -> k != null && k.fingerprint().equals(previous.fingerprint()))) {
      parts.add("previous " + previous.fingerprint());
    }
    getContext().getLog().info("now decrypting with {} key{}: {}", keys.identities().size(),
        keys.identities().size() == 1 ? "" : "s", String.join(", ", parts));
  }

  private static List<String> fingerprints(Keys keys) {
    return keys.identities().stream().map(DeviceIdentity::fingerprint).toList();
  }

  private List<FileStamp> stamps() {
    List<FileStamp> all = new ArrayList<>();
    for (IdentityFiles roleFiles : List.of(files, files.staged(), files.retired())) {
      all.add(stamp(roleFiles.keyFile()));
      all.add(stamp(roleFiles.certificateFile()));
    }
    return all;
  }

  private static FileStamp stamp(Path file) {
    try {
      BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
      // The file key (inode) changes with every atomic replacement, even within one mtime tick.
      return new FileStamp(attributes.fileKey(), attributes.lastModifiedTime(), attributes.size());
    } catch (IOException e) {
      return FileStamp.MISSING;
    }
  }

  /**
   * Watches the identity folder so a staged key is used as soon as its files appear (peers may encrypt
   * to it right after its record is published); the periodic check stays as the fallback for file
   * systems without change events (some network and container mounts).
   */
  private static WatchService watch(IdentityFiles files, ActorRef<Command> self, org.slf4j.Logger log) {
    WatchService service;
    try {
      service = files.dir().getFileSystem().newWatchService();
      files.dir().register(service, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_DELETE,
          StandardWatchEventKinds.ENTRY_MODIFY);
    } catch (IOException | UnsupportedOperationException e) {
      log.info("cannot watch {} for changes ({}); identity files are checked periodically only", files.dir(),
          e.toString());
      return null;
    }
    // Temporary files of IdentityFiles start with '.', so only finished files trigger a check.
    String prefix = files.name() + ".";
    Thread thread = new Thread(() -> {
      try {
        while (true) {
          WatchKey key = service.take();
          boolean ours = false;
          for (WatchEvent<?> event : key.pollEvents()) {
            ours |= event.kind() == StandardWatchEventKinds.OVERFLOW
                || (event.context() instanceof Path path && path.toString().startsWith(prefix));
          }
          if (ours) {
            self.tell(new CheckFiles());
          }
          if (!key.reset()) {
            return; // the folder is gone; the periodic check reports it
          }
        }
      } catch (InterruptedException | ClosedWatchServiceException e) {
        // closed with the keeper
      }
    }, "identity-watch-" + files.name());
    thread.setDaemon(true);
    thread.start();
    return service;
  }

  private Behavior<Command> closeWatch() {
    if (watch != null) {
      try {
        watch.close();
      } catch (IOException e) {
        // the watching thread ends with the JVM at the latest
      }
    }
    return this;
  }
}
