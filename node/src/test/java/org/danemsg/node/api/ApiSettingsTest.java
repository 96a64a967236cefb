package org.danemsg.node.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.danemsg.client.SettingsException;
import org.danemsg.node.NodeSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code danemsg.api}: where the API may listen, and the token file. */
class ApiSettingsTest {

  private static ApiSettings api(Map<String, Object> values) {
    return NodeSettings.from(config(values)).api();
  }

  private static Config config(Map<String, Object> values) {
    Map<String, Object> all = new HashMap<>();
    all.put("danemsg.identity-name", "alice._device.example.test");
    all.put("danemsg.dns.server", "127.0.0.1:5353");
    all.putAll(values);
    return ConfigFactory.parseMap(all).withFallback(ConfigFactory.defaultReference()).resolve();
  }

  private static String problem(Map<String, Object> values) {
    SettingsException e = assertThrows(SettingsException.class, () -> NodeSettings.from(config(values)));
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    return e.getMessage();
  }

  @Test
  void listensOnLoopbackPort8710ByDefault() {
    ApiSettings api = api(Map.of());
    assertEquals("127.0.0.1:8710", api.listen().toString());
    assertTrue(api.listen().loopback());
    assertNull(api.tls());
  }

  @Test
  void offTurnsItOff() {
    assertFalse(api(Map.of("danemsg.api.listen", "off")).enabled());
    assertFalse(api(Map.of("danemsg.api.listen", "OFF")).enabled());
  }

  @Test
  void loopbackFormsAreAccepted() {
    assertTrue(api(Map.of("danemsg.api.listen", "[::1]:9000")).listen().loopback());
    assertTrue(api(Map.of("danemsg.api.listen", "localhost:0")).listen().loopback());
    assertEquals(0, api(Map.of("danemsg.api.listen", "127.0.0.2:0")).listen().port());
  }

  @Test
  void aNonLoopbackAddressIsRefusedUnlessAllowed() {
    String message = problem(Map.of("danemsg.api.listen", "0.0.0.0:8710"));
    assertTrue(message.startsWith("setting danemsg.api.listen (API_LISTEN) is 0.0.0.0:8710, which is not a loopback"
        + " address"), message);
    assertTrue(message.contains("API_ALLOW_REMOTE=true"), message);
    ApiSettings allowed = api(Map.of("danemsg.api.listen", "0.0.0.0:8710", "danemsg.api.allow-remote", true));
    assertFalse(allowed.listen().loopback());
  }

  @Test
  void badAddressesNameTheSetting() {
    for (String bad : new String[] {"8710", "127.0.0.1", "127.0.0.1:70000", "127.0.0.1:-1", "::1:8710", "[::1]8710",
        ":8710", "no-such-host.invalid:8710", "127.0.0.1:87a0"}) {
      assertTrue(problem(Map.of("danemsg.api.listen", bad)).startsWith("setting danemsg.api.listen (API_LISTEN)"), bad);
    }
    assertTrue(problem(Map.of("danemsg.api.max-wait", "1h")).startsWith("setting danemsg.api.max-wait"));
    assertTrue(problem(Map.of("danemsg.api.tls.key-store", "/nonexistent.p12"))
        .startsWith("setting danemsg.api.tls.key-store (API_TLS_KEY_STORE)"));
    assertTrue(problem(Map.of("danemsg.api.mqtt-password-file", "/etc/hostname"))
        .contains("API_MQTT_USERNAME"));
  }

  @Test
  void theTokenIsMadeOnceOwnerOnlyAndComparedWhole(@TempDir Path data) throws Exception {
    ApiToken token = ApiToken.loadOrCreate(data);
    Path file = data.resolve(ApiToken.FILE);
    String text = Files.readString(file).strip();
    assertTrue(text.matches("[A-Za-z0-9_-]{43}"), text);
    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertTrue(token.matches(text));
    assertFalse(token.matches(text.substring(1)));
    assertFalse(token.matches(text + "x"));
    assertFalse(token.matches(null));
    assertTrue(ApiToken.loadOrCreate(data).matches(text), "kept, not made again");
    Files.writeString(file, "short\n");
    assertThrows(java.io.IOException.class, () -> ApiToken.loadOrCreate(data));
  }

  @Test
  void passwordsNeverShowInToString() {
    ApiSettings api = new ApiSettings(new ApiSettings.Listen("127.0.0.1", 1, true), false,
        new ApiSettings.Tls(Path.of("k.p12"), "secret-1"), 1024, java.time.Duration.ofSeconds(1), 1, 1,
        java.time.Duration.ofSeconds(1), "user", "secret-2");
    assertFalse(api.toString().contains("secret"), api.toString());
  }
}
