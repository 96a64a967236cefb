package org.danemsg.tools;

import picocli.CommandLine.Command;

/** {@code tools quarantine}: the messages a node refused, read from its database. */
@Command(name = "quarantine", mixinStandardHelpOptions = true,
    description = {"Show the messages a node refused, oldest first, from its database (DATA_PATH/danemsg.db;"
        + " safe while the node runs).",
        "A line: <at> <reason> <sender or -> <detail>, made safe for a terminal; --json gives the members"
            + " at, reason, detail, sender, payload-size, payload (base64, the first bytes kept),"
            + " payload-truncated and cursor."},
    footer = {"", "Exit status: 0 ok, 1 no readable node database, 2 bad usage."})
final class QuarantineCommand extends RecordsCommand {

  @Override
  NodeRecords.Kind kind() {
    return NodeRecords.Kind.QUARANTINE;
  }
}
