package org.danemsg.tools;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import org.jose4j.json.JsonUtil;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tools inbox}: the messages a node delivered, read from its database or through its local API. */
@Command(name = "inbox", mixinStandardHelpOptions = true,
    description = {"Show the messages a node delivered, oldest first, from its database (DATA_PATH/danemsg.db;"
        + " safe while the node runs).",
        "A line: <received-at> <sender> says: <text>, made safe for a terminal; --json gives the members"
            + " received-at, sender, recipient, sent-at, expires-at, id, profile, dnssec, text and cursor."},
    footer = {"", "Exit status: 0 ok, 1 no readable node database, 2 bad usage."})
final class InboxCommand extends RecordsCommand {

  /** How long one read through the API waits for new messages with --follow. */
  private static final int FOLLOW_WAIT_SECONDS = 30;

  @Option(names = "--via-node", arity = "0..1", paramLabel = "HOST:PORT", fallbackValue = "",
      description = "Read through the running node's local API (HOST:PORT, default API_LISTEN, else "
          + NodeApi.DEFAULT_ADDRESS + "; token from --data or DATA_PATH) instead of its database: the members"
          + " are the API's (cursor, id, sender, recipient, text, sent-at, received-at, profile, dnssec), and"
          + " --follow waits for new messages by long poll.")
  String viaNode;

  @Override
  NodeRecords.Kind kind() {
    return NodeRecords.Kind.INBOX;
  }

  @Override
  public Integer call() {
    if (viaNode == null) {
      return super.call();
    }
    if (after < 0) {
      throw CommandFailure.usage("--after must be a cursor, 0 or more");
    }
    if (limit != null && limit < 1) {
      throw CommandFailure.usage("--limit must be at least 1");
    }
    NodeApi api = NodeApi.at(NodeApi.address(viaNode, false), data);
    PrintWriter out = spec.commandLine().getOut();
    long cursor = after;
    long left = limit == null ? Long.MAX_VALUE : limit;
    while (left > 0) {
      Map<String, Object> page = api.messages(cursor, follow ? FOLLOW_WAIT_SECONDS : 0, (int) Math.min(1000, left));
      List<Map<String, Object>> messages = NodeApi.list(page);
      for (Map<String, Object> m : messages) {
        out.println(json ? JsonUtil.toJson(m) : NodeRecords.textLine(NodeRecords.Kind.INBOX, m));
        left--;
      }
      cursor = ((Number) page.get("next")).longValue();
      out.flush();
      if (out.checkError() || (!follow && messages.size() < 1000)) {
        break;
      }
    }
    return 0;
  }
}
