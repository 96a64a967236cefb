package org.danemsg.node.api;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.danemsg.protocol.SafeText;

/**
 * Writes the API's answers as JSON: objects of strings, whole numbers, booleans, nulls, lists and
 * nested objects, in the order given. Strings are made well-formed first ({@link SafeText#wellFormed}:
 * a lone surrogate becomes U+FFFD) and every control character, U+2028/U+2029 and DEL are escaped,
 * so the output is valid UTF-8 JSON whatever a sender put in a message.
 */
final class ResponseJson {

  private ResponseJson() {}

  /** {@code {"error": message}}. */
  static byte[] error(String message) {
    return bytes(Map.of("error", message));
  }

  /** The JSON text of {@code value} as UTF-8. */
  static byte[] bytes(Object value) {
    return text(value).getBytes(StandardCharsets.UTF_8);
  }

  /** The JSON text of {@code value}. */
  static String text(Object value) {
    StringBuilder sb = new StringBuilder(128);
    write(sb, value);
    return sb.toString();
  }

  private static void write(StringBuilder sb, Object value) {
    if (value == null) {
      sb.append("null");
    } else if (value instanceof String s) {
      string(sb, s);
    } else if (value instanceof Long || value instanceof Integer || value instanceof Boolean) {
      sb.append(value);
    } else if (value instanceof Map<?, ?> map) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> member : map.entrySet()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        string(sb, String.valueOf(member.getKey()));
        sb.append(':');
        write(sb, member.getValue());
      }
      sb.append('}');
    } else if (value instanceof Iterable<?> items) {
      sb.append('[');
      boolean first = true;
      for (Object item : items) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        write(sb, item);
      }
      sb.append(']');
    } else {
      throw new IllegalArgumentException("no JSON form for " + value.getClass().getSimpleName());
    }
  }

  private static void string(StringBuilder sb, String raw) {
    String s = SafeText.wellFormed(raw);
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029') {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }
}
