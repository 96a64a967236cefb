package org.danemsg.node.api;

import java.security.PublicKey;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.danemsg.node.KeyRing;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.Profile;
import org.danemsg.protocol.SealException;
import org.danemsg.protocol.dns.LookupResult;
import org.danemsg.protocol.dns.TlsaCache;

/**
 * The one publisher behind {@code POST /v1/messages}: a bounded queue and one Pekko stream that looks
 * up each recipient's key in the node's {@link TlsaCache} (validated, cached, one query per name),
 * seals the message as this device's current identity on the crypto pool, and publishes it at QoS 1
 * over the API's one broker connection ({@link BrokerLink}), with at most {@code sends-in-flight}
 * sends between the queue and their PUBACKs. A full queue refuses a send at once (503) rather than
 * holding it: back-pressure a client can see and retry on.
 *
 * <p>Every outcome is a value ({@link Outcome}); nothing a send does fails the stream.
 */
final class MessagePublisher implements AutoCloseable {

  /** A send asked for: the recipient and text checked already. */
  record Send(DnsName to, String text, Profile profile) {}

  /** What became of a send. */
  sealed interface Outcome {}

  /**
   * The broker acknowledged the message.
   *
   * @param id the message's id, as its recipient's inbox will show it
   * @param bytes the sealed payload's size
   */
  record Accepted(String id, DnsName to, int bytes, Profile profile, boolean dnssecValidated) implements Outcome {}

  /** Not sent; {@code status} is the HTTP status that says why (400, 422, 503). */
  record Refused(int status, String error) implements Outcome {}

  /** A send in the stream, with the client's answer. */
  private static final class Pending {
    final Send send;
    final CompletableFuture<Outcome> answer = new CompletableFuture<>();
    byte[] payload;
    String id;
    boolean validated;

    Pending(Send send) {
      this.send = send;
    }
  }

  private final BoundedSourceQueue<Pending> queue;
  private final TlsaCache cache;
  private final KeyRing keys;
  private final Envelope envelope;
  private final Executor crypto;
  private final boolean dnssecOff;
  private final BrokerLink link;
  private final NodeMetrics metrics;

  MessagePublisher(ActorSystem<?> system, ApiSettings api, TlsaCache cache, KeyRing keys, Envelope envelope,
      Executor crypto, boolean dnssecOff, BrokerLink link, NodeMetrics metrics) {
    this.cache = cache;
    this.keys = keys;
    this.envelope = envelope;
    this.crypto = crypto;
    this.dnssecOff = dnssecOff;
    this.link = link;
    this.metrics = metrics;
    int inFlight = api.sendsInFlight();
    this.queue = Source.<Pending>queue(api.sendQueue())
        .mapAsyncUnordered(inFlight, this::seal)
        .filter(p -> p.payload != null)
        .mapAsyncUnordered(inFlight, this::publish)
        .to(Sink.ignore())
        .run(system);
  }

  /** Sends {@code send}; the outcome once the broker acknowledged it, or why not. */
  CompletionStage<Outcome> send(Send send) {
    Pending pending = new Pending(send);
    QueueOfferResult offered = queue.offer(pending);
    if (offered != QueueOfferResult.enqueued()) {
      return CompletableFuture.completedFuture(new Refused(503, offered == QueueOfferResult.dropped()
          ? "the node is busy: " + queue.size() + " sends are waiting for the broker; retry shortly"
          : "the node is stopping"));
    }
    return pending.answer;
  }

  /** Looks up the recipient's key and seals; a refusal answers the client and drops the send. */
  private CompletionStage<Pending> seal(Pending p) {
    return cache.lookup(p.send.to()).thenApplyAsync(found -> {
      boolean usable = found instanceof LookupResult.Secure
          || (found instanceof LookupResult.Unauthenticated && dnssecOff);
      if (!usable || found.usableKeys().isEmpty()) {
        // As tools resolve says it; a DNS failure of the moment may pass, the others are answers.
        p.answer.complete(found.isTransient() ? new Refused(503, found.describe()) : new Refused(422, found.describe()));
        return p;
      }
      PublicKey key = found.newestKey().orElseThrow();
      DeviceIdentity self = keys.current().identities().get(0);
      try {
        Envelope.Sealed sealed = envelope.sealMessage(p.send.text(), self, p.send.to(), key, p.send.profile());
        p.payload = sealed.payload();
        p.id = sealed.id();
        p.validated = found instanceof LookupResult.Secure;
      } catch (SealException e) {
        p.answer.complete(new Refused(e.getMessage().startsWith("message too large") ? 400 : 422, e.getMessage()));
      }
      return p;
    }, crypto).exceptionally(e -> {
      p.answer.complete(new Refused(503, "sealing failed: " + describe(e)));
      return p;
    });
  }

  private CompletionStage<Pending> publish(Pending p) {
    return link.publish(p.send.to().toString(), p.payload).handle((ok, e) -> {
      if (e == null) {
        metrics.publishAcked();
        p.answer.complete(new Accepted(p.id, p.send.to(), p.payload.length, p.send.profile(), p.validated));
      } else {
        p.answer.complete(new Refused(503, describe(e)));
      }
      return p;
    });
  }

  @Override
  public void close() {
    queue.complete();
    link.close();
  }

  private static String describe(Throwable e) {
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    return cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
  }
}
