package org.danemsg.node;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.Rejection;

/**
 * The first crypto stage: checks a payload's form and decrypts it with this node's key(s), giving the
 * still unverified signed message and its claimed sender.
 *
 * <p>The stream of arriving messages runs {@link #decrypt} itself, as a stage on the crypto executor
 * (as many payloads decrypt at once as the machine has cores), against the {@link KeyRing} snapshot
 * the {@link IdentityKeeper} keeps current. The actor serves the same decryption to work that is not
 * on the stream: parked messages taken up again ({@link ParkedSender}). {@link Envelope#decrypt} never
 * throws for bad input, and {@link #decrypt} turns even a bug into a rejection, so a hostile payload
 * is a value like any other and cannot disturb the next one.
 */
public final class Decryptor extends AbstractBehavior<Decryptor.Command> {

  /** What the decryptor does. */
  public sealed interface Command {}

  /** Decrypt {@code payload}; the reply is an {@link Envelope.DecryptResult}. */
  public record Decrypt(byte[] payload, ActorRef<Envelope.DecryptResult> replyTo) implements Command {}

  private final Envelope envelope;
  private final Executor crypto;
  private final KeyRing keys;

  /** A decryptor using whatever keys {@code keys} holds when a request comes. */
  public static Behavior<Command> create(Envelope envelope, Executor crypto, KeyRing keys) {
    return Behaviors.setup(context -> new Decryptor(context, envelope, crypto, keys));
  }

  private Decryptor(ActorContext<Command> context, Envelope envelope, Executor crypto, KeyRing keys) {
    super(context);
    this.envelope = envelope;
    this.crypto = crypto;
    this.keys = keys;
  }

  /** Decrypts {@code payload} with the ring's current keys; never throws. */
  static Envelope.DecryptResult decrypt(Envelope envelope, KeyRing keys, byte[] payload) {
    IdentityKeeper.Keys now = keys.current();
    try {
      return envelope.decrypt(payload, now.self(), now.identities());
    } catch (RuntimeException e) {
      return new Envelope.Rejected(Rejection.of(Rejection.Reason.NOT_A_JWE,
          "decryption failed unexpectedly: " + e.getClass().getSimpleName()));
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Decrypt.class, decrypt -> {
          CompletableFuture.supplyAsync(() -> decrypt(envelope, keys, decrypt.payload()), crypto)
              .thenAccept(decrypt.replyTo()::tell);
          return this;
        })
        .build();
  }
}
