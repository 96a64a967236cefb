package org.danemsg.node;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * How many WARN lines of each kind an actor writes per window (a minute, ended by the actor's timer)
 * before it only counts them: what a hostile sender can make the node log is bounded however many
 * messages or made-up names it sends, and the operator still reads how many were held back. Owned by
 * one actor, never shared.
 */
final class LogBudget {

  /** What to do with one line. */
  enum Verdict {
    /** Log it. */
    LOG,
    /** Log it and say that further lines of its kind are only counted until the window ends. */
    LOG_LAST,
    /** Count it only. */
    HOLD
  }

  private final int linesPerWindow;
  private final Map<String, Integer> used = new HashMap<>();
  private final Map<String, Long> heldBack = new TreeMap<>();
  private long heldBackTotal;

  LogBudget(int linesPerWindow) {
    this.linesPerWindow = linesPerWindow;
  }

  /** Spends one line of {@code kind}. */
  Verdict take(String kind) {
    int n = used.merge(kind, 1, Integer::sum);
    if (n < linesPerWindow) {
      return Verdict.LOG;
    }
    if (n == linesPerWindow) {
      return Verdict.LOG_LAST;
    }
    heldBack.merge(kind, 1L, Long::sum);
    heldBackTotal++;
    return Verdict.HOLD;
  }

  /** Lines held back since start, for the counters. */
  long heldBackTotal() {
    return heldBackTotal;
  }

  /** Ends the window: the lines held back per kind, and a fresh budget. */
  Map<String, Long> endWindow() {
    Map<String, Long> held = new TreeMap<>(heldBack);
    heldBack.clear();
    used.clear();
    return held;
  }
}
