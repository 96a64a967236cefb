package org.danemsg.node.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The API's strict request reader and its response writer. */
class JsonFormsTest {

  @Test
  void readsAnObjectOfStrings() {
    RequestJson.Result r = RequestJson.parseObject(" {\"to\": \"a.b\", \"text\": \"x\\n\\u00e9\\ud83d\\ude00\\\"\"} ");
    Map<String, String> members = assertInstanceOf(RequestJson.Parsed.class, r).members();
    assertEquals(Map.of("to", "a.b", "text", "x\né\uD83D\uDE00\""), members);
  }

  @Test
  void refusesEverythingElseWithAReason() {
    Map<String, String> cases = new LinkedHashMap<>();
    cases.put("", "not a JSON object");
    cases.put("[]", "not a JSON object");
    cases.put("{\"a\": 1}", "member 'a' must be a string, got a number");
    cases.put("{\"a\": {}}", "an object");
    cases.put("{\"a\": null}", "null");
    cases.put("{\"a\": \"x\",}", "member name");
    cases.put("{\"a\": \"x\"} {}", "more after");
    cases.put("{\"a\": \"x\", \"a\": \"y\"}", "appears twice");
    cases.put("{\"a\": \"x\u0000\"}", "control character");
    cases.put("{\"a\": \"\\q\"}", "unknown escape");
    cases.put("{\"a\": \"\\u12", "cut short");
    cases.put("{\"a\": \"\\u12zz\"}", "not hexadecimal");
    cases.put("{\"a\": \"x", "not closed");
    cases.put("{\"" + "n".repeat(65) + "\": \"x\"}", "short ASCII word");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      RequestJson.Malformed m = assertInstanceOf(RequestJson.Malformed.class, RequestJson.parseObject(c.getKey()),
          c.getKey());
      assertTrue(m.problem().contains(c.getValue()), c.getKey() + " -> " + m.problem());
    }
  }

  @Test
  void writesValidJsonWhateverTheText() {
    Map<String, Object> value = new LinkedHashMap<>();
    value.put("text", "a\"b\\c\nd\u0001\u2028\uD800e");
    value.put("n", 42L);
    value.put("none", null);
    value.put("list", List.of(true, "x"));
    String json = ResponseJson.text(value);
    assertEquals("{\"text\":\"a\\\"b\\\\c\\nd\\u0001\\u2028\uFFFDe\",\"n\":42,\"none\":null,\"list\":[true,\"x\"]}", json);
    assertEquals(json, new String(json.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8));
  }
}
