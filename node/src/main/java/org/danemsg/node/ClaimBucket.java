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
import org.apache.pekko.actor.typed.receptionist.Receptionist;
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
 * time) that decides which member may print a message id. The first member to claim an id holds it;
 * a later claim by the same member (its own redelivery after a restart: Mosquitto gives a member's
 * unacked messages back to that member) is {@link Granted} again and the member's own database
 * decides, as when it runs alone; a claim by any other member is answered {@link HeldBy}: a replay,
 * quarantined there.
 *
 * <p>Sharding serialises the claims of a bucket in this one actor, so two members can never both
 * win an id (Distributed Data alone cannot compare-and-set). The decisions must outlive the member
 * hosting the bucket: each new claim is written to Distributed Data with {@code WriteMajority} (one
 * {@link LWWMap} per bucket, id → member and the time the claim is dropped) before it is granted, and a
 * bucket that starts (first use, after a rebalance, after its member died) reads its map with
 * {@code ReadMajority} first, stashing the claims meanwhile. A write that read and write majorities
 * overlap in is seen by every later incarnation of the bucket. Claims that arrive while a write is out
 * are written together in the next one (one write in flight per bucket).
 *
 * <p><b>Memory bounded in time.</b> The window in memory holds a claim only for
 * {@code danemsg.cluster.claim-memory} after its message was sent (the signed {@code iat}): what is
 * in memory grows with the message rate, not with the message lifetime (up to 30 days). An id whose
 * message was sent longer ago ({@link #recent}), or before this bucket's window was started (its
 * {@code since} mark: the window is in memory only, and after every member was stopped it starts empty),
 * is <em>late</em>: the bucket asks every member ({@link SeenLookup}: the members of
 * {@code CLUSTER_SEEDS} and any other member registered) whether it delivered it, and grants it only when
 * no other member did. A member that does not answer leaves the claim {@link Undecided}: the message
 * waits parked and is claimed again. Legacy messages carry no send time and are always late.
 */
public final class ClaimBucket extends AbstractBehavior<ClaimBucket.Command> {

  /** The sharded entity type. */
  public static final EntityTypeKey<Command> TYPE = EntityTypeKey.create(Command.class, "replay-claims");

  /** Messages that travel between members, serialized by {@link ClaimSerializer}. */
  public interface Wire {}

  /** What the bucket does. */
  public sealed interface Command {}

  /**
   * Claim {@code key} (sender and message id) for {@code member}: its message was sent at {@code sent}
   * ({@link #SENT_UNKNOWN} for a legacy message) and is accepted until {@code until} (epoch seconds).
   */
  public record Claim(String key, String member, long sent, long until, ActorRef<Answer> replyTo)
      implements Command, Wire {}

  /** The send time of a message that has none (legacy): its claim is always late. */
  public static final long SENT_UNKNOWN = -1;

  private record Loaded(Replicator.GetResponse<LWWMap<String, String>> response) implements Command {}

  private record Load() implements Command {}

  /**
   * The answer to the write of {@code batch}, the very list that was out (compared by identity): an answer
   * to a write of this bucket before a restart is not taken for the one that is out now.
   */
  private record Written(List<Claim> batch, Replicator.UpdateResponse<LWWMap<String, String>> response)
      implements Command {}

  private record Prune() implements Command {}

  /** A late claim's members were still not all listed after the late timeout. */
  private record MembersMissing(String key) implements Command {}

  /** The members' lookups registered now (the receptionist's listing). */
  private record Lookups(Receptionist.Listing listing) implements Command {}

  /**
   * The answer of every member to a late claim of {@code key}: {@code deliveredBy} the first other member
   * that delivered it (null: none did), or {@code failure} (null: every member answered).
   */
  private record LateAnswered(String key, String deliveredBy, String failure) implements Command {}

  /** The answer to a claim. */
  public sealed interface Answer {}

  /** The id is this member's (new, or claimed by it before): print it unless its own database saw it. */
  public record Granted() implements Answer, Wire {}

  /** Another member claimed the id first: a replay here. */
  public record HeldBy(String member) implements Answer, Wire {}

  /** No decision now (no majority reachable): do not print, do not ack; it comes again. */
  public record Unavailable(String reason) implements Answer, Wire {}

  /**
   * A late claim that cannot be decided while a member is away (it may have delivered the message): the
   * message waits parked, durably, and is claimed again later, without holding up the ones behind it.
   */
  public record Undecided(String reason) implements Answer, Wire {}

  /**
   * How the buckets behave.
   *
   * @param consistencyTimeout how long a majority read or write, or the members' answers to a late claim,
   *     may take
   * @param memory how long after its message was sent a claim is held in memory ({@code claim-memory})
   * @param members {@code host:port} of the members that must answer a late claim ({@code CLUSTER_SEEDS});
   *     any other member registered with the receptionist is asked too
   */
  public record Settings(Duration consistencyTimeout, Duration pruneInterval, Clock clock, int stashCapacity,
      Duration memory, java.util.Set<String> members) {

    public Settings {
      members = java.util.Set.copyOf(members);
      if (memory.compareTo(MEMBER_CLOCK_SKEW.plusSeconds(1)) < 0) {
        throw new IllegalArgumentException("claim memory " + memory + " is shorter than the members' clock skew"
            + " allowance " + MEMBER_CLOCK_SKEW);
      }
    }

    /** The node's settings: majorities wait at most {@code timeout}. */
    public static Settings of(Duration timeout, Duration memory, java.util.Set<String> members) {
      return new Settings(timeout, Duration.ofMinutes(1), Clock.systemUTC(), 10_000, memory, members);
    }
  }

  /**
   * How far the members' clocks may differ (each compares the time a claim is dropped with its own): a
   * claim is taken as recent only this long less than {@link Settings#memory()} after its sending.
   */
  static final Duration MEMBER_CLOCK_SKEW = Duration.ofSeconds(30);
  /** The map entry that holds when this bucket's window was started (not a claim: keys have a space). */
  static final String SINCE = "#since";

  /** Who holds an id, and until when (epoch seconds) the bucket remembers it. */
  private record Held(String member, long until) {}

  private final Key<LWWMap<String, String>> key;
  private final Settings settings;
  private final SelfUniqueAddress self;
  private final ReplicatorMessageAdapter<Command, LWWMap<String, String>> replicator;
  private final TimerScheduler<Command> timers;
  private final Map<String, Held> claims = new HashMap<>();
  /** Keys decided here whose write has not succeeded yet: a claim of its holder waits for it. */
  private final Set<String> notYetWritten = new HashSet<>();
  /** Late claims waiting for the members' answers, by key: the claims of its claimer that wait with it. */
  private final Map<String, List<Claim>> late = new HashMap<>();
  /** Late claims (key → claimer) waiting for a member of CLUSTER_SEEDS to be listed before they ask. */
  private final Map<String, String> awaitingMembers = new HashMap<>();
  /** The members' lookups, by {@code host:port}. */
  private Map<String, ActorRef<SeenLookup.Command>> lookups = Map.of();
  private List<Claim> queued = new ArrayList<>();
  /**
   * The claims of the write that is out, or null when none is. A write that only removes expired claims
   * is out with an empty list: a claim that comes meanwhile waits for it, and is granted by its own write.
   */
  private List<Claim> writing;
  private boolean pruneDue;
  /** When this bucket's window started (epoch seconds): claims from before are not in memory. */
  private long since;
  /** Whether {@link #since} is in Distributed Data (written with the first write otherwise). */
  private boolean sinceWritten;
  /** While loading: the claims are read; the receptionist's first listing came. */
  private boolean claimsRead;
  private boolean listed;
  /**
   * Failed majority reads and writes and late claims in a row. Without a majority every active bucket fails
   * every second: the first failure of a run and every {@value #WARN_EVERY}th are logged at WARN, the others
   * at DEBUG, and the end of a run at INFO (each bucket its own; at most one WARN a minute each).
   */
  private int readFailuresInARow;
  private int writeFailuresInARow;
  private int lateFailuresInARow;
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
    context.getSystem().receptionist().tell(Receptionist.subscribe(SeenLookup.KEY,
        context.messageAdapter(Receptionist.Listing.class, Lookups::new)));
  }

  /** Reads the bucket's claims (majority) and the members' lookups before answering any claim. */
  private Behavior<Command> loading(StashBuffer<Command> stash) {
    askLoad();
    return Behaviors.receive(Command.class)
        .onMessage(Loaded.class, loaded -> onLoaded(loaded, stash))
        .onMessage(Load.class, load -> {
          askLoad();
          return Behaviors.same();
        })
        .onMessage(Prune.class, prune -> Behaviors.same())
        .onMessage(Lookups.class, lookups -> {
          onLookups(lookups);
          listed = true;
          return ready(stash);
        })
        .onMessage(Claim.class, claim -> {
          if (stash.isFull()) {
            claim.replyTo().tell(new Unavailable("the claim bucket is still loading and has "
                + stash.capacity() + " claims waiting"));
          } else {
            stash.stash(claim);
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
    long now = now();
    since = now;
    sinceWritten = false;
    if (loaded.response() instanceof Replicator.GetSuccess<LWWMap<String, String>> success) {
      success.get(key).getEntries().forEach((id, value) -> {
        if (SINCE.equals(id)) {
          try {
            since = Long.parseLong(value);
            sinceWritten = true;
          } catch (NumberFormatException e) {
            // not ours: a window started now, written again with the next claim
          }
          return;
        }
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
    getContext().getLog().debug("claim bucket {} loaded: {} claims, window since {}", key.id(), claims.size(),
        since);
    claimsRead = true;
    return ready(stash);
  }

  /** Claims are answered once the bucket's claims are read and the members' lookups are known. */
  private Behavior<Command> ready(StashBuffer<Command> stash) {
    return claimsRead && listed ? stash.unstashAll(this) : Behaviors.same();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Claim.class, this::onClaim)
        .onMessage(LateAnswered.class, this::onLateAnswered)
        .onMessage(MembersMissing.class, this::onMembersMissing)
        .onMessage(Written.class, this::onWritten)
        .onMessage(Lookups.class, this::onLookups)
        .onMessage(Prune.class, prune -> {
          long now = now();
          pruneDue = claims.values().stream().anyMatch(h -> h.until() < now);
          // Memory is dropped here too: under constant traffic no write is a prune-only one.
          claims.entrySet().removeIf(e -> e.getValue().until() < now && !notYetWritten.contains(e.getKey()));
          writeIfIdle();
          return this;
        })
        .onMessage(Loaded.class, loaded -> this)
        .onMessage(Load.class, load -> this)
        .build();
  }

  private Behavior<Command> onLookups(Lookups lookups) {
    Map<String, ActorRef<SeenLookup.Command>> byMember = new HashMap<>();
    org.apache.pekko.actor.Address selfAddress = self.uniqueAddress().address();
    for (ActorRef<SeenLookup.Command> ref : lookups.listing().getServiceInstances(SeenLookup.KEY)) {
      org.apache.pekko.actor.Address at = ref.path().address();
      byMember.put(hostPort(at.hasGlobalScope() ? at : selfAddress), ref);
    }
    this.lookups = Map.copyOf(byMember);
    if (!awaitingMembers.isEmpty() && absentMembers().isEmpty()) {
      Map<String, String> ready = new HashMap<>(awaitingMembers);
      awaitingMembers.clear();
      ready.forEach((key, claimer) -> {
        timers.cancel(new MembersMissing(key));
        getContext().spawnAnonymous(LateClaim.create(key, claimer, this.lookups, lateTimeout(), getContext().getSelf()));
      });
    }
    return Behaviors.same();
  }

  /** {@code host:port} of a member's address, as {@link ClusterSettings.HostPort} writes it. */
  static String hostPort(org.apache.pekko.actor.Address address) {
    String host = address.getHost().orElse("").toLowerCase(java.util.Locale.ROOT);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return new ClusterSettings.HostPort(host, address.getPort().orElse(0)).toString();
  }

  /**
   * Whether a claim is decided from memory: its message was sent late enough that any earlier claim of
   * its id is still held ({@code claim-memory} after the sending, less the members' clock skew), and
   * after this window started (less the skew the envelope allows a sender's clock and the members').
   */
  private boolean recent(Claim claim, long now) {
    return claim.sent() != SENT_UNKNOWN
        && claim.sent() >= since + MessageStore.SKEW_SECONDS + MEMBER_CLOCK_SKEW.toSeconds()
        && now <= claim.sent() + settings.memory().toSeconds() - MEMBER_CLOCK_SKEW.toSeconds();
  }

  /** Until when a new claim is held: {@code claim-memory} after its sending (a late one: after now). */
  private long heldUntil(Claim claim, long now) {
    return Math.min(claim.until(), Math.max(claim.sent(), now) + settings.memory().toSeconds());
  }

  private Behavior<Command> onClaim(Claim claim) {
    long now = now();
    Held held = claims.get(claim.key());
    if (held != null && held.until() < now && !notYetWritten.contains(claim.key())) {
      claims.remove(claim.key()); // dropped from memory: decided again, from the members' databases if late
      held = null;
    }
    if (held == null) {
      claims.put(claim.key(), new Held(claim.member(), heldUntil(claim, now)));
      notYetWritten.add(claim.key());
      if (recent(claim, now)) {
        queued.add(claim);
        writeIfIdle();
      } else {
        List<Claim> waiting = new ArrayList<>();
        waiting.add(claim);
        late.put(claim.key(), waiting);
        askMembers(claim);
      }
    } else if (!held.member().equals(claim.member())) {
      claim.replyTo().tell(new HeldBy(held.member()));
    } else if (late.containsKey(claim.key())) {
      late.get(claim.key()).add(claim); // answered with the first, once the members have
    } else if (notYetWritten.contains(claim.key())) {
      queued.add(claim); // granted with the write that makes the first claim durable
      writeIfIdle();
    } else {
      claim.replyTo().tell(new Granted());
    }
    return this;
  }

  /** Asks every member whether it delivered a late claim's message (a child collects the answers). */
  private void askMembers(Claim claim) {
    List<String> absent = absentMembers();
    if (!absent.isEmpty()) {
      // A member that just joined may not be in the receptionist's listing yet: wait a little for it.
      awaitingMembers.put(claim.key(), claim.member());
      timers.startSingleTimer(new MembersMissing(claim.key()), new MembersMissing(claim.key()), lateTimeout());
      return;
    }
    if (lookups.isEmpty()) {
      getContext().getSelf().tell(new LateAnswered(claim.key(), null, null)); // no members to ask (tests)
      return;
    }
    getContext().spawnAnonymous(LateClaim.create(claim.key(), claim.member(), lookups, lateTimeout(),
        getContext().getSelf()));
  }

  /** The members of CLUSTER_SEEDS whose lookup is not registered now. */
  private List<String> absentMembers() {
    return settings.members().stream().filter(m -> !lookups.containsKey(m)).sorted().toList();
  }

  /** How long the members' answers to a late claim may take: a majority write must still fit the claim's time. */
  private Duration lateTimeout() {
    return settings.consistencyTimeout().dividedBy(2);
  }

  private Behavior<Command> onMembersMissing(MembersMissing missing) {
    if (awaitingMembers.remove(missing.key()) != null) {
      getContext().getSelf().tell(new LateAnswered(missing.key(), null, "member(s) "
          + String.join(", ", absentMembers()) + " of CLUSTER_SEEDS not in the cluster now"));
    }
    return this;
  }

  private Behavior<Command> onLateAnswered(LateAnswered answered) {
    List<Claim> waiting = late.remove(answered.key());
    if (waiting == null) {
      return this;
    }
    if (answered.failure() != null) {
      notYetWritten.remove(answered.key());
      claims.remove(answered.key()); // undecided again
      lateFailuresInARow++;
      String why = "cannot tell whether another member delivered a message sent before this bucket's memory ("
          + answered.failure() + ")";
      if (lateFailuresInARow % WARN_EVERY == 1) {
        getContext().getLog().warn("claim bucket {}: {}; it is not granted: it waits parked and is claimed again"
            + " ({} in a row)", key.id(), why, lateFailuresInARow);
      } else {
        getContext().getLog().debug("claim bucket {}: {} ({} in a row)", key.id(), why, lateFailuresInARow);
      }
      waiting.forEach(c -> c.replyTo().tell(new Undecided(why)));
      return this;
    }
    if (lateFailuresInARow > 0) {
      getContext().getLog().info("claim bucket {}: every member answered for a late claim again after {} that"
          + " could not be decided", key.id(), lateFailuresInARow);
      lateFailuresInARow = 0;
    }
    if (answered.deliveredBy() != null) {
      // Another member printed it: a replay here. Held in memory only (its database is the durable record).
      notYetWritten.remove(answered.key());
      Held held = claims.get(answered.key());
      claims.put(answered.key(), new Held(answered.deliveredBy(), held != null ? held.until()
          : now() + settings.memory().toSeconds()));
      waiting.forEach(c -> c.replyTo().tell(new HeldBy(answered.deliveredBy())));
      return this;
    }
    queued.addAll(waiting); // nobody else delivered it: the claimer's, once written
    writeIfIdle();
    return this;
  }

  /**
   * Asks every member's {@link SeenLookup} whether it delivered {@code key} and tells the bucket the first
   * other member than {@code claimer} that did, or that not all answered within the timeout.
   */
  private static final class LateClaim {

    sealed interface Event {}

    record Answered(SeenLookup.Found found) implements Event {}

    record TimedOut() implements Event {}

    static Behavior<Event> create(String key, String claimer, Map<String, ActorRef<SeenLookup.Command>> members,
        Duration timeout, ActorRef<Command> bucket) {
      return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
        ActorRef<SeenLookup.Found> answers = context.messageAdapter(SeenLookup.Found.class, Answered::new);
        members.values().forEach(ref -> ref.tell(new SeenLookup.Lookup(key, answers)));
        timers.startSingleTimer(new TimedOut(), timeout);
        return waiting(key, claimer, new java.util.TreeSet<>(members.keySet()), members.size(), timeout, bucket);
      }));
    }

    /**
     * Waits for {@code remaining} answers (one per member asked: counted, so that an address written
     * differently cannot keep it waiting); {@code unanswered} only names the silent ones in the log.
     */
    private static Behavior<Event> waiting(String key, String claimer, Set<String> unanswered, int remaining,
        Duration timeout, ActorRef<Command> bucket) {
      return Behaviors.receive(Event.class)
          .onMessage(Answered.class, answered -> {
            SeenLookup.Found found = answered.found();
            if (!found.key().equals(key)) {
              return Behaviors.same();
            }
            unanswered.remove(found.address());
            if (found.delivered() && !found.member().equals(claimer)) {
              bucket.tell(new LateAnswered(key, found.member(), null));
              return Behaviors.stopped();
            }
            if (remaining == 1) {
              bucket.tell(new LateAnswered(key, null, null));
              return Behaviors.stopped();
            }
            return waiting(key, claimer, unanswered, remaining - 1, timeout, bucket);
          })
          .onMessage(TimedOut.class, timedOut -> {
            bucket.tell(new LateAnswered(key, null, "no answer from " + String.join(", ", unanswered) + " within "
                + timeout.toMillis() + " ms"));
            return Behaviors.stopped();
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
    String windowSince = sinceWritten ? null : Long.toString(since);
    replicator.askUpdate(replyTo -> new Replicator.Update<>(key, LWWMap.<String, String>create(),
        new Replicator.WriteMajority(settings.consistencyTimeout()), replyTo, map -> {
          LWWMap<String, String> updated = map;
          for (Map.Entry<String, String> entry : map.getEntries().entrySet()) {
            if (SINCE.equals(entry.getKey())) {
              continue;
            }
            Held held = decode(entry.getValue());
            if (held == null || held.until() < now) {
              updated = updated.remove(node, entry.getKey());
            }
          }
          if (windowSince != null) {
            updated = updated.put(node, SINCE, windowSince);
          }
          for (Claim claim : batch) {
            updated = updated.put(node, claim.key(), encode(claim.member(), heldUntil(claim, now)));
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
      sinceWritten = true;
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
