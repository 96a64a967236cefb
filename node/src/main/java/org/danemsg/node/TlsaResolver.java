package org.danemsg.node;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.dns.LookupResult;
import org.danemsg.protocol.dns.TlsaCache;

/**
 * Owns DNS: DANE/DNSSEC-validated TLSA lookups through a {@link TlsaCache} (TTL-bounded, a short
 * negative cache, one query in flight per name). The blocking lookups run on the executor given to the
 * cache (the node's {@code danemsg.dns-dispatcher}); results come back through {@code pipeToSelf}, so
 * the actor never blocks.
 *
 * <p>Failures are what operators diagnose, so each is logged once per name (again only when it
 * changes or after the name resolved in between), at WARN, with the name, the server, the kind of
 * failure (timeout, SERVFAIL, NXDOMAIN, no TLSA, no usable record, DNSSEC insecure, DNSSEC bogus with
 * the validator's reason) and what the node does next.
 */
public final class TlsaResolver extends AbstractBehavior<TlsaResolver.Command> {

  /** What the resolver does. */
  public sealed interface Command {}

  /**
   * Look up {@code name}'s keys; the reply is the {@link LookupResult}.
   *
   * @param fresh skip the cache (the identity check wants what DNS says now)
   */
  public record Lookup(DnsName name, boolean fresh, ActorRef<LookupResult> replyTo) implements Command {}

  /**
   * What a lookup made elsewhere through the same cache gave (the stream asks the cache itself): logged
   * as if this actor had asked.
   */
  public record Report(DnsName name, LookupResult result) implements Command {}

  /** Reply with the cache counters. */
  public record GetStats(ActorRef<TlsaCache.Stats> replyTo) implements Command {}

  private record Resolved(DnsName name, LookupResult result, ActorRef<LookupResult> replyTo)
      implements Command {}

  private record SummaryDue() implements Command {}

  private static final int REMEMBERED_FAILURES = 1000;
  private static final java.time.Duration SUMMARY_INTERVAL = java.time.Duration.ofMinutes(1);
  /** Failure lines (one per name) logged a minute before the rest are only counted. */
  private static final int FAILURE_LINES_PER_MINUTE = 30;

  private final TlsaCache cache;
  private final String negativeTtl;
  private final TimerScheduler<Command> timers;
  /** Lookups not started (BUSY) and names outside the allowed zones since the last summary line. */
  private long busy;
  private long notAllowed;
  private final LogBudget logBudget = new LogBudget(FAILURE_LINES_PER_MINUTE);
  private final Map<DnsName, String> lastFailure = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<DnsName, String> eldest) {
      return size() > REMEMBERED_FAILURES; // hostile senders may name endless names
    }
  };

  /** A resolver using {@code cache}; the cache's executor runs the blocking lookups. */
  public static Behavior<Command> create(TlsaCache cache, java.time.Duration negativeTtl) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new TlsaResolver(context, timers, cache, negativeTtl)));
  }

  private TlsaResolver(ActorContext<Command> context, TimerScheduler<Command> timers, TlsaCache cache,
      java.time.Duration negativeTtl) {
    super(context);
    this.timers = timers;
    this.cache = cache;
    this.negativeTtl = negativeTtl.toSeconds() + " s";
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Lookup.class, this::onLookup)
        .onMessage(Resolved.class, this::onResolved)
        .onMessage(Report.class, report -> {
          note(report.name(), report.result());
          return this;
        })
        .onMessage(GetStats.class, this::onGetStats)
        .onMessage(SummaryDue.class, this::onSummaryDue)
        .build();
  }

  private Behavior<Command> onLookup(Lookup lookup) {
    if (lookup.fresh()) {
      cache.invalidate(lookup.name());
    }
    getContext().pipeToSelf(cache.lookup(lookup.name()), (result, error) -> new Resolved(lookup.name(),
        result != null ? result : new LookupResult.TransientFailure(null, lookup.name(),
            LookupResult.TransientFailure.Kind.BAD_RESPONSE, "lookup failed: " + error),
        lookup.replyTo()));
    return this;
  }

  private Behavior<Command> onResolved(Resolved resolved) {
    note(resolved.name(), resolved.result());
    resolved.replyTo().tell(resolved.result());
    return this;
  }

  /** Logs a failure once per name (and when it resolves again); floods of made-up names are summed up. */
  private void note(DnsName name, LookupResult result) {
    if (result instanceof LookupResult.NotAllowed
        || (result instanceof LookupResult.TransientFailure t && t.kind() == LookupResult.TransientFailure.Kind.BUSY)) {
      // What a flood of made-up names causes: counted, and summed up once a minute, never a line per name.
      if (result instanceof LookupResult.NotAllowed) {
        notAllowed++;
      } else {
        busy++;
      }
      scheduleSummary();
    } else if (!result.usableKeys().isEmpty()) {
      if (lastFailure.remove(name) != null) {
        getContext().getLog().info("DNS: {} resolves again: {}", name, result.describe());
      }
    } else {
      String description = result.describe();
      if (!description.equals(lastFailure.put(name, description))
          && logBudget.take("failure") != LogBudget.Verdict.HOLD) { // made-up names by the thousand: counted
        scheduleSummary();
        getContext().getLog().warn("DNS: {}; next: {}", description, result.isTransient()
            ? "the failure is kept " + cache.settings().transientTtl().toSeconds() + " s; parked messages and the"
                + " identity check ask again on their next retry"
            : "messages claiming this sender are rejected (answer kept " + negativeTtl + ")");
      }
    }
  }

  private void scheduleSummary() {
    if (!timers.isTimerActive(SummaryDue.class)) {
      timers.startSingleTimer(SummaryDue.class, new SummaryDue(), SUMMARY_INTERVAL);
    }
  }

  private Behavior<Command> onSummaryDue(SummaryDue due) {
    if (busy > 0) {
      getContext().getLog().warn("DNS: {} lookup(s) not started in the last minute: too many in flight (in all, or"
          + " for one zone: dns.max-lookups-in-flight); their messages were parked and are retried", busy);
    }
    if (notAllowed > 0) {
      getContext().getLog().warn("DNS: {} message(s) in the last minute named senders outside dns.allowed-zones;"
          + " rejected without a query", notAllowed);
    }
    logBudget.endWindow().forEach((kind, count) -> getContext().getLog().warn("DNS: {} more name(s) failed to"
        + " resolve in the last minute (not logged one by one after {} lines)", count, FAILURE_LINES_PER_MINUTE));
    busy = 0;
    notAllowed = 0;
    return this;
  }

  private Behavior<Command> onGetStats(GetStats get) {
    get.replyTo().tell(cache.stats());
    return this;
  }
}
