package org.danemsg.node;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.Rejection;
import org.danemsg.protocol.SignedMessage;
import org.danemsg.protocol.dns.LookupResult;

/**
 * The second crypto stage: verifies a decrypted message's signature and claims against its claimed
 * sender's validated keys, giving an authentic message (to print) or a refusal (to quarantine).
 *
 * <p>The stream of arriving messages runs {@link #verify} itself, as a stage on the crypto executor,
 * after getting the sender's keys from the node's {@code TlsaCache}; the actor serves the same check
 * to work that is not on the stream: parked messages whose sender's DNS answers again
 * ({@link ParkedSender}). The replay check is not here but in the {@link Printer}, where "seen" and
 * "printed" are one event.
 */
public final class Authenticator extends AbstractBehavior<Authenticator.Command> {

  /** What the authenticator does. */
  public sealed interface Command {}

  /**
   * Verify {@code signed} against {@code keys}; the reply is an {@link InboundPipeline.Authentic} or an
   * {@link InboundPipeline.Refused} carrying {@code payload}.
   */
  public record Verify(SignedMessage signed, LookupResult keys, byte[] payload,
      ActorRef<InboundPipeline.Step> replyTo) implements Command {}

  private final Envelope envelope;
  private final Executor crypto;

  /** An authenticator verifying on {@code crypto}. */
  public static Behavior<Command> create(Envelope envelope, Executor crypto) {
    return Behaviors.setup(context -> new Authenticator(context, envelope, crypto));
  }

  private Authenticator(ActorContext<Command> context, Envelope envelope, Executor crypto) {
    super(context);
    this.envelope = envelope;
    this.crypto = crypto;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Verify.class, v -> {
          CompletableFuture.supplyAsync(() -> verify(envelope, v.signed(), v.keys(), v.payload()), crypto)
              .thenAccept(v.replyTo()::tell);
          return this;
        })
        .build();
  }

  /** Verifies {@code signed} against the sender's keys: the stream's verify stage; never throws. */
  static InboundPipeline.Step verify(Envelope envelope, SignedMessage signed, LookupResult keys, byte[] payload) {
    Envelope.OpenResult result;
    try {
      result = envelope.verify(signed, keys.usableKeys());
    } catch (RuntimeException e) {
      result = new Envelope.Rejected(new Rejection(Rejection.Reason.SIGNATURE_INVALID,
          "verification failed unexpectedly: " + e.getClass().getSimpleName(), signed.claimedSender()));
    }
    if (result instanceof Envelope.Opened opened) {
      return new InboundPipeline.Authentic(opened.message(), keys instanceof LookupResult.Secure, payload);
    }
    return new InboundPipeline.Refused(Refusal.of(((Envelope.Rejected) result).rejection()), payload);
  }

  /** The refusal for a sender whose DNS answered without a usable key. */
  static Refusal unavailable(DnsName sender, LookupResult result) {
    if (result instanceof LookupResult.NotAllowed) {
      return new Refusal(Refusal.SENDER_ZONE_NOT_ALLOWED, result.describe(), sender);
    }
    return new Refusal(Rejection.Reason.SENDER_KEYS_UNAVAILABLE.name(),
        "no validated key for " + sender + ": " + result.describe(), sender);
  }
}
