package org.danemsg.node.api;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMemoryMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;
import org.danemsg.node.ClaimBucket;
import org.danemsg.node.IdentityKeeper;
import org.danemsg.node.NodeGuardian;
import org.danemsg.protocol.dns.DaneLookup;
import org.danemsg.protocol.dns.LookupResult;

/**
 * The node's metrics in the Prometheus text format ({@code GET /metrics}), named by Prometheus'
 * conventions ({@code danemsg_*}, counters ending in {@code _total}, times in seconds):
 * <ul>
 *   <li>the counters the node's actors keep (received, acked, delivered, rejected by reason, parked,
 *       DNS cache hits and misses, whether the broker subscription is up), read from one
 *       {@link NodeGuardian.Health} gathered for each scrape ({@link #update}), so they are exactly
 *       what the periodic {@code health:} line says;
 *   <li>DNS lookups by outcome and their latency, measured where they happen ({@link #measured});
 *   <li>the API's sends by outcome and the broker's PUBACKs for them;
 *   <li>cluster mode: the members Up, the replay claims by answer and their latency (this member's
 *       own view and claims: each member has its own /metrics, Prometheus sums them);
 *   <li>JVM memory (the Prometheus Java client's {@code jvm_memory_*}).
 * </ul>
 * Counters and histograms keep no exemplars: nothing here traces requests, and sampling them took about
 * 3 % of a new sender's lookup on its DNS thread (wall-clock profile, C1 only). Thread-safe.
 */
public final class NodeMetrics {

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
  private volatile NodeGuardian.Health health =
      new NodeGuardian.Health(false, 0, 0, 0, java.util.Map.of(), 0, 0, 0);
  private volatile boolean identityPublished;
  private final Counter lookups;
  private final Histogram lookupSeconds;
  private final Counter sends;
  private final Counter publishAcks;
  private final Gauge apiBrokerConnected;
  private final Gauge clusterMembersUp;
  private final Counter claims;
  private final Histogram claimSeconds;

