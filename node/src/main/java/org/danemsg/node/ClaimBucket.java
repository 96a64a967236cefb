package org.danemsg.node;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.ddata.typed.javadsl.ReplicatorMessageAdapter;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * One bucket of the cluster's replay window: a sharded entity (one per bucket, on one member at a
 * time) that decides which member may print a message id. The first member to claim an id holds it
 * until the message expires; a later claim by the same member (its own redelivery after a restart:
 * Mosquitto gives a member's unacked messages back to that member) is {@link Granted} again and the
 * member's own database decides, as when it runs alone; a claim by any other member is answered
 * {@link HeldBy}: a replay, quarantined there.
 *
 * <p>Sharding serialises the claims of a bucket in this one actor, so two members can never both
 * win an id (Distributed Data alone cannot compare-and-set). The decisions must outlive the member
 * hosting the bucket: each new claim is written to Distributed Data with {@code WriteMajority} (one
 * {@link LWWMap} per bucket, id → member and expiry) before it is granted, and a bucket that starts
 * (first use, after a rebalance, after its member died) reads its map with {@code ReadMajority}
 * first, stashing the claims meanwhile. A write that read and write majorities overlap in is seen by
 * every later incarnation of the bucket. Claims that arrive while a write is out are written
 * together in the next one (one write in flight per bucket). Expired claims are removed with every
 * write and by a periodic prune.
 */
public final class ClaimBucket extends AbstractBehavior<ClaimBucket.Command> {

  /** The sharded entity type. */
  public static final EntityTypeKey<Command> TYPE = EntityTypeKey.create(Command.class, "replay-claims");

  /** Messages that travel between members, serialized by {@link ClaimSerializer}. */
  public interface Wire {}

  /** What the bucket does. */
  public sealed interface Command {}

  /**
   * Claim {@code key} (sender and message id) for {@code member} until {@code until} (epoch seconds).
   */
  public record Claim(String key, String member, long until, ActorRef<Answer> replyTo) implements Command, Wire {}

  /**
   * Add {@code member}'s own earlier deliveries (from its database: key → until, epoch seconds) where the
   * bucket holds no claim for them yet; answered {@link Seeded} once written. A member sends its replay
   * window when it starts, so that the cluster's window is whole again after every member was stopped.
   */
  public record Seed(String member, java.util.Map<String, Long> untilByKey, ActorRef<Seeded> replyTo)
      implements Command, Wire {
    public Seed {
      untilByKey = java.util.Map.copyOf(untilByKey);
    }
  }

  /** The seed is written ({@code added} claims were new here). */
  public record Seeded(int added) implements Wire {}

  private record Loaded(Replicator.GetResponse<LWWMap<String, String>> response) implements Command {}

  private record Load() implements Command {}

  /**
   * The answer to the write of {@code batch}, the very list that was out (compared by identity): an answer
   * to a write of this bucket before a restart is not taken for the one that is out now.
   */
  private record Written(List<Claim> batch, Replicator.UpdateResponse<LWWMap<String, String>> response)
      implements Command {}

  private record Prune() implements Command {}

  /** The answer to a claim. */
  public sealed interface Answer {}

  /** The id is this member's (new, or claimed by it before): print it unless its own database saw it. */
  public record Granted() implements Answer, Wire {}

  /** Another member claimed the id first: a replay here. */
  public record HeldBy(String member) implements Answer, Wire {}

  /** No decision now (no majority reachable): do not print, do not ack; it comes again. */
  public record Unavailable(String reason) implements Answer, Wire {}

  /** How the buckets behave. */
  public record Settings(Duration consistencyTimeout, Duration pruneInterval, Clock clock, int stashCapacity) {

    /** The node's settings: majorities wait at most {@code timeout}. */
    public static Settings of(Duration timeout) {
      return new Settings(timeout, Duration.ofMinutes(10), Clock.systemUTC(), 10_000);
    }
  }

  private record Held(String member, long until) {}

  private final Key<LWWMap<String, String>> key;
  private final Settings settings;
  private final SelfUniqueAddress self;
  private final ReplicatorMessageAdapter<Command, LWWMap<String, String>> replicator;
  private final TimerScheduler<Command> timers;
  private final Map<String, Held> claims = new HashMap<>();
  /** Keys decided here whose write has not succeeded yet: a claim of its holder waits for it. */
  private final Set<String> notYetWritten = new HashSet<>();
  private List<Claim> queued = new ArrayList<>();
  /**
   * The claims of the write that is out, or null when none is. A write that only removes expired claims
   * is out with an empty list: a claim that comes meanwhile waits for it, and is granted by its own write.
   */
  private List<Claim> writing;
  private boolean pruneDue;
  /**
   * Failed majority reads and writes in a row. Without a majority every active bucket fails every
   * second: the first failure of a run and every {@value #WARN_EVERY}th are logged at WARN, the others
   * at DEBUG, and the end of a run at INFO (each bucket its own; at most one WARN a minute each).
   */
  private int readFailuresInARow;
  private int writeFailuresInARow;
  private static final int WARN_EVERY = 60;

  /** The bucket named {@code bucket} (the entity id). */
  public static Behavior<Command> create(String bucket, Settings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> Behaviors.withStash(settings.stashCapacity(),
        stash -> DistributedData.<Command, LWWMap<String, String>>withReplicatorMessageAdapter(adapter ->
            new ClaimBucket(context, bucket, settings, adapter, timers).loading(stash)))));
  }

  /** The Distributed Data key of a bucket. */
  static Key<LWWMap<String, String>> keyOf(String bucket) {
    return LWWMapKey.create("danemsg-claims-" + bucket);
  }

  private ClaimBucket(ActorContext<Command> context, String bucket, Settings settings,
      ReplicatorMessageAdapter<Command, LWWMap<String, String>> replicator, TimerScheduler<Command> timers) {
    super(context);
    this.key = keyOf(bucket);
    this.settings = settings;
    this.replicator = replicator;
    this.self = DistributedData.get(context.getSystem()).selfUniqueAddress();
    this.timers = timers;
    timers.startTimerWithFixedDelay(Prune.class, new Prune(), settings.pruneInterval());
  }

  /** Reads the bucket's claims (majority) before answering any claim. */
  private Behavior<Command> loading(StashBuffer<Command> stash) {
    askLoad();
    return Behaviors.receive(Command.class)
        .onMessage(Loaded.class, loaded -> onLoaded(loaded, stash))
        .onMessage(Load.class, load -> {
          askLoad();
          return Behaviors.same();
        })
        .onMessage(Prune.class, prune -> Behaviors.same())
        .onMessage(Claim.class, claim -> {
          if (stash.isFull()) {
            claim.replyTo().tell(new Unavailable("the claim bucket is still loading and has "
                + stash.capacity() + " claims waiting"));
          } else {
            stash.stash(claim);
          }
          return Behaviors.same();
        })
        .onMessage(Seed.class, seed -> {
          if (!stash.isFull()) {
            stash.stash(seed); // else no answer: the seeding member asks again
          }
          return Behaviors.same();
        })
        .build();
  }

  private void askLoad() {
    replicator.askGet(replyTo -> new Replicator.Get<>(key, new Replicator.ReadMajority(settings.consistencyTimeout()),
        replyTo), Loaded::new);
  }

  private Behavior<Command> onLoaded(Loaded loaded, StashBuffer<Command> stash) {
    if (loaded.response() instanceof Replicator.GetSuccess<LWWMap<String, String>> success) {
      long now = now();
      success.get(key).getEntries().forEach((id, value) -> {
        Held held = decode(value);
        if (held != null && held.until() >= now) {
          claims.put(id, held);
        }
      });
    } else if (!(loaded.response() instanceof Replicator.NotFound)) {
      // No majority answered: claims wait (stashed) rather than be decided on part of the state.
      readFailuresInARow++;
      if (readFailuresInARow % WARN_EVERY == 1) {
        getContext().getLog().warn("claim bucket {}: cannot read its claims from a majority of members ({}, {}"
            + " attempt(s) in a row); retrying every second", key.id(), loaded.response().getClass().getSimpleName(),
            readFailuresInARow);
      } else {
        getContext().getLog().debug("claim bucket {}: read from a majority failed again ({} in a row)", key.id(),
            readFailuresInARow);
      }
      timers.startSingleTimer(Load.class, new Load(), Duration.ofSeconds(1));
      return Behaviors.same();
    }
    if (readFailuresInARow > 0) {
      getContext().getLog().info("claim bucket {}: read from a majority of members after {} failed attempt(s)",
          key.id(), readFailuresInARow);
      readFailuresInARow = 0;
    }
    getContext().getLog().debug("claim bucket {} loaded: {} claims", key.id(), claims.size());
    return stash.unstashAll(this);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Claim.class, this::onClaim)
        .onMessage(Seed.class, this::onSeed)
        .onMessage(Written.class, this::onWritten)
        .onMessage(Prune.class, prune -> {
          long now = now();
          pruneDue = claims.values().stream().anyMatch(h -> h.until() < now);
          writeIfIdle();
          return this;
        })
        .onMessage(Loaded.class, loaded -> this)
        .onMessage(Load.class, load -> this)
        .build();
  }

  private Behavior<Command> onClaim(Claim claim) {
    Held held = claims.get(claim.key());
    if (held != null && held.until() < now()) {
      claims.remove(claim.key()); // expired: the message itself is refused as expired anyway
      held = null;
    }
    if (held == null) {
      claims.put(claim.key(), new Held(claim.member(), claim.until()));
      notYetWritten.add(claim.key());
      queued.add(claim);
      writeIfIdle();
    } else if (!held.member().equals(claim.member())) {
      claim.replyTo().tell(new HeldBy(held.member()));
    } else if (notYetWritten.contains(claim.key())) {
      queued.add(claim); // granted with the write that makes the first claim durable
      writeIfIdle();
    } else {
      claim.replyTo().tell(new Granted());
    }
    return this;
  }

  /**
   * Seeds go through the claims' write path: each new key is a claim of the seeding member (granted to
   * nobody: a stand-in reply collects the grants and answers the seed once all are written).
   */
  private Behavior<Command> onSeed(Seed seed) {
    long now = now();
    List<Map.Entry<String, Long>> fresh = new ArrayList<>();
    for (Map.Entry<String, Long> entry : seed.untilByKey().entrySet()) {
      Held held = claims.get(entry.getKey());
      boolean undecided = held == null || held.until() < now;
      // The seeding member's own claim whose write is still out (this seed asked again after a timeout,
      // while the first one's write waits for a majority): answered once that write succeeds, not now.
      boolean ownNotYetWritten = held != null && held.member().equals(seed.member())
          && notYetWritten.contains(entry.getKey());
      if ((undecided || ownNotYetWritten) && entry.getValue() >= now) {
        fresh.add(entry);
      }
    }
    if (fresh.isEmpty()) {
      seed.replyTo().tell(new Seeded(0));
      return this;
    }
    ActorRef<Answer> collector = getContext().spawnAnonymous(SeedReplies.create(fresh.size(), seed.replyTo()));
    for (Map.Entry<String, Long> entry : fresh) {
      onClaim(new Claim(entry.getKey(), seed.member(), entry.getValue(), collector));
    }
    return this;
  }

  /**
   * Counts the answers to a seed's claims and answers the seed once all are written; a claim not written
   * (no majority) ends it without an answer: the seeding member's ask times out and it sends the seed again.
   */
  private static final class SeedReplies {
    static Behavior<Answer> create(int expected, ActorRef<Seeded> replyTo) {
      return counting(expected, 0, replyTo);
    }

    private static Behavior<Answer> counting(int expected, int answered, ActorRef<Seeded> replyTo) {
      return Behaviors.receive(Answer.class)
          .onMessage(Unavailable.class, u -> Behaviors.stopped())
          .onAnyMessage(answer -> {
            if (answered + 1 == expected) {
              replyTo.tell(new Seeded(expected));
              return Behaviors.stopped();
            }
            return counting(expected, answered + 1, replyTo);
          })
          .build();
    }
  }

  private void writeIfIdle() {
    if (writing != null || (queued.isEmpty() && !pruneDue)) {
      return;
    }
    writing = queued;
    List<Claim> out = writing;
    queued = new ArrayList<>();
    pruneDue = false;
    long now = now();
    List<Claim> batch = List.copyOf(writing);
    SelfUniqueAddress node = self;
    if (batch.isEmpty()) {
      claims.values().removeIf(h -> h.until() < now);
    }
    replicator.askUpdate(replyTo -> new Replicator.Update<>(key, LWWMap.<String, String>create(),
        new Replicator.WriteMajority(settings.consistencyTimeout()), replyTo, map -> {
          LWWMap<String, String> updated = map;
          for (Map.Entry<String, String> entry : map.getEntries().entrySet()) {
            Held held = decode(entry.getValue());
            if (held == null || held.until() < now) {
              updated = updated.remove(node, entry.getKey());
            }
          }
          for (Claim claim : batch) {
            updated = updated.put(node, claim.key(), encode(claim.member(), claim.until()));
          }
          return updated;
        }), response -> new Written(out, response));
  }

  private Behavior<Command> onWritten(Written written) {
    if (written.batch() != writing) {
      // The answer to a write of this bucket before a restart (supervision): not the write that is out.
      return this;
    }
    List<Claim> batch = writing;
    writing = null;
    Set<String> stillQueued = new HashSet<>();
    queued.forEach(c -> stillQueued.add(c.key()));
    if (written.response() instanceof Replicator.UpdateSuccess) {
      if (writeFailuresInARow > 0) {
        getContext().getLog().info("claim bucket {}: written to a majority of members again after {} failed"
            + " write(s)", key.id(), writeFailuresInARow);
        writeFailuresInARow = 0;
      }
      for (Claim claim : batch) {
        if (!stillQueued.contains(claim.key())) {
          notYetWritten.remove(claim.key());
        }
        claim.replyTo().tell(new Granted());
      }
    } else {
      String why = written.response().getClass().getSimpleName();
      writeFailuresInARow++;
      if (writeFailuresInARow % WARN_EVERY == 1) {
        getContext().getLog().warn("claim bucket {}: {} not written to a majority of members ({}, {} failed"
            + " write(s) in a row){}", key.id(), batch.isEmpty() ? "the removal of expired claims"
            : batch.size() + " claim(s)", why, writeFailuresInARow, batch.isEmpty() ? ""
            : ": not granted, their messages stay unacked and come again");
      } else {
        getContext().getLog().debug("claim bucket {}: {} claim(s) not written to a majority ({} failed write(s) in a"
            + " row)", key.id(), batch.size(), writeFailuresInARow);
      }
      for (Claim claim : batch) {
        if (!stillQueued.contains(claim.key())) {
          // Undecided again: whoever claims it next (the same member, when its message comes again) wins.
          notYetWritten.remove(claim.key());
          claims.remove(claim.key());
        }
        claim.replyTo().tell(new Unavailable("the claim could not be written to a majority of the members ("
            + why + ")"));
      }
    }
    writeIfIdle();
    return this;
  }

  private long now() {
    return settings.clock().instant().getEpochSecond();
  }

  static String encode(String member, long until) {
    return member + " " + until;
  }

  static Held decode(String value) {
    int space = value.indexOf(' ');
    if (space <= 0) {
      return null;
    }
    try {
      return new Held(value.substring(0, space), Long.parseLong(value.substring(space + 1)));
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
