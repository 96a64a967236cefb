package org.danemsg.tools.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The rules of a {@code .dockerignore}: a path is left out of the build context when the last rule
 * matching it, or one of its parent folders, is not a {@code !} exception.
 */
record DockerIgnore(List<Rule> rules) {

  record Rule(Pattern pattern, boolean exception, String text) {}

  static DockerIgnore read(Path file) throws IOException {
    List<Rule> rules = new ArrayList<>();
    if (Files.exists(file)) {
      for (String raw : Files.readAllLines(file)) {
        String line = raw.strip();
        if (line.isEmpty() || line.startsWith("#")) {
          continue;
        }
        boolean exception = line.startsWith("!");
        String glob = (exception ? line.substring(1) : line).strip().replaceAll("^/+|/+$", "");
        rules.add(new Rule(Pattern.compile(toRegex(glob)), exception, line));
      }
    }
    return new DockerIgnore(List.copyOf(rules));
  }

  /** Whether {@code relative} (a path in the context, with '/') is sent to the builder. */
  boolean includes(String relative) {
    String path = relative.replaceAll("^\\./|/+$", "");
    boolean excluded = false;
    for (Rule rule : rules) {
      if (matchesItselfOrParent(rule.pattern(), path)) {
        excluded = !rule.exception();
      }
    }
    return !excluded;
  }

  private static boolean matchesItselfOrParent(Pattern pattern, String path) {
    String candidate = path;
    while (true) {
      if (pattern.matcher(candidate).matches()) {
        return true;
      }
      int slash = candidate.lastIndexOf('/');
      if (slash < 0) {
        return false;
      }
      candidate = candidate.substring(0, slash);
    }
  }

  private static String toRegex(String glob) {
    StringBuilder re = new StringBuilder();
    for (int i = 0; i < glob.length(); i++) {
      char c = glob.charAt(i);
      if (c == '*' && i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
        // "**/" matches any number of folders, also none
        boolean slash = i + 2 < glob.length() && glob.charAt(i + 2) == '/';
        re.append(slash ? "(?:.*/)?" : ".*");
        i += slash ? 2 : 1;
      } else if (c == '*') {
        re.append("[^/]*");
      } else if (c == '?') {
        re.append("[^/]");
      } else {
        re.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return re.toString();
  }
}
