package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.danemsg.client.SettingsException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The node's MQTT client id: random, made once, kept in DATA_PATH. */
class MqttClientIdTest {

  @TempDir Path first;
  @TempDir Path second;

  @Test
  void twoStartsOnTheSameDataPathUseTheSameId() {
    String id = MqttClientId.resolve("", first);
    assertEquals(id, MqttClientId.resolve("", first));
  }

  @Test
  void theIdIsRandomNotDerivedFromTheName() {
    // Two data folders of the same device name: the name is not an input at all.
    String a = MqttClientId.resolve("", first);
    String b = MqttClientId.resolve("", second);
    assertNotEquals(a, b);
    assertTrue(a.matches("danemsg-[a-z2-7]{26}"), a);
  }

  @Test
  void theFileIsReadableAndWritableByItsOwnerOnly() throws Exception {
    MqttClientId.resolve("", first);
    assertEquals("rw-------", PosixFilePermissions.toString(
        Files.getPosixFilePermissions(first.resolve(MqttClientId.FILE))));
  }

  @Test
  void noTempFileIsLeftBehind() throws Exception {
    MqttClientId.resolve("", first);
    try (var files = Files.list(first)) {
      assertEquals(java.util.List.of(first.resolve(MqttClientId.FILE)), files.toList());
    }
  }

  @Test
  void mqttClientIdOverridesTheKeptIdAndWritesNoFile() {
    assertEquals("my-device", MqttClientId.resolve("my-device", first));
    assertFalse(Files.exists(first.resolve(MqttClientId.FILE)));
  }

  @Test
  void aDamagedFileStopsTheStartWithWhatToDo() throws Exception {
    Files.writeString(first.resolve(MqttClientId.FILE), "\n");
    SettingsException e = assertThrows(SettingsException.class, () -> MqttClientId.resolve("", first));
    assertTrue(e.getMessage().contains("delete it to get a new one"), e.getMessage());
  }
}
