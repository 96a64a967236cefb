package org.danemsg.protocol;

import java.util.Locale;
import java.util.Objects;

/**
 * A validated, absolute DNS name such as {@code alice._device.example.test}.
 *
 * <p>Labels are letters, digits and hyphens (not at either end), or an underscore label such as
 * {@code _device} or {@code _443}. The whole name is at most 253 characters and each label at most 63.
 * A trailing dot is accepted and dropped. Names compare case-insensitively; {@link #toString()} keeps
 * the spelling it was given, because identity file names use it.
 */
public final class DnsName {

  private static final int MAX_NAME = 253;
  private static final int MAX_LABEL = 63;

  private final String name;
  private final String canonical;

  private DnsName(String name) {
    this.name = name;
    this.canonical = name.toLowerCase(Locale.ROOT);
  }

  /**
   * Parses and validates a DNS name.
   *
   * @throws IllegalArgumentException with the reason, when the text is not a usable DNS name
   */
  public static DnsName parse(String text) {
    String problem = problemWith(text);
    if (problem != null) {
      throw new IllegalArgumentException("invalid DNS name '" + printable(text) + "': " + problem);
    }
    String name = text.endsWith(".") ? text.substring(0, text.length() - 1) : text;
    return new DnsName(name);
  }

  /** The name, or {@code null} when {@code text} is not a valid DNS name ({@link #problemWith} says why). */
  static DnsName parseOrNull(String text) {
    return problemWith(text) == null ? new DnsName(text.endsWith(".") ? text.substring(0, text.length() - 1) : text)
        : null;
  }

  /** Returns why {@code text} is not a valid DNS name, or {@code null} when it is. */
  public static String problemWith(String text) {
    if (text == null || text.isEmpty() || text.equals(".")) {
      return "the name is empty";
    }
    String name = text.endsWith(".") ? text.substring(0, text.length() - 1) : text;
    if (name.length() > MAX_NAME) {
      return "it has " + name.length() + " characters, at most " + MAX_NAME + " are allowed";
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c > 0x7e || c < 0x21) {
        return "it contains the character " + describe(c)
            + " (only ASCII letters, digits, '-', '_' and '.' are allowed; write international names as xn--)";
      }
    }
    String[] labels = name.split("\\.", -1);
    for (String label : labels) {
      if (label.isEmpty()) {
        return "it has an empty label (two dots in a row, or a leading dot)";
      }
      if (label.length() > MAX_LABEL) {
        return "label '" + label + "' has " + label.length() + " characters, at most " + MAX_LABEL
            + " are allowed";
      }
      if (!isLdh(label, 0) && !(label.charAt(0) == '_' && isLdh(label, 1))) {
        return "label '" + label + "' must be letters, digits and hyphens (not at its start or end),"
            + " optionally after one leading underscore";
      }
    }
    return null;
  }

  /**
   * Whether {@code label} from {@code from} on is letters, digits and hyphens, not starting or ending
   * with a hyphen, at least one character: {@code [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?}. By hand,
   * not by regex: every received message has its names checked four times.
   */
  private static boolean isLdh(String label, int from) {
    int end = label.length() - 1;
    if (from > end || !isLetterOrDigit(label.charAt(from)) || !isLetterOrDigit(label.charAt(end))) {
      return false;
    }
    for (int i = from + 1; i < end; i++) {
      char c = label.charAt(i);
      if (!isLetterOrDigit(c) && c != '-') {
        return false;
      }
    }
    return true;
  }

  private static boolean isLetterOrDigit(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  }

  /** The name as given, without a trailing dot. */
  @Override
  public String toString() {
    return name;
  }

  /** The lower-case form used for comparisons and cache keys. */
  public String canonical() {
    return canonical;
  }

  /** The name with a trailing dot, as written in zone files. */
  public String absolute() {
    return name + ".";
  }

  /** Whether this name is {@code zone} or lies below it. */
  public boolean isWithin(DnsName zone) {
    return canonical.equals(zone.canonical) || canonical.endsWith("." + zone.canonical);
  }

  /** The name without its first label, or {@code null} for a single-label name. */
  public DnsName parent() {
    int dot = name.indexOf('.');
    return dot < 0 ? null : new DnsName(name.substring(dot + 1));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DnsName other && canonical.equals(other.canonical);
  }

  @Override
  public int hashCode() {
    return Objects.hash(canonical);
  }

  private static String describe(char c) {
    return c < 0x20 || c == 0x7f || c > 0x7e ? String.format("U+%04X", (int) c) : "'" + c + "'";
  }

  static String printable(String text) {
    if (text == null) {
      return "";
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < text.length() && sb.length() < 300; i++) {
      char c = text.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}
