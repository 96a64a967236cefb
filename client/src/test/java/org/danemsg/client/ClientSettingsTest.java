package org.danemsg.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.HashMap;
import java.util.Map;
import org.danemsg.protocol.DnsName;
import org.junit.jupiter.api.Test;

/** The settings a sender reads from the client's reference.conf alone (no node on the class path). */
class ClientSettingsTest {

  private static Config config(Map<String, Object> values) {
    Map<String, Object> all = new HashMap<>(Map.of("danemsg.identity-name", "alice._device.example.test",
        "danemsg.dns.server", "127.0.0.1:53"));
    all.putAll(values);
    return ConfigFactory.parseMap(all).withFallback(ConfigFactory.defaultReference()).resolve();
  }

  @Test
  void readsTheSharedDefaultsWithoutTheNodesSettings() {
    ClientSettings settings = ClientSettings.from(config(Map.of()));

    assertEquals(DnsName.parse("alice._device.example.test"), settings.identityName());
    assertEquals(65536, settings.maxMessageSize());
    assertEquals("tcp://127.0.0.1:1883", settings.mqtt().uri());
    assertEquals(java.util.Set.of(), settings.dns().allowedZones());
  }

  @Test
  void aBadSettingIsNamedWithItsEnvironmentVariable() {
    SettingsException e = assertThrows(SettingsException.class,
        () -> ClientSettings.from(config(Map.of("danemsg.mqtt.port", "70000"))));

    assertEquals("setting danemsg.mqtt.port (MQTT_PORT) must be between 1 and 65535, got 70000", e.getMessage());
  }

  @Test
  void aMissingIdentityNameSaysWhatToGive() {
    SettingsException e = assertThrows(SettingsException.class,
        () -> ClientSettings.from(config(Map.of("danemsg.identity-name", ""))));

    assertTrue(e.getMessage().startsWith("setting danemsg.identity-name (IDENTITY_NAME) is not set"), e.getMessage());
  }
}
