package org.danemsg.protocol;

/**
 * Makes strings that came from the outside (a message, a DNS answer, a parser's complaint about
 * either) safe to put in a file, a log line or a terminal. The one place that does so: every writer
 * of the node and the tools goes through it, so no attacker-chosen character reaches an output
 * unescaped whichever path it took.
 *
 * <ul>
 *   <li>{@link #wellFormed}: valid Unicode only (a lone UTF-16 surrogate, which has no UTF-8 form,
 *       becomes U+FFFD), for text stored as it is, such as a message's text in a JSON record;
 *   <li>{@link #line}: additionally one line that cannot rewrite a terminal: C0 and C1 controls,
 *       DEL, ESC, line and paragraph separators, bidi embeddings, overrides and isolates, the BOM and
 *       other invisible format characters are escaped as {@code \xNN} / {@code \\uNNNN}, and the
 *       backslash as {@code \\};
 *   <li>{@link #detail}: {@link #line}, cut to {@value #DETAIL_LIMIT} characters, for reasons and
 *       names quoted in log lines and records.
 * </ul>
 */
public final class SafeText {

  /** The longest detail kept, in characters, before the marker of what was cut. */
  public static final int DETAIL_LIMIT = 300;

  private SafeText() {}

  /**
   * The string with every lone surrogate replaced by U+FFFD, so it encodes to valid UTF-8.
   *
   * @param text any string, or {@code null}
   * @return the same string when it was well-formed (no copy), {@code null} for {@code null}
   */
  public static String wellFormed(String text) {
    if (text == null) {
      return null;
    }
    int bad = firstLoneSurrogate(text);
    if (bad < 0) {
      return text;
    }
    StringBuilder sb = new StringBuilder(text.length()).append(text, 0, bad);
    for (int i = bad; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
        sb.append(c).append(text.charAt(++i));
      } else if (Character.isSurrogate(c)) {
        sb.append('\uFFFD');
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  /**
   * The string as one safe line: well-formed, with controls, separators, bidi and invisible format
   * characters escaped and backslashes doubled. Printable text, including non-Latin scripts and
   * emoji, stays as it is.
   *
   * @param text any string, or {@code null} (gives {@code "null"})
   */
  public static String line(String text) {
    if (text == null) {
      return "null";
    }
    StringBuilder sb = new StringBuilder(text.length() + 16);
    appendLine(sb, text, Integer.MAX_VALUE);
    return sb.toString();
  }

  /**
   * {@link #line} cut to {@value #DETAIL_LIMIT} characters: for details that quote outside input.
   *
   * @param text any string, or {@code null} (gives {@code "null"})
   */
  public static String detail(String text) {
    return cut(text, DETAIL_LIMIT);
  }

  /**
   * {@link #line} cut to about {@code limit} characters of output; what was cut is named, e.g.
   * {@code …(+99700 chars)}.
   */
  public static String cut(String text, int limit) {
    if (text == null) {
      return "null";
    }
    StringBuilder sb = new StringBuilder(Math.min(text.length(), limit) + 24);
    int consumed = appendLine(sb, text, limit);
    if (consumed < text.length()) {
      sb.append("…(+").append(text.length() - consumed).append(" chars)");
    }
    return sb.toString();
  }

  /**
   * Whether the string is already safe as one line: well-formed, and no character {@link #line}
   * escapes other than the backslash (so an escaped string, such as a {@link Rejection}'s detail,
   * counts as safe).
   */
  public static boolean isSafeLine(String text) {
    if (text == null || firstLoneSurrogate(text) >= 0) {
      return false;
    }
    return text.codePoints().noneMatch(cp -> cp == '\n' || cp == '\r' || cp == '\t' || mustEscape(cp));
  }

  /** Appends the escaped form of {@code text} until {@code limit} output chars; returns chars consumed. */
  private static int appendLine(StringBuilder sb, String text, int limit) {
    int start = sb.length();
    int i = 0;
    while (i < text.length() && sb.length() - start < limit) {
      char c = text.charAt(i);
      int cp;
      int width;
      if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
        cp = Character.toCodePoint(c, text.charAt(i + 1));
        width = 2;
      } else {
        cp = c;
        width = 1;
      }
      if (Character.isSurrogate(c) && width == 1) {
        sb.append("\\u").append(String.format("%04x", (int) c)); // a lone surrogate, shown, not kept
      } else {
        switch (cp) {
          case '\\' -> sb.append("\\\\");
          case '\n' -> sb.append("\\n");
          case '\r' -> sb.append("\\r");
          case '\t' -> sb.append("\\t");
          default -> {
            if (mustEscape(cp)) {
              sb.append(cp <= 0xff ? String.format("\\x%02x", cp)
                  : cp <= 0xffff ? String.format("\\u%04x", cp) : String.format("\\U%08x", cp));
            } else {
              sb.appendCodePoint(cp);
            }
          }
        }
      }
      i += width;
    }
    return i;
  }

  private static boolean mustEscape(int cp) {
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
      return true; // C0 (with ESC), DEL, C1 (with CSI 0x9b)
    }
    if (cp == 0x200d) {
      return false; // the zero-width joiner holds emoji sequences together; it cannot move text
    }
    int type = Character.getType(cp);
    // Cf: bidi embeddings/overrides/isolates (U+202A-202E, U+2066-2069), marks (U+200E/F, U+061C),
    // zero-width characters, the BOM, tag characters. Zl/Zp: U+2028/2029. Cn, Co: unassigned, private.
    return type == Character.FORMAT || type == Character.LINE_SEPARATOR
        || type == Character.PARAGRAPH_SEPARATOR || type == Character.UNASSIGNED
        || type == Character.PRIVATE_USE || type == Character.SURROGATE;
  }

  private static int firstLoneSurrogate(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return i;
      }
    }
    return -1;
  }
}
