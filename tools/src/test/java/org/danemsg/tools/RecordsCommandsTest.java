package org.danemsg.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tools inbox} and {@code tools quarantine} where there is nothing a node wrote: usage and the
 * one-line errors. What they print from a node's records is tested with the node's own writer in the
 * integration module ({@code RecordsCommandsTest} there).
 */
class RecordsCommandsTest {

  /** A SQLite file that is not a node's: the node before the message store kept only this table. */
  private static void replayWindowOnly(Path file, int userVersion) throws Exception {
    try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = db.createStatement()) {
      s.execute("CREATE TABLE seen (sender TEXT NOT NULL, id TEXT NOT NULL, until INTEGER NOT NULL,"
          + " PRIMARY KEY (sender, id)) WITHOUT ROWID");
      s.execute("PRAGMA user_version=" + userVersion);
    }
  }

  @Test
  void helpNamesTheOptions() {
    for (String command : new String[] {"inbox", "quarantine"}) {
      ToolsRun run = ToolsRun.of(command, "--help");
      assertEquals(0, run.exit(), run.toString());
      for (String option : new String[] {"--data", "--json", "--follow", "--after", "--limit"}) {
        assertTrue(run.out().contains(option), command + " --help lacks " + option + ": " + run.out());
      }
    }
  }

  @Test
  void withoutADataFolderItIsBadUsage() {
    assumeTrue(System.getenv("DATA_PATH") == null, "DATA_PATH is set in this environment");
    ToolsRun run = ToolsRun.of("inbox");
    assertEquals(2, run.exit(), run.toString());
    assertTrue(run.oneErrorLine(), run.toString());
    assertTrue(run.err().contains("give --data DIR or set DATA_PATH"), run.err());
  }

  @Test
  void aFolderWithoutANodeDatabaseIsAFailureOfOneLine(@TempDir Path dir) {
    ToolsRun run = ToolsRun.of("inbox", "--data", dir.toString());
    assertEquals(1, run.exit(), run.toString());
    assertTrue(run.oneErrorLine(), run.toString());
    assertTrue(run.err().contains("no node database in " + dir), run.err());
    ToolsRun missing = ToolsRun.of("quarantine", "--data", dir.resolve("nothing").toString());
    assertEquals(1, missing.exit(), missing.toString());
    assertTrue(missing.err().contains("does not exist"), missing.err());
  }

  @Test
  void aFileThatIsNotADatabaseIsAFailureOfOneLine(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("danemsg.db"), "these are not the pages of a database. ".repeat(30));
    ToolsRun run = ToolsRun.of("inbox", "--data", dir.toString(), "--json");
    assertEquals(1, run.exit(), run.toString());
    assertTrue(run.oneErrorLine(), run.toString());
    assertTrue(run.err().contains("is not a node database"), run.err());
  }

  @Test
  void theDatabaseOfANodeFromBeforeTheMessageStoreIsNotReadAsOne(@TempDir Path dir) throws Exception {
    replayWindowOnly(dir.resolve("danemsg.db"), 0);
    ToolsRun run = ToolsRun.of("quarantine", "--data", dir.toString());
    assertEquals(1, run.exit(), run.toString());
    assertTrue(run.oneErrorLine(), run.toString());
    assertTrue(run.err().contains("not a node database these tools read"), run.err());
  }

  @Test
  void aDatabaseOfANewerSchemaIsRefused(@TempDir Path dir) throws Exception {
    replayWindowOnly(dir.resolve("danemsg.db"), NodeRecords.SCHEMA_VERSION + 1);
    ToolsRun run = ToolsRun.of("inbox", "--data", dir.toString());
    assertEquals(1, run.exit(), run.toString());
    assertTrue(run.oneErrorLine(), run.toString());
    assertTrue(run.err().contains("schema version 2, newer than these tools read (1)"), run.err());
  }

  @Test
  void aNegativeCursorOrLimitIsBadUsage(@TempDir Path dir) {
    ToolsRun after = ToolsRun.of("inbox", "--data", dir.toString(), "--after", "-1");
    assertEquals(2, after.exit(), after.toString());
    assertTrue(after.oneErrorLine(), after.toString());
    ToolsRun limit = ToolsRun.of("inbox", "--data", dir.toString(), "--limit", "0");
    assertEquals(2, limit.exit(), limit.toString());
    ToolsRun notANumber = ToolsRun.of("quarantine", "--data", dir.toString(), "--after", "x");
    assertEquals(2, notANumber.exit(), notANumber.toString());
  }
}
