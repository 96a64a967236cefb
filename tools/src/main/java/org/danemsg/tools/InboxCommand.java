package org.danemsg.tools;

import picocli.CommandLine.Command;

/** {@code tools inbox}: the messages a node delivered, read from its database. */
@Command(name = "inbox", mixinStandardHelpOptions = true,
    description = {"Show the messages a node delivered, oldest first, from its database (DATA_PATH/danemsg.db;"
        + " safe while the node runs).",
        "A line: <received-at> <sender> says: <text>, made safe for a terminal; --json gives the members"
            + " received-at, sender, recipient, sent-at, expires-at, id, profile, dnssec, text and cursor."},
    footer = {"", "Exit status: 0 ok, 1 no readable node database, 2 bad usage."})
final class InboxCommand extends RecordsCommand {

  @Override
  NodeRecords.Kind kind() {
    return NodeRecords.Kind.INBOX;
  }
}
