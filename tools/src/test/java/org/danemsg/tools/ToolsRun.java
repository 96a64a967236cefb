package org.danemsg.tools;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the tools in-process and captures what they print. */
record ToolsRun(int exit, String out, String err) {

  static ToolsRun of(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Tools.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new ToolsRun(exit, out.toString(), err.toString());
  }

  /** stderr is exactly one line (an error message, no stack trace). */
  boolean oneErrorLine() {
    String trimmed = err.strip();
    return !trimmed.isEmpty() && trimmed.lines().count() <= 2 && !trimmed.contains("\tat ")
        && !trimmed.contains("Exception");
  }

  @Override
  public String toString() {
    return "exit " + exit + "\n--- out\n" + out + "--- err\n" + err;
  }
}
