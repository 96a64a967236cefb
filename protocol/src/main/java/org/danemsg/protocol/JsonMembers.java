package org.danemsg.protocol;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The members of one received JSON object (a JOSE header or a claims set), read by name with their
 * type checked explicitly: each problem becomes a {@link Refused} whose detail says which member is
 * wrong and how, in words, never quoting a Java type.
 */
final class JsonMembers {

  private final Map<String, Object> members;
  private final String what;
  private final DnsName sender;

  /**
   * @param what how a member is named in details, e.g. {@code "JWE header member"} or {@code "claim"}
   * @param sender the claimed sender, for the rejection, or {@code null}
   */
  JsonMembers(Map<String, Object> members, String what, DnsName sender) {
    this.members = members;
    this.what = what;
    this.sender = sender;
  }

  boolean has(String name) {
    return members.containsKey(name);
  }

  /** The raw value, {@code null} when missing ({@link StrictJson#NULL} for JSON null). */
  Object get(String name) {
    return members.get(name);
  }

  Set<String> names() {
    return members.keySet();
  }

  /** The member, which must be present and a string of well-formed Unicode. */
  String string(String name, Rejection.Reason reason) throws Refused {
    Object value = members.get(name);
    if (value == null) {
      throw new Refused(reason, what + " '" + name + "' is missing", sender);
    }
    if (!(value instanceof String text)) {
      throw new Refused(reason, what + " '" + name + "' must be a string, got " + StrictJson.describe(value),
          sender);
    }
    if (SafeText.wellFormed(text) != text) {
      throw new Refused(reason, what + " '" + name + "' holds a lone UTF-16 surrogate, which is not text",
          sender);
    }
    return text;
  }

  /** The member, which must be present and equal to {@code expected}. */
  void requireValue(String name, String expected, Rejection.Reason reason, String why) throws Refused {
    String value = string(name, reason);
    if (!value.equals(expected)) {
      throw new Refused(reason, what + " '" + name + "' must be \"" + expected + "\" (" + why + "), got '"
          + value + "'", sender);
    }
  }

  /**
   * The member, which must be present and a whole number written as one (no fraction, no exponent)
   * within {@code min..max}. Out-of-range literals are never converted, however long.
   */
  long integer(String name, long min, long max, String unit, Rejection.Reason reason) throws Refused {
    Object value = members.get(name);
    if (value == null) {
      throw new Refused(reason, what + " '" + name + "' is missing", sender);
    }
    if (!(value instanceof StrictJson.Num number)) {
      throw new Refused(reason, what + " '" + name + "' must be a whole number of " + unit + ", got "
          + StrictJson.describe(value), sender);
    }
    if (!number.isInteger()) {
      throw new Refused(reason, what + " '" + name + "' must be a whole number of " + unit
          + ", written without fraction or exponent", sender);
    }
    String literal = number.literal();
    String digits = literal.startsWith("-") ? literal.substring(1) : literal;
    long parsed = digits.length() > 18 ? Long.MAX_VALUE : Long.parseLong(digits);
    long signed = literal.startsWith("-") ? -parsed : parsed;
    if (digits.length() > 18 || signed < min || signed > max) {
      String shown = literal.length() <= 24 ? literal : "a number of " + digits.length() + " digits";
      throw new Refused(reason, what + " '" + name + "' is " + shown + ", outside " + min + ".." + max
          + " " + unit, sender);
    }
    return signed;
  }

  /** Refuses any member not in {@code allowed}; {@code shape} says what is expected, for the detail. */
  void onlyThese(Set<String> allowed, Rejection.Reason reason, String shape) throws Refused {
    for (String name : members.keySet()) {
      if (!allowed.contains(name)) {
        throw new Refused(reason, what + " '" + name + "' is not accepted (" + shape + ")", sender);
      }
    }
  }

  /** The first of {@code names} that is present, or {@code null}. */
  String firstPresent(List<String> names) {
    for (String name : names) {
      if (members.containsKey(name)) {
        return name;
      }
    }
    return null;
  }
}
