package org.danemsg.tools.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Dockerfile split into instructions (continuation lines joined, comments and parser directives
 * dropped) and build stages. No Docker needed: enough to check what the deploy files promise.
 */
record Dockerfile(Path file, List<Instruction> instructions) {

  /** One instruction: keyword (upper case) and the rest of its line(s). */
  record Instruction(String keyword, String arguments) {
    @Override
    public String toString() {
      return keyword + " " + arguments;
    }
  }

  /** COPY/ADD: flags such as --from, the sources and the destination. */
  record Copy(String from, List<String> sources, String destination) {}

  private static final Pattern FLAG = Pattern.compile("--([a-z-]+)(?:=(\\S*))?");

  static Dockerfile read(Path file) throws IOException {
    List<Instruction> result = new ArrayList<>();
    StringBuilder pending = new StringBuilder();
    for (String raw : Files.readAllLines(file)) {
      String line = raw.strip();
      if (pending.isEmpty() && (line.isEmpty() || line.startsWith("#"))) {
        continue;
      }
      if (!pending.isEmpty() && (line.isEmpty() || line.startsWith("#"))) {
        continue;
      }
      if (line.endsWith("\\")) {
        pending.append(line, 0, line.length() - 1).append(' ');
        continue;
      }
      pending.append(line);
      String joined = pending.toString().strip();
      pending.setLength(0);
      int space = joined.indexOf(' ');
      result.add(new Instruction(joined.substring(0, space < 0 ? joined.length() : space).toUpperCase(Locale.ROOT),
          space < 0 ? "" : joined.substring(space + 1).strip()));
    }
    return new Dockerfile(file, List.copyOf(result));
  }

  /** The instructions of the last stage: from its FROM to the end. */
  List<Instruction> finalStage() {
    int last = -1;
    for (int i = 0; i < instructions.size(); i++) {
      if (instructions.get(i).keyword().equals("FROM")) {
        last = i;
      }
    }
    return last < 0 ? List.of() : instructions.subList(last, instructions.size());
  }

  List<Instruction> all(String keyword) {
    return instructions.stream().filter(i -> i.keyword().equals(keyword)).toList();
  }

  /** The image of a FROM line, without --platform and AS. */
  static String fromImage(Instruction from) {
    return words(from.arguments()).stream().filter(w -> !w.startsWith("--")).findFirst().orElse("");
  }

  static Copy copy(Instruction copy) {
    String from = null;
    List<String> words = new ArrayList<>();
    String args = copy.arguments();
    if (args.startsWith("[")) {
      words.addAll(jsonWords(args));
    } else {
      for (String w : words(args)) {
        Matcher flag = FLAG.matcher(w);
        if (words.isEmpty() && flag.matches()) {
          if (flag.group(1).equals("from")) {
            from = flag.group(2);
          }
          continue;
        }
        words.add(w);
      }
    }
    return new Copy(from, List.copyOf(words.subList(0, words.size() - 1)), words.get(words.size() - 1));
  }

  /** The words of a JSON-array instruction (CMD ["java", "-jar", …]). */
  static List<String> jsonWords(String arguments) {
    Matcher m = Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(arguments);
    List<String> result = new ArrayList<>();
    while (m.find()) {
      result.add(m.group(1));
    }
    return result;
  }

  static List<String> words(String arguments) {
    return List.of(arguments.trim().split("\\s+"));
  }
}
