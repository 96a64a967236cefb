package org.danemsg.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
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
 *   <li>watches the key files and reloads them when they change, keeping the previous key too so
 *       messages sealed to it during a rollover still decrypt; subscribers (the Decryptor) get the new
 *       {@link Keys}. A change that does not load (half-written files, a mismatched pair) is logged
 *       and the current keys stay in use.
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

  /** This node's keys: the current identity first, then the previous one during a rollover. */
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

  private record FileStamp(FileTime key, long keySize, FileTime cert, long certSize) {}

  private final IdentityFiles files;
  private final ActorRef<TlsaResolver.Command> resolver;
  private final ActorRef<LookupResult> lookupAdapter;
  private final List<ActorRef<Keys>> subscribers = new ArrayList<>();
  private DeviceIdentity current;
  private DeviceIdentity previous;
  private FileStamp stamp;
  private Status status = new Unchecked();

  /** A keeper of {@code initial}, which was loaded from {@code files}. */
  public static Behavior<Command> create(IdentityFiles files, DeviceIdentity initial,
      ActorRef<TlsaResolver.Command> resolver, Settings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new IdentityKeeper(context, timers, files, initial, resolver, settings)));
  }

  private IdentityKeeper(ActorContext<Command> context, TimerScheduler<Command> timers, IdentityFiles files,
      DeviceIdentity initial, ActorRef<TlsaResolver.Command> resolver, Settings settings) {
    super(context);
    this.files = files;
    this.current = initial;
    this.resolver = resolver;
    this.stamp = stamp();
    this.lookupAdapter = context.messageAdapter(LookupResult.class, PublicationChecked::new);
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
    FileStamp now = stamp();
    if (Objects.equals(now, stamp)) {
      return this;
    }
    stamp = now;
    DeviceIdentity loaded;
    try {
      loaded = files.load();
    } catch (IdentityException e) {
      getContext().getLog().warn("identity files changed but do not load, keeping key {}: {}",
          current.fingerprint(), e.getMessage());
      return this;
    }
    if (loaded.fingerprint().equals(current.fingerprint())) {
      return this;
    }
    previous = current;
    current = loaded;
    getContext().getLog().info("identity reloaded: now {} (previous key {} still decrypts)", current,
        previous.fingerprint());
    for (ActorRef<Keys> subscriber : subscribers) {
      subscriber.tell(keys());
    }
    getContext().getSelf().tell(new CheckPublication());
    return this;
  }

  private Keys keys() {
    return new Keys(current.name(), previous == null ? List.of(current) : List.of(current, previous));
  }

  private FileStamp stamp() {
    try {
      Path key = files.keyFile();
      Path cert = files.certificateFile();
      return new FileStamp(Files.getLastModifiedTime(key), Files.size(key), Files.getLastModifiedTime(cert),
          Files.size(cert));
    } catch (IOException e) {
      return null;
    }
  }
}
