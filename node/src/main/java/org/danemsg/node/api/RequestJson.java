package org.danemsg.node.api;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A strict reader of the JSON objects the API takes: one object of string members, RFC 8259 JSON
 * only (no trailing commas, no raw control characters in strings, no comments), each member name
 * once. Modelled on the protocol's {@code StrictJson}, narrowed to what a request may hold: a member
 * whose value is not a string is refused by name, so no number, array or nesting is ever built from
 * a request. Every problem is a {@link Malformed} whose text a client can act on; it never quotes
 * the input beyond a member's name.
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

  private final String text;
  private int pos;

  private RequestJson(String text) {
    this.text = text;
  }

  /** Reads {@code text} as exactly one JSON object of string members, with optional whitespace around it. */
  static Result parseObject(String text) {
    RequestJson reader = new RequestJson(text);
    try {
      return new Parsed(reader.object());
    } catch (SyntaxError e) {
      return new Malformed(e.getMessage());
    }
  }

  private Map<String, String> object() throws SyntaxError {
    skipWhitespace();
    if (peek() != '{') {
      throw new SyntaxError("the body is not a JSON object");
    }
    pos++;
    Map<String, String> members = new LinkedHashMap<>();
    skipWhitespace();
    if (peek() == '}') {
      pos++;
    } else {
      while (true) {
        skipWhitespace();
        if (peek() != '"') {
          throw new SyntaxError("a member name (a string) is expected at character " + pos);
        }
        String name = string();
        if (name.length() > MAX_NAME || !name.chars().allMatch(c -> c >= 0x21 && c < 0x7f)) {
          throw new SyntaxError("a member name is not a short ASCII word");
        }
        skipWhitespace();
        if (peek() != ':') {
          throw new SyntaxError("':' is expected at character " + pos);
        }
        pos++;
        skipWhitespace();
        if (peek() != '"') {
          throw new SyntaxError("member '" + name + "' must be a string, got " + what(peek()));
        }
        if (members.putIfAbsent(name, string()) != null) {
          throw new SyntaxError("member '" + name + "' appears twice");
        }
        skipWhitespace();
        char c = peek();
        pos++;
        if (c == '}') {
          break;
        }
        if (c != ',') {
          throw new SyntaxError("',' or '}' is expected at character " + (pos - 1));
        }
      }
    }
    skipWhitespace();
    if (pos != text.length()) {
      throw new SyntaxError("there is more after the JSON object (at character " + pos + ")");
    }
    return members;
  }

  private String string() throws SyntaxError {
    pos++; // '"'
    StringBuilder sb = new StringBuilder();
    while (true) {
      if (pos >= text.length()) {
        throw new SyntaxError("a string is not closed");
      }
      char c = text.charAt(pos++);
      if (c == '"') {
        return sb.toString();
      }
      if (c < 0x20) {
        throw new SyntaxError("a string holds the control character U+" + String.format("%04X", (int) c)
            + " unescaped (write it as \\u" + String.format("%04x", (int) c) + ")");
      }
      if (c != '\\') {
        sb.append(c);
        continue;
      }
      if (pos >= text.length()) {
        throw new SyntaxError("a string is not closed");
      }
      char e = text.charAt(pos++);
      switch (e) {
        case '"', '\\', '/' -> sb.append(e);
        case 'b' -> sb.append('\b');
        case 'f' -> sb.append('\f');
        case 'n' -> sb.append('\n');
        case 'r' -> sb.append('\r');
        case 't' -> sb.append('\t');
        case 'u' -> sb.append(hex4());
        default -> throw new SyntaxError("a string holds the unknown escape \\" + (e >= 0x21 && e < 0x7f ? e
            : String.format("U+%04X", (int) e)));
      }
    }
  }

  private char hex4() throws SyntaxError {
    if (pos + 4 > text.length()) {
      throw new SyntaxError("a \\u escape is cut short");
    }
    int value = 0;
    for (int i = 0; i < 4; i++) {
      char h = text.charAt(pos + i);
      int digit = h > 'f' ? -1 : Character.digit(h, 16);
      if (digit < 0) {
        throw new SyntaxError("a \\u escape has a character that is not hexadecimal");
      }
      value = value * 16 + digit;
    }
    pos += 4;
    return (char) value;
  }

  private static String what(char c) {
    return switch (c) {
      case '{' -> "an object";
      case '[' -> "an array";
      case 't', 'f' -> "a boolean";
      case 'n' -> "null";
      case '\0' -> "the end of the body";
      default -> c == '-' || (c >= '0' && c <= '9') ? "a number" : "something that is not JSON";
    };
  }

  /** The character at the position, or NUL at the end (which no valid token starts with). */
  private char peek() {
    return pos < text.length() ? text.charAt(pos) : '\0';
  }

  private void skipWhitespace() {
    while (pos < text.length()) {
      char c = text.charAt(pos);
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        return;
      }
      pos++;
    }
  }

  /** Leaves the reader at the first error; never escapes {@link #parseObject}. */
  private static final class SyntaxError extends Exception {
    private static final long serialVersionUID = 1L;

    SyntaxError(String message) {
      super(message, null, false, false);
    }
  }
}
