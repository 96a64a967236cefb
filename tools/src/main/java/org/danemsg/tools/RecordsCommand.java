package org.danemsg.tools;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jose4j.json.JsonUtil;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import sun.misc.Signal;

/**
 * What {@code tools inbox} and {@code tools quarantine} share: the options, reading the node's
 * database ({@link NodeRecords}) by cursor, and following it.
 */
abstract class RecordsCommand implements Callable<Integer> {

  /** How often {@code --follow} asks the database for new rows. */
  static final long FOLLOW_INTERVAL_MILLIS = 300;
  private static final int BATCH = 1000;

  @Option(names = "--data", paramLabel = "DIR",
      description = "The node's data folder (default: the environment's DATA_PATH).")
  Path data;

  @Option(names = "--json", description = "One JSON object a line: the members the node's records have,"
      + " plus cursor.")
  boolean json;

  @Option(names = "--follow", description = "Keep reading new records as the node writes them, until"
      + " interrupted (Ctrl-C exits 0).")
  boolean follow;

  @Option(names = "--after", paramLabel = "CURSOR", defaultValue = "0",
      description = "Only records after this cursor (each record's number; default: from the first).")
  long after;

  @Option(names = "--limit", paramLabel = "N",
      description = "Stop after N records (with --follow too: waits for them).")
  Integer limit;

  @Spec CommandSpec spec;

  /** Which records the command reads. */
  abstract NodeRecords.Kind kind();

  @Override
  public Integer call() {
    if (after < 0) {
      throw CommandFailure.usage("--after must be a cursor, 0 or more");
    }
    if (limit != null && limit < 1) {
      throw CommandFailure.usage("--limit must be at least 1");
    }
    Path folder = data;
    if (folder == null) {
      String env = System.getenv("DATA_PATH");
      if (env == null || env.isBlank()) {
        throw CommandFailure.usage("no data folder: give --data DIR or set DATA_PATH");
      }
      folder = Path.of(env);
    }
    PrintWriter out = spec.commandLine().getOut();
    try (NodeRecords records = NodeRecords.open(folder)) {
      return follow ? following(records, out) : read(records, out);
    } catch (NodeRecords.Unreadable e) {
      throw CommandFailure.failed(e.getMessage(), e);
    }
  }

  /** Prints the records after {@link #after}, up to {@link #limit}. */
  private int read(NodeRecords records, PrintWriter out) throws NodeRecords.Unreadable {
    long cursor = after;
    long left = limit == null ? Long.MAX_VALUE : limit;
    while (left > 0) {
      List<Map<String, Object>> rows = records.rows(kind(), cursor, (int) Math.min(BATCH, left));
      for (Map<String, Object> row : rows) {
        print(out, row);
        cursor = (Long) row.get("cursor");
        left--;
      }
      out.flush();
      if (rows.size() < BATCH || out.checkError()) {
        break;
      }
    }
    return 0;
  }

  private int following(NodeRecords records, PrintWriter out) throws NodeRecords.Unreadable {
    Thread reader = Thread.currentThread();
    // Ctrl-C ends the following, which is how it is meant to end: exit 0, not the JVM's 130.
    Signal interrupt = new Signal("INT");
    sun.misc.SignalHandler before = null;
    try {
      before = Signal.handle(interrupt, signal -> reader.interrupt());
    } catch (IllegalArgumentException e) {
      // signals are the JVM's (-Xrs): Ctrl-C then ends the process as usual
    }
    try {
      long cursor = after;
      long left = limit == null ? Long.MAX_VALUE : limit;
      while (true) {
        List<Map<String, Object>> rows = records.rows(kind(), cursor, (int) Math.min(BATCH, left));
        for (Map<String, Object> row : rows) {
          print(out, row);
          cursor = (Long) row.get("cursor");
          left--;
        }
        out.flush();
        if (left == 0 || out.checkError()) {
          return 0; // the limit, or nobody reads any more (a closed pipe)
        }
        if (rows.size() < BATCH) {
          try {
            Thread.sleep(FOLLOW_INTERVAL_MILLIS);
          } catch (InterruptedException e) {
            return 0;
          }
        }
      }
    } finally {
      if (before != null) {
        Signal.handle(interrupt, before);
      }
    }
  }

  private void print(PrintWriter out, Map<String, Object> row) {
    out.println(json ? JsonUtil.toJson(row) : NodeRecords.textLine(kind(), row));
  }
}
