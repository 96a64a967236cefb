package org.danemsg.protocol;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict reader of the small JSON objects a message carries (JOSE headers, claims, the flattened
 * serializations). Stricter than jose4j's reader, which takes trailing commas, raw control
 * characters in strings and {@code 1e309} (as infinity): here anything but RFC 8259 JSON is refused,
 * a member name may appear once, nesting stops at {@value #MAX_DEPTH} levels, and a number is kept
 * as its literal (a {@link Num}), so that no hostile number is ever converted, and its meaning is
 * decided by whoever expects a number there.
 *
 * <p>Values: {@link String} (which may hold lone surrogates, as JSON allows; the member checks refuse
 * them), {@link Boolean}, {@link Num}, {@link #NULL}, {@link List} and {@link Map} (in member order).
 *
 * <p>Public for other readers of untrusted JSON objects (the node's local API reads its requests with
 * it); a {@link Malformed}'s problem names a position and may quote a member's name, not yet made safe.
 */
public final class StrictJson {

  /** The deepest nesting of arrays and objects read; no message member needs more than 3. */
  public static final int MAX_DEPTH = 16;

  /** JSON {@code null}, distinct from a missing member. */
  public static final Object NULL = new Object() {
    @Override
    public String toString() {
      return "null";
    }
  };

  /** A JSON number, as written. */
  public record Num(String literal) {
    /** Whether it is written as an integer: an optional minus and digits, no fraction or exponent. */
    public boolean isInteger() {
      return literal.indexOf('.') < 0 && literal.indexOf('e') < 0 && literal.indexOf('E') < 0;
    }
  }

  /** What reading gave. */
  public sealed interface Result permits Parsed, Malformed {}

  /** The text is one JSON object; its members in order. */
  public record Parsed(Map<String, Object> members) implements Result {}

  /** The text is not one JSON object, and why (for people; may quote the input, not yet made safe). */
  public record Malformed(String problem) implements Result {}

  private final String text;
  private int pos;

  private StrictJson(String text) {
    this.text = text;
  }

  /** Reads {@code text} as exactly one JSON object, with optional whitespace around it. */
  public static Result parseObject(String text) {
    StrictJson reader = new StrictJson(text);
    try {
      reader.skipWhitespace();
      if (reader.pos >= text.length() || text.charAt(reader.pos) != '{') {
        return new Malformed("it is not a JSON object");
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> members = (Map<String, Object>) reader.value(1);
      reader.skipWhitespace();
      if (reader.pos != text.length()) {
        return new Malformed("there is more after the JSON object (at character " + reader.pos + ")");
      }
      return new Parsed(members);
    } catch (SyntaxError e) {
      return new Malformed(e.getMessage());
    }
  }

  /**
   * Appends {@code text} to {@code sb} as a JSON string that any reader takes, whatever it holds: made
   * well-formed first ({@link SafeText#wellFormed}: a lone surrogate becomes U+FFFD, so the JSON is valid
   * UTF-8), with every control character, DEL and U+2028/U+2029 escaped.
   */
  public static void appendString(StringBuilder sb, String text) {
    String s = SafeText.wellFormed(text);
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

  /** What a value is, in words, for a detail: never its content. */
  public static String describe(Object value) {
    if (value == null) {
      return "nothing";
    } else if (value == NULL) {
      return "null";
    } else if (value instanceof String) {
      return "a string";
    } else if (value instanceof Boolean) {
      return "a boolean";
    } else if (value instanceof Num) {
      return "a number";
    } else if (value instanceof List) {
      return "an array";
    } else {
      return "an object";
    }
  }

  private Object value(int depth) throws SyntaxError {
    skipWhitespace();
    if (pos >= text.length()) {
      throw new SyntaxError("the JSON ends early");
    }
    char c = text.charAt(pos);
    return switch (c) {
      case '{' -> object(depth);
      case '[' -> array(depth);
      case '"' -> string();
      case 't' -> literal("true", Boolean.TRUE);
      case 'f' -> literal("false", Boolean.FALSE);
      case 'n' -> literal("null", NULL);
      default -> {
        if (c == '-' || (c >= '0' && c <= '9')) {
          yield number();
        }
        throw new SyntaxError("unexpected " + character(c) + " at character " + pos);
      }
    };
  }

  private Map<String, Object> object(int depth) throws SyntaxError {
    checkDepth(depth);
    pos++; // '{'
    Map<String, Object> members = new LinkedHashMap<>();
    skipWhitespace();
    if (peek() == '}') {
      pos++;
      return members;
    }
    while (true) {
      skipWhitespace();
      if (peek() != '"') {
        throw new SyntaxError("a member name (a string) is expected at character " + pos);
      }
      String name = string();
      skipWhitespace();
      expect(':');
      Object value = value(depth + 1);
      if (members.putIfAbsent(name, value) != null) {
        throw new SyntaxError("the member '" + name + "' appears twice");
      }
      skipWhitespace();
      char c = peek();
      pos++;
      if (c == '}') {
        return members;
      }
      if (c != ',') {
        throw new SyntaxError("',' or '}' is expected at character " + (pos - 1));
      }
    }
  }

  private List<Object> array(int depth) throws SyntaxError {
    checkDepth(depth);
    pos++; // '['
    List<Object> items = new ArrayList<>();
    skipWhitespace();
    if (peek() == ']') {
      pos++;
      return items;
    }
    while (true) {
      items.add(value(depth + 1));
      skipWhitespace();
      char c = peek();
      pos++;
      if (c == ']') {
        return items;
      }
      if (c != ',') {
        throw new SyntaxError("',' or ']' is expected at character " + (pos - 1));
      }
    }
  }

  private String string() throws SyntaxError {
    pos++; // '"'
    StringBuilder sb = null;
    int start = pos;
    while (true) {
      if (pos >= text.length()) {
        throw new SyntaxError("a string is not closed");
      }
      char c = text.charAt(pos);
      if (c == '"') {
        String s = sb == null ? text.substring(start, pos) : sb.append(text, start, pos).toString();
        pos++;
        return s;
      }
      if (c < 0x20) {
        throw new SyntaxError("a string holds the control character U+" + String.format("%04X", (int) c)
            + " unescaped");
      }
      if (c == '\\') {
        if (sb == null) {
          sb = new StringBuilder();
        }
        sb.append(text, start, pos);
        pos++;
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
          default -> throw new SyntaxError("a string holds the unknown escape \\" + character(e));
        }
        start = pos;
      } else {
        pos++;
      }
    }
  }

  private char hex4() throws SyntaxError {
    if (pos + 4 > text.length()) {
      throw new SyntaxError("a \\u escape is cut short");
    }
    int value = 0;
    for (int i = 0; i < 4; i++) {
      int digit = Character.digit(text.charAt(pos + i), 16);
      if (digit < 0 || text.charAt(pos + i) > 'f') {
        throw new SyntaxError("a \\u escape has a character that is not hexadecimal");
      }
      value = value * 16 + digit;
    }
    pos += 4;
    return (char) value;
  }

  private Num number() throws SyntaxError {
    int start = pos;
    if (peek() == '-') {
      pos++;
    }
    if (peek() == '0') {
      pos++;
    } else if (isDigit(peek())) {
      digits();
    } else {
      throw new SyntaxError("a number has no digits at character " + start);
    }
    if (peek() == '.') {
      pos++;
      if (!isDigit(peek())) {
        throw new SyntaxError("a number has no digits after its '.' at character " + pos);
      }
      digits();
    }
    if (peek() == 'e' || peek() == 'E') {
      pos++;
      if (peek() == '+' || peek() == '-') {
        pos++;
      }
      if (!isDigit(peek())) {
        throw new SyntaxError("a number has no digits in its exponent at character " + pos);
      }
      digits();
    }
    return new Num(text.substring(start, pos));
  }

  private void digits() {
    while (isDigit(peek())) {
      pos++;
    }
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private Object literal(String word, Object value) throws SyntaxError {
    if (!text.startsWith(word, pos)) {
      throw new SyntaxError("unexpected " + character(text.charAt(pos)) + " at character " + pos);
    }
    pos += word.length();
    return value;
  }

  private void checkDepth(int depth) throws SyntaxError {
    if (depth > MAX_DEPTH) {
      throw new SyntaxError("arrays and objects are nested deeper than " + MAX_DEPTH + " levels");
    }
  }

  private void expect(char c) throws SyntaxError {
    if (peek() != c) {
      throw new SyntaxError("'" + c + "' is expected at character " + pos);
    }
    pos++;
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

  private static String character(char c) {
    return c >= 0x21 && c < 0x7f ? "'" + c + "'" : String.format("U+%04X", (int) c);
  }

  /** Leaves the recursive descent at the first error; never escapes {@link #parseObject}. */
  private static final class SyntaxError extends Exception {
    SyntaxError(String message) {
      super(message, null, false, false);
    }
  }
}
