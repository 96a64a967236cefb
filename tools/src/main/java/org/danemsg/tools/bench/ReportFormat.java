package org.danemsg.tools.bench;

import java.util.List;
import java.util.Map;
import org.danemsg.protocol.StrictJson;

/** The bench report as a table for people and as JSON for tools. */
public final class ReportFormat {

  private ReportFormat() {}

  /** The end-of-run table. */
  @SuppressWarnings("unchecked")
  public static String table(Map<String, Object> report) {
    Map<String, Object> setup = (Map<String, Object>) report.get("setup");
    Map<String, Object> result = (Map<String, Object>) report.get("result");
    Map<String, Object> latency = (Map<String, Object>) report.get("latency-ms");
    Map<String, Object> first = (Map<String, Object>) report.get("first-message-to-new-peer");
    Map<String, Object> node = (Map<String, Object>) report.get("receiving-node");
    Map<String, Object> idleBefore = (Map<String, Object>) node.get("idle-before-run");
    Map<String, Object> idleAfter = (Map<String, Object>) node.get("idle-after-run");
    StringBuilder sb = new StringBuilder();
    String load = setup.get("messages") != null ? setup.get("messages") + " messages"
        : setup.get("duration-seconds") + " s";
    row(sb, "run", load + ", " + setup.get("senders") + " sender(s), offered " + setup.get("offered-rate")
        + ", " + setup.get("key-type") + ", QoS 1, " + setup.get("cores") + " cores");
    row(sb, "sent (acknowledged by broker)", result.get("sent"));
    row(sb, "delivered (printed once)", result.get("delivered"));
    row(sb, "lost", result.get("lost"));
    row(sb, "duplicated", result.get("duplicated"));
    row(sb, "quarantined / send errors", result.get("quarantined") + " / " + result.get("send-errors"));
    row(sb, "offered rate", result.get("offered-messages-per-second") + " msg/s over " + result.get("send-seconds")
        + " s");
    row(sb, "delivered rate (end to end)", result.get("delivered-messages-per-second") + " msg/s over "
        + result.get("end-to-end-seconds") + " s");
    if (latency.get("p50") != null) {
      row(sb, "latency p50 / p90 / p99", latency.get("p50") + " / " + latency.get("p90") + " / "
          + latency.get("p99") + " ms");
      row(sb, "latency p99.9 / max / mean", latency.get("p99.9") + " / " + latency.get("max") + " / "
          + latency.get("mean") + " ms");
    }
    Map<String, Object> sendersJvm = (Map<String, Object>) report.get("senders-jvm");
    if (sendersJvm != null) {
      row(sb, "senders' JVM: collector pauses", sendersJvm.get("gc-pauses-during-run") + ", longest "
          + sendersJvm.get("gc-pause-max-ms") + " ms (counted in the latency)");
    }
    Map<String, Object> machine = (Map<String, Object>) report.get("machine");
    if (machine != null) {
      row(sb, "machine: CPU stolen / disk stalls / CPU waits", machine.get("cpu-stolen-ms") + " / "
          + machine.get("disk-stall-ms") + " / " + machine.get("cpu-wait-ms") + " ms during the run");
    }
    Map<String, Object> cpu = (Map<String, Object>) report.get("cpu");
    row(sb, "CPU ms/msg: node / senders / rest", cpu.get("receiving-node-ms-per-message") + " / "
        + cpu.get("senders-ms-per-message") + " / " + cpu.get("rest-of-machine-ms-per-message") + " (machine "
        + cpu.get("machine-busy-percent") + "% busy)");
    row(sb, "first message to a new peer", first.get("median-ms") + " ms median, " + first.get("max-ms")
        + " ms max (" + first.get("delivered") + "/" + first.get("probes") + " probes), "
        + first.get("median-ratio-to-inherent-work") + "x its lookups + crypto at both ends, "
        + first.get("median-ratio-to-lookup-and-seal") + "x the sender's cold lookup + seal (medians)");
    row(sb, "node RSS idle before / peak / idle after", idleBefore.get("rss-mb") + " / "
        + node.get("peak-rss-mb-during-run") + " / " + idleAfter.get("rss-mb") + " MB ("
        + node.get("jvm-options") + ")");
    row(sb, "node heap used / committed (idle after)", idleAfter.get("heap-used-mb") + " / "
        + idleAfter.get("heap-committed-mb") + " MB");
    Map<String, Object> targets = (Map<String, Object>) report.get("targets");
    for (var t : targets.entrySet()) {
      row(sb, "target: " + t.getKey(), Boolean.TRUE.equals(t.getValue()) ? "met" : "MISSED");
    }
    return sb.toString();
  }

  private static void row(StringBuilder sb, String label, Object value) {
    sb.append(String.format("%-42s %s%n", label, value));
  }

  /** Indented JSON of maps, lists, strings, numbers, booleans and nulls. */
  public static String json(Object value) {
    StringBuilder sb = new StringBuilder();
    write(sb, value, "");
    return sb.append('\n').toString();
  }

  private static void write(StringBuilder sb, Object value, String indent) {
    if (value instanceof Map<?, ?> map) {
      if (map.isEmpty()) {
        sb.append("{}");
        return;
      }
      sb.append("{\n");
      int i = 0;
      for (var e : map.entrySet()) {
        sb.append(indent).append("  ");
        StrictJson.appendString(sb, e.getKey().toString());
        sb.append(": ");
        write(sb, e.getValue(), indent + "  ");
        sb.append(++i < map.size() ? ",\n" : "\n");
      }
      sb.append(indent).append('}');
    } else if (value instanceof List<?> list) {
      if (list.isEmpty()) {
        sb.append("[]");
        return;
      }
      sb.append("[\n");
      for (int i = 0; i < list.size(); i++) {
        sb.append(indent).append("  ");
        write(sb, list.get(i), indent + "  ");
        sb.append(i + 1 < list.size() ? ",\n" : "\n");
      }
      sb.append(indent).append(']');
    } else if (value instanceof String s) {
      StrictJson.appendString(sb, s);
    } else if (value instanceof Double d && (d.isNaN() || d.isInfinite())) {
      sb.append("null");
    } else {
      sb.append(value); // numbers, booleans, null
    }
  }
}