  /** A registry with every metric at zero. */
  public NodeMetrics() {
    CounterWithCallback.builder().name("danemsg_messages_received").help("MQTT messages received from the broker")
        .callback(cb -> cb.call(health.received())).register(registry);
    CounterWithCallback.builder().name("danemsg_messages_acked")
        .help("messages acknowledged to the broker (after they were recorded)")
        .callback(cb -> cb.call(health.acked())).register(registry);
    CounterWithCallback.builder().name("danemsg_messages_delivered")
        .help("authenticated messages recorded in the inbox and printed")
        .callback(cb -> cb.call(health.delivered())).register(registry);
    CounterWithCallback.builder().name("danemsg_messages_rejected").help("messages refused, by reason")
        .labelNames("reason")
        .callback(cb -> health.rejected().forEach((reason, n) -> cb.call(n, reason))).register(registry);
    GaugeWithCallback.builder().name("danemsg_messages_parked")
        .help("messages parked until their sender's DNS answers")
        .callback(cb -> cb.call(health.parked())).register(registry);
    CounterWithCallback.builder().name("danemsg_dns_cache_hits").help("TLSA lookups answered from the cache")
        .callback(cb -> cb.call(health.cacheHits())).register(registry);
    CounterWithCallback.builder().name("danemsg_dns_cache_misses").help("TLSA lookups that asked DNS")
        .callback(cb -> cb.call(health.cacheMisses())).register(registry);
    GaugeWithCallback.builder().name("danemsg_broker_subscribed")
        .help("1 while the node is connected to the broker and subscribed to its topic")
        .callback(cb -> cb.call(health.subscribed() ? 1 : 0)).register(registry);
    GaugeWithCallback.builder().name("danemsg_identity_published")
        .help("1 when DNS was last seen to publish this node's key (validated)")
        .callback(cb -> cb.call(identityPublished ? 1 : 0)).register(registry);
    lookups = Counter.builder().name("danemsg_dns_lookups").help("TLSA lookups sent to DNS, by outcome")
        .labelNames("outcome").withoutExemplars().register(registry);
    lookupSeconds = Histogram.builder().name("danemsg_dns_lookup_duration_seconds")
        .help("time of TLSA lookups sent to DNS, validation included")
        .classicOnly().withoutExemplars().classicUpperBounds(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
        .register(registry);
    sends = Counter.builder().name("danemsg_api_sends").help("POST /v1/messages requests, by outcome")
        .labelNames("outcome").withoutExemplars().register(registry);
    publishAcks = Counter.builder().name("danemsg_api_publish_acks")
        .help("PUBACKs the broker gave for messages sent through the API").withoutExemplars().register(registry);
    apiBrokerConnected = Gauge.builder().name("danemsg_api_broker_connected")
        .help("1 while the API's publishing connection to the broker is up").register(registry);
    clusterMembersUp = Gauge.builder().name("danemsg_cluster_members_up")
        .help("cluster mode: members Up as this member sees them (0 when the node runs alone)").register(registry);
    claims = Counter.builder().name("danemsg_cluster_claims")
        .help("cluster mode: replay claims this member asked, by answer (granted, held_by_other, unavailable)")
        .labelNames("answer").withoutExemplars().register(registry);
    claimSeconds = Histogram.builder().name("danemsg_cluster_claim_duration_seconds")
        .help("cluster mode: time from asking a replay claim to its answer")
        .classicOnly().withoutExemplars().classicUpperBounds(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5)
        .register(registry);
    JvmMemoryMetrics.builder().register(registry);
  }

  /** Cluster mode: the number of members Up. */
  public void clusterMembersUp(int up) {
    clusterMembersUp.set(up);
  }

  /** Cluster mode: a replay claim was answered after {@code nanos}. */
  public void claimAnswered(ClaimBucket.Answer answer, long nanos) {
    claims.labelValues(answer instanceof ClaimBucket.Granted ? "granted"
        : answer instanceof ClaimBucket.HeldBy ? "held_by_other"
        : answer instanceof ClaimBucket.Undecided ? "undecided" : "unavailable").inc();
    claimSeconds.observe(nanos / 1e9);
  }

  /** Takes the node's counters as a health question gathered them. */
  public void update(NodeGuardian.Health latest) {
    health = latest;
  }

  /** Takes the publication status of this node's key. */
  public void update(IdentityKeeper.Status status) {
    identityPublished = status instanceof IdentityKeeper.Published;
  }

  /** Counts one API send with its outcome ({@code accepted}, {@code bad_request}, ...). */
  void send(String outcome) {
    sends.labelValues(outcome).inc();
  }

  /** Counts one PUBACK for an API send. */
  void publishAcked() {
    publishAcks.inc();
  }

  /** Whether the API's publishing connection is up. */
  void apiBrokerConnected(boolean connected) {
    apiBrokerConnected.set(connected ? 1 : 0);
  }

  /** {@code lookup}, with each lookup's outcome and time counted. */
  public DaneLookup measured(DaneLookup lookup) {
    return name -> {
      long start = System.nanoTime();
      LookupResult result = lookup.lookup(name);
      lookupSeconds.observe((System.nanoTime() - start) / 1e9);
      lookups.labelValues(outcome(result)).inc();
      return result;
    };
  }

  /** The metrics now, in the Prometheus text format (version 0.0.4). */
  public byte[] scrape() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
    try {
      writer.write(out, registry.scrape(), io.prometheus.metrics.config.EscapingScheme.UNDERSCORE_ESCAPING);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    return out.toByteArray();
  }

  /** The content type of {@link #scrape}. */
  public String contentType() {
    return writer.getContentType();
  }

  /** A lookup's outcome as a label value. */
  static String outcome(LookupResult result) {
    if (result instanceof LookupResult.Secure) {
      return "secure";
    } else if (result instanceof LookupResult.Unauthenticated) {
      return "unauthenticated";
    } else if (result instanceof LookupResult.Insecure) {
      return "insecure";
    } else if (result instanceof LookupResult.Bogus) {
      return "bogus";
    } else if (result instanceof LookupResult.NoSuchName) {
      return "nxdomain";
    } else if (result instanceof LookupResult.NoRecords) {
      return "nodata";
    } else if (result instanceof LookupResult.NoUsableKey) {
      return "no_usable_key";
    } else if (result instanceof LookupResult.TransientFailure failure) {
      return failure.kind().name().toLowerCase(Locale.ROOT);
    } else if (result instanceof LookupResult.NotAllowed) {
      return "not_allowed";
    }
    return "other";
  }
}
