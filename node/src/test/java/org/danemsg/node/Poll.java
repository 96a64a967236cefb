package org.danemsg.node;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waiting for a condition with a deadline, never a bare sleep. */
final class Poll {

  private Poll() {}

  static void until(Duration within, BooleanSupplier condition, Supplier<String> whatFailed) {
    long deadline = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + within.toSeconds() + " s: " + whatFailed.get());
      }
      try {
        Thread.sleep(20); // poll interval, bounded by the deadline
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
    }
  }
}
