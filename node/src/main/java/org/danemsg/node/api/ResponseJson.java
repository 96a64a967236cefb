package org.danemsg.node.api;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.danemsg.protocol.StrictJson;

/**
 * Writes the API's answers as JSON: objects of strings, whole numbers, booleans, nulls, lists and
 * nested objects, in the order given. Strings are written by {@link StrictJson#appendString} (made
 * well-formed, every control character, U+2028/U+2029 and DEL escaped), so the output is valid UTF-8
 * JSON whatever a sender put in a message.
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
      StrictJson.appendString(sb, s);
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
        StrictJson.appendString(sb, String.valueOf(member.getKey()));
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
}
