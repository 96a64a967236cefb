package org.danemsg.protocol;

import java.util.ArrayList;
import java.util.List;

/**
 * A JSON object written member by member from raw JSON value texts, so that a test can write what no
 * JSON library would: a member twice, {@code 1e309}, {@code "\ud800"}, a value nested 5000 deep.
 */
final class JsonText {

  /** One member: its name (unescaped) and its value as raw JSON text. */
  record Member(String name, String rawValue) {}

  private final List<Member> members = new ArrayList<>();

  /** A JSON string literal of {@code text}, escaping what JSON requires (and nothing else). */
  static String quote(String text) {
    StringBuilder sb = new StringBuilder(text.length() + 2).append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        default -> {
          if (c < 0x20 || Character.isSurrogate(c)) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }

  JsonText string(String name, String value) {
    return raw(name, quote(value));
  }

  JsonText number(String name, long value) {
    return raw(name, Long.toString(value));
  }

  /** Sets the member (replacing the first of that name, or appending). */
  JsonText raw(String name, String rawValue) {
    for (int i = 0; i < members.size(); i++) {
      if (members.get(i).name().equals(name)) {
        members.set(i, new Member(name, rawValue));
        return this;
      }
    }
    members.add(new Member(name, rawValue));
    return this;
  }

  /** Appends a member even when one of that name exists. */
  JsonText append(String name, String rawValue) {
    members.add(new Member(name, rawValue));
    return this;
  }

  JsonText remove(String name) {
    members.removeIf(m -> m.name().equals(name));
    return this;
  }

  List<Member> members() {
    return List.copyOf(members);
  }

  String rawValue(String name) {
    return members.stream().filter(m -> m.name().equals(name)).map(Member::rawValue).findFirst().orElse(null);
  }

  JsonText copy() {
    JsonText copy = new JsonText();
    copy.members.addAll(members);
    return copy;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("{");
    for (Member m : members) {
      if (sb.length() > 1) {
        sb.append(',');
      }
      sb.append(quote(m.name())).append(':').append(m.rawValue());
    }
    return sb.append('}').toString();
  }
}
