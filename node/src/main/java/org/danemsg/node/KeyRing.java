package org.danemsg.node;

import java.util.Objects;

/**
 * The keys this node decrypts with, as one immutable snapshot ({@link IdentityKeeper.Keys}): written
 * only by the {@link IdentityKeeper} (at start and after every rotation), read by the decrypt stage of
 * the {@link InboundPipeline} for each message. A message decrypts against whichever snapshot was
 * current when it arrived; a rotation replaces the snapshot as a whole, so no reader ever sees half
 * of one.
 */
public final class KeyRing {

  private volatile IdentityKeeper.Keys current;

  /** A ring holding {@code initial} until the keeper publishes another. */
  public KeyRing(IdentityKeeper.Keys initial) {
    this.current = Objects.requireNonNull(initial);
  }

  /** The keys to decrypt with now. */
  public IdentityKeeper.Keys current() {
    return current;
  }

  /** Replaces the snapshot; only the {@link IdentityKeeper} calls this. */
  void publish(IdentityKeeper.Keys keys) {
    current = Objects.requireNonNull(keys);
  }
}
