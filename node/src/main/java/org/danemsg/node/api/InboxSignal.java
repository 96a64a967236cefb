package org.danemsg.node.api;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Tells waiting readers (long polls, event streams) that the inbox may hold rows they have not seen:
 * the {@link ApiServer} calls {@link #advanced} when the Printer reports a commit that delivered
 * messages, and every few seconds besides, so that a reader also wakes when a notice was missed and
 * no waiter stays registered on one future for long.
 *
 * <p>A reader takes {@link #next} <em>before</em> it queries the inbox and waits on it only when the
 * query found nothing: a commit between the two completes the future it holds, so no arrival is
 * missed. Thread-safe.
 */
final class InboxSignal {

  private final AtomicReference<CompletableFuture<Void>> next = new AtomicReference<>(new CompletableFuture<>());

  /** Completes at the next {@link #advanced}; callers wait on a {@code copy()}, never complete it. */
  CompletableFuture<Void> next() {
    return next.get();
  }

  /** Wakes everyone waiting. */
  void advanced() {
    next.getAndSet(new CompletableFuture<>()).complete(null);
  }
}
