package org.danemsg.protocol.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrustAnchorsTest {

  @TempDir Path folder;

  @Test
  void shipsBothIanaRootKeysByDefault() {
    TrustAnchors root = TrustAnchors.ianaRoot();

    assertEquals(List.of("."), root.zones());
    assertEquals(2, root.lines().size());
    assertTrue(root.lines().stream().anyMatch(l -> l.contains("20326 8 2")), root.lines().toString());
    assertTrue(root.lines().stream().anyMatch(l -> l.contains("38696 8 2")), root.lines().toString());
  }

  @Test
  void readsADsRecordFile() throws IOException {
    Path file = Files.writeString(folder.resolve("ds.txt"),
        "example.test. DS 24640 13 2 00523ACABE7BF309BE64BAE4581672A436972A4DD0B3035E2113540A22F48E48\n");

    TrustAnchors anchors = TrustAnchors.fromFile(file);

    assertEquals(List.of("example.test."), anchors.zones());
    assertTrue(anchors.source().contains(file.toString()));
  }

  @Test
  void readsADnskeyRecordFileAndIgnoresOtherRecords() throws IOException {
    Path file = Files.writeString(folder.resolve("dnskey.txt"), String.join("\n",
        "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 1 60 60 3600 60",
        "example.test. 60 IN DNSKEY 257 3 13 8B/rj4GTwg9Lqc5pBKX3z6TNWDa9LcBaUnevq+cfSHyHDDbfHAojLTzYMYxY/qsvi27YpM2g7luBGG/zErnmgA==",
        ""));

    assertEquals(1, TrustAnchors.fromFile(file).lines().size());
  }

  @Test
  void namesTheFileThatDoesNotParse() throws IOException {
    Path file = Files.writeString(folder.resolve("broken.txt"), "example.test. IN DS not-a-number 13 2 ABCD\n");

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrustAnchors.fromFile(file));

    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
  }

  @Test
  void namesTheFileWithoutAnyAnchor() throws IOException {
    Path file = Files.writeString(folder.resolve("empty.txt"), "; nothing here\n");

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrustAnchors.fromFile(file));

    assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("no DS or DNSKEY"), e.getMessage());
  }

  @Test
  void namesAMissingFile() {
    Path missing = folder.resolve("absent.txt");

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrustAnchors.fromFile(missing));

    assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("does not exist"), e.getMessage());
  }
}
