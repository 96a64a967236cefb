package org.danemsg.node.api;

import java.util.LinkedHashMap;
import java.util.Map;
import org.danemsg.protocol.SafeText;
import org.danemsg.protocol.StrictJson;

/**
 * The JSON objects the API takes: one object of string members, read by the protocol's
 * {@link StrictJson} (RFC 8259 JSON only: no trailing commas, no raw control characters in strings, no
 * comments, each member name once), narrowed to what a request may hold: short ASCII member names and
 * string values; a member of any other kind is refused by name. Every problem is a {@link Malformed}
 * whose text a client can act on, made safe to print.
 */
final class RequestJson {

  /** What reading gave. */
  sealed interface Result permits Parsed, Malformed {}

  /** The text is one object of string members; its members in order. */
  record Parsed(Map<String, String> members) implements Result {}

  /** The text is not such an object, and why. */
  record Malformed(String problem) implements Result {}

  /** The longest member name accepted (request members are short words). */
  private static final int MAX_NAME = 64;

  private RequestJson() {}

  /** Reads {@code text} as exactly one JSON object of string members, with optional whitespace around it. */
  static Result parseObject(String text) {
    StrictJson.Result read = StrictJson.parseObject(text);
    if (read instanceof StrictJson.Malformed malformed) {
      return new Malformed(SafeText.detail(malformed.problem()));
    }
    Map<String, String> members = new LinkedHashMap<>();
    for (Map.Entry<String, Object> member : ((StrictJson.Parsed) read).members().entrySet()) {
      String name = member.getKey();
      if (name.length() > MAX_NAME || !name.chars().allMatch(c -> c >= 0x21 && c < 0x7f)) {
        return new Malformed("a member name is not a short ASCII word");
      }
      if (!(member.getValue() instanceof String value)) {
        return new Malformed("member '" + name + "' must be a string, got " + StrictJson.describe(member.getValue()));
      }
      members.put(name, value);
    }
    return new Parsed(members);
  }
}
