package org.danemsg.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ServerTemplatesTest {

  @Test
  void knotConfigurationNamesThePortTheFolderTheKeyAndBothZones() {
    String conf = ServerTemplates.knotConf(5353, Path.of("/tmp/k"), "update-key", "c2VjcmV0", "example.test",
        "unsigned.test", "info");
    assertTrue(conf.contains("listen: 127.0.0.1@5353\n"), conf);
    assertTrue(conf.contains("storage: \"/tmp/k/storage\""), conf);
    assertTrue(conf.contains("  - id: update-key\n    algorithm: hmac-sha256\n    secret: c2VjcmV0\n"), conf);
    assertTrue(conf.contains("  - domain: example.test\n    file: \"/tmp/k/example.test.zone\"\n"
        + "    dnssec-signing: on\n"), conf);
    assertTrue(conf.contains("  - domain: unsigned.test\n    file: \"/tmp/k/unsigned.test.zone\"\n    acl: update\n"),
        conf);
    assertFalse(conf.lines().filter(l -> !l.startsWith("#")).anyMatch(l -> l.matches(".*@[A-Z_]+@.*")), conf);
  }

  @Test
  void zoneFileHasItsOriginAndTtl() {
    assertTrue(ServerTemplates.zoneFile("demo.test", 60).startsWith("$ORIGIN demo.test.\n$TTL 60\n"));
  }

  @Test
  void mosquittoConfigurationTakesTheAccessLinesAsGiven() {
    String conf = ServerTemplates.mosquittoConf(1883, Path.of("/tmp/m"), "allow_anonymous false\nacl_file /a",
        false, 20, 1000);
    assertTrue(conf.contains("listener 1883 127.0.0.1\nallow_anonymous false\nacl_file /a\npersistence false\n"
        + "persistence_location /tmp/m/\n"), conf);
    assertTrue(conf.contains("max_queued_messages 1000\n"), conf);
  }

  @Test
  void aPlaceholderLeftUnfilledIsAnError() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> ServerTemplates.fill("zone", Map.of("ZONE", "x.test")));
    assertEquals("template zone: @TTL@ was not filled in", e.getMessage());
  }
}
