package org.danemsg.node;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.Rejection;

/**
 * The first crypto stage: checks a payload's size and form and decrypts it with this node's key(s),
 * giving the still unverified signed message and its claimed sender. Decryption runs on the crypto
 * executor, so as many payloads decrypt at once as the machine has cores; the actor itself only holds
 * the current keys, which the {@link IdentityKeeper} sends on start and after every rotation.
 * {@link Envelope#decrypt} never throws for bad input, so a hostile payload is a rejection like any
 * other and cannot disturb the next one.
 */
public final class Decryptor extends AbstractBehavior<Decryptor.Command> {

  /** What the decryptor does. */
  public sealed interface Command {}

  /** Decrypt {@code payload}; the reply is an {@link Envelope.DecryptResult}. */
  public record Decrypt(byte[] payload, ActorRef<Envelope.DecryptResult> replyTo) implements Command {}

  private record KeysChanged(IdentityKeeper.Keys keys) implements Command {}

  private record Done(Envelope.DecryptResult result, ActorRef<Envelope.DecryptResult> replyTo)
      implements Command {}

  private final Envelope envelope;
  private final Executor crypto;
  private DnsName self;
  private List<DeviceIdentity> keys;

  /** A decryptor that starts with {@code initial} and follows {@code keeper}'s key changes. */
  public static Behavior<Command> create(Envelope envelope, Executor crypto, IdentityKeeper.Keys initial,
      ActorRef<IdentityKeeper.Command> keeper) {
    return Behaviors.setup(context -> {
      keeper.tell(new IdentityKeeper.Subscribe(context.messageAdapter(IdentityKeeper.Keys.class,
          KeysChanged::new)));
      return new Decryptor(context, envelope, crypto, initial);
    });
  }

  private Decryptor(ActorContext<Command> context, Envelope envelope, Executor crypto,
      IdentityKeeper.Keys initial) {
    super(context);
    this.envelope = envelope;
    this.crypto = crypto;
    this.self = initial.self();
    this.keys = initial.identities();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Decrypt.class, this::onDecrypt)
        .onMessage(Done.class, done -> {
          done.replyTo().tell(done.result());
          return this;
        })
        .onMessage(KeysChanged.class, changed -> {
          self = changed.keys().self();
          keys = changed.keys().identities();
          return this;
        })
        .build();
  }

  private Behavior<Command> onDecrypt(Decrypt decrypt) {
    DnsName name = self;
    List<DeviceIdentity> own = keys;
    getContext().pipeToSelf(
        CompletableFuture.supplyAsync(() -> envelope.decrypt(decrypt.payload(), name, own), crypto),
        (result, error) -> new Done(result != null ? result
            : new Envelope.Rejected(Rejection.of(Rejection.Reason.NOT_A_JWE,
                "decryption failed unexpectedly: " + error)), decrypt.replyTo()));
    return this;
  }
}
