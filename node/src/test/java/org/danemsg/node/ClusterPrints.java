package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the members of one identity printed, checked for exactly once across them: every message sent is
 * in exactly one member's inbox, and no {@code says:} line is on the members' stdout twice.
 *
 * @param printedBy the member (its index) that printed each text
 * @param perMember inbox rows per member
 * @param stdoutLines {@code says:} lines on all the members' stdout
 */
record ClusterPrints(Map<String, Integer> printedBy, List<Integer> perMember, long stdoutLines) {

  /** Asserts that each of {@code sent} (message texts) was printed once across {@code members} and {@code nodes}. */
  static ClusterPrints exactlyOnce(List<TestDevice> members, List<NodeProcess> nodes, Set<String> sent) {
    Map<String, Integer> printedBy = new HashMap<>();
    List<Integer> perMember = new ArrayList<>();
    int duplicates = 0;
    for (int m = 0; m < members.size(); m++) {
      List<Map<String, Object>> inbox = members.get(m).inbox();
      perMember.add(inbox.size());
      for (Map<String, Object> row : inbox) {
        if (printedBy.put((String) row.get("text"), m) != null) {
          duplicates++;
        }
      }
    }
    assertEquals(0, duplicates, "messages printed more than once across the members");
    Set<String> lost = new HashSet<>(sent);
    lost.removeAll(printedBy.keySet());
    assertEquals(Set.of(), lost, "messages lost");
    assertEquals(sent.size(), printedBy.size(), "texts printed that were not sent");
    long stdoutLines = 0;
    Set<String> lines = new HashSet<>();
    for (NodeProcess node : nodes) {
      for (String line : node.stdout().lines().filter(l -> l.contains(" says: ")).toList()) {
        stdoutLines++;
        assertTrue(lines.add(line), "printed twice on stdout: " + line);
      }
    }
    return new ClusterPrints(printedBy, perMember, stdoutLines);
  }
}
