package org.danemsg.protocol.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TsigKeyTest {

  private static final String SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=";

  @TempDir Path folder;

  @Test
  void parsesTheAlgorithmNameSecretString() {
    TsigKey key = TsigKey.parse("hmac-sha256:update-key:" + SECRET);

    assertEquals("update-key", key.name());
    assertEquals("hmac-sha256", key.algorithm());
    assertEquals("hmac-sha256:update-key:" + SECRET, key.toSpec());
  }

  @Test
  void readsABindKeyFile() throws IOException {
    Path file = Files.writeString(folder.resolve("update.key"),
        "key \"update-key\" {\n\talgorithm hmac-sha512;\n\tsecret \"" + SECRET + "\";\n};\n");

    TsigKey key = TsigKey.fromFile(file);

    assertEquals("update-key", key.name());
    assertEquals("hmac-sha512", key.algorithm());
  }

  @Test
  void readsBackTheKeyFileItWrites() throws IOException {
    TsigKey key = TsigKey.parse("hmac-sha256:update-key:" + SECRET);
    Path file = Files.writeString(folder.resolve("update.key"), key.toKeyFile());

    assertEquals(key, TsigKey.fromFile(file));
  }

  @Test
  void neverPrintsTheSecret() {
    TsigKey key = TsigKey.parse("hmac-sha256:update-key:" + SECRET);

    assertFalse(key.toString().contains(SECRET));
  }

  @Test
  void rejectsAStringWithoutThreeParts() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TsigKey.parse("update-key:" + SECRET));

    assertTrue(e.getMessage().contains("expected 3"), e.getMessage());
    assertFalse(e.getMessage().contains(SECRET));
  }

  @Test
  void rejectsAnUnknownAlgorithm() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TsigKey.parse("hmac-sha3:update-key:" + SECRET));

    assertTrue(e.getMessage().contains("unknown TSIG algorithm 'hmac-sha3'"), e.getMessage());
  }

  @Test
  void rejectsHmacMd5() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TsigKey.parse("hmac-md5:update-key:" + SECRET));

    assertTrue(e.getMessage().contains("hmac-md5 is not accepted"), e.getMessage());
  }

  @Test
  void rejectsASecretThatIsNotBase64() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TsigKey.parse("hmac-sha256:update-key:not*base64"));

    assertTrue(e.getMessage().contains("not valid base64"), e.getMessage());
  }

  @Test
  void namesTheKeyFileWithoutASecret() throws IOException {
    Path file = Files.writeString(folder.resolve("nosecret.key"), "key \"update-key\" { algorithm hmac-sha256; };\n");

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TsigKey.fromFile(file));

    assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("secret"), e.getMessage());
  }

  @Test
  void rejectsAKeyFileWithTwoKeys() throws IOException {
    String one = "key \"a\" { algorithm hmac-sha256; secret \"" + SECRET + "\"; };\n";
    Path file = Files.writeString(folder.resolve("two.key"), one + one.replace("\"a\"", "\"b\""));

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TsigKey.fromFile(file));

    assertTrue(e.getMessage().contains("more than one key"), e.getMessage());
  }

  @Test
  void namesAMissingKeyFile() {
    Path missing = folder.resolve("absent.key");

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TsigKey.fromFile(missing));

    assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("does not exist"), e.getMessage());
  }
}
