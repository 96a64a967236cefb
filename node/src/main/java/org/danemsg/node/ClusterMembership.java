package org.danemsg.node;

import java.util.HashSet;
import java.util.Set;
import java.util.function.IntConsumer;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * Logs each change of the cluster's membership as one INFO line (WARN when a member becomes
 * unreachable or is downed) saying what happens to the messages in flight, and counts the members Up
 * for the metrics. (Readiness needs no question to it: a member subscribes only once it is Up.)
 *
 * <p>What happens to messages is decided by the broker, not the cluster: Mosquitto keeps a member's
 * persistent session while it is away, with its unacked messages and its round-robin share of new
 * ones, and gives them to that member when it returns; it does not move them to the others. The
 * cluster decides only who may print an id ({@link ClaimBucket}): buckets hosted by a member that is
 * gone wait (claims time out and their messages come again) until it is back or downed, then move.
 */
public final class ClusterMembership extends AbstractBehavior<ClusterMembership.Command> {

  /** What the membership actor does. */
  public sealed interface Command {}

  private record MemberChanged(ClusterEvent.MemberEvent event) implements Command {}

  private record ReachabilityChanged(ClusterEvent.ReachabilityEvent event) implements Command {}

  private final Cluster cluster;
  private final IntConsumer membersUpGauge;
  private final Set<Member> up = new HashSet<>();
  private final Set<Member> unreachable = new HashSet<>();

  /** The membership actor; {@code membersUpGauge} is told the number of members Up at each change. */
  public static Behavior<Command> create(IntConsumer membersUpGauge) {
    return Behaviors.setup(context -> new ClusterMembership(context, membersUpGauge));
  }

  private ClusterMembership(ActorContext<Command> context, IntConsumer membersUpGauge) {
    super(context);
    this.cluster = Cluster.get(context.getSystem());
    this.membersUpGauge = membersUpGauge;
    cluster.subscriptions().tell(Subscribe.create(
        context.messageAdapter(ClusterEvent.MemberEvent.class, MemberChanged::new), ClusterEvent.MemberEvent.class));
    cluster.subscriptions().tell(Subscribe.create(
        context.messageAdapter(ClusterEvent.ReachabilityEvent.class, ReachabilityChanged::new),
        ClusterEvent.ReachabilityEvent.class));
    context.getLog().info("cluster member {} joining via the seed members (self {}); no member is Up before {}"
        + " members have joined", cluster.selfMember().address(), cluster.selfMember().uniqueAddress().longUid(),
        context.getSystem().settings().config().getInt("pekko.cluster.min-nr-of-members"));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(MemberChanged.class, changed -> onMember(changed.event()))
        .onMessage(ReachabilityChanged.class, changed -> onReachability(changed.event()))
        .build();
  }

  private String who(Member member) {
    return "cluster member " + member.address() + (member.equals(cluster.selfMember()) ? " (this member)" : "");
  }

  private Behavior<Command> onMember(ClusterEvent.MemberEvent event) {
    Member m = event.member();
    var log = getContext().getLog();
    if (event instanceof ClusterEvent.MemberJoined) {
      log.info("{} joined (not Up yet): it gets no claim buckets until it is Up", who(m));
    } else if (event instanceof ClusterEvent.MemberWeaklyUp) {
      log.info("{} is WeaklyUp (joined while another member is unreachable): it neither subscribes nor hosts"
          + " claim buckets until it is Up", who(m));
    } else if (event instanceof ClusterEvent.MemberUp) {
      up.add(m);
      log.info("{} is Up ({} Up): it takes its share of the identity's messages once subscribed, and claim"
          + " buckets may move to it (claims wait for the move)", who(m), up.size());
    } else if (event instanceof ClusterEvent.MemberLeft) {
      log.info("{} is leaving: it has drained, its in-flight messages are acked; its claim buckets move to the"
          + " others", who(m));
    } else if (event instanceof ClusterEvent.MemberExited) {
      log.info("{} exited the cluster", who(m));
    } else if (event instanceof ClusterEvent.MemberDowned) {
      log.warn("{} was downed (split brain resolver, keep-majority): its claim buckets move to the remaining"
          + " members, read back from a majority; its unacked and queued messages wait in its MQTT session at the"
          + " broker until it returns", who(m));
    } else if (event instanceof ClusterEvent.MemberRemoved removed) {
      up.remove(m);
      unreachable.remove(m);
      log.info("{} removed (was {}), {} Up, {} unreachable", who(m), removed.previousStatus(), up.size(),
          unreachable.size());
    }
    membersUpGauge.accept(up.size());
    return this;
  }

  private Behavior<Command> onReachability(ClusterEvent.ReachabilityEvent event) {
    Member m = event.member();
    if (event instanceof ClusterEvent.UnreachableMember) {
      unreachable.add(m);
      getContext().getLog().warn("{} is unreachable: its MQTT session keeps its unacked messages and its share of"
          + " new ones at the broker until it returns; claims in buckets it hosts wait until it is back or"
          + " downed", who(m));
    } else if (event instanceof ClusterEvent.ReachableMember) {
      unreachable.remove(m);
      getContext().getLog().info("{} is reachable again", who(m));
    }
    return this;
  }
}
