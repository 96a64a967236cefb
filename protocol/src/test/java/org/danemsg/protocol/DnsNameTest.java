package org.danemsg.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DnsNameTest {

  @Test
  void acceptsDeviceNamesWithUnderscoreLabels() {
    DnsName name = DnsName.parse("alice._device.example.test");
    assertEquals("alice._device.example.test", name.toString());
    assertEquals("alice._device.example.test.", name.absolute());
  }

  @Test
  void dropsTrailingDotAndComparesCaseInsensitively() {
    DnsName a = DnsName.parse("Alice._Device.Example.Test.");
    DnsName b = DnsName.parse("alice._device.example.test");
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertEquals("Alice._Device.Example.Test", a.toString());
  }

  @Test
  void knowsItsZone() {
    DnsName name = DnsName.parse("alice._device.example.test");
    assertTrue(name.isWithin(DnsName.parse("example.test")));
    assertFalse(name.isWithin(DnsName.parse("ample.test")));
    assertEquals(DnsName.parse("_device.example.test"), name.parent());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", ".", "a..b", ".a.b", "-a.b", "a-.b", "a b.c", "a_b.c", "__x.y", "é.test",
      "a.b\n", "a/b.c", "_.x"})
  void rejectsMalformedNamesWithAReason(String text) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DnsName.parse(text));
    assertTrue(e.getMessage().startsWith("invalid DNS name"), e.getMessage());
    assertTrue(e.getMessage().contains(": "), e.getMessage());
  }

  @Test
  void rejectsNullWithAReason() {
    assertThrows(IllegalArgumentException.class, () -> DnsName.parse(null));
  }

  @Test
  void enforcesLabelAndNameLengths() {
    String label63 = "a".repeat(63);
    DnsName.parse(label63 + ".test");
    IllegalArgumentException label = assertThrows(IllegalArgumentException.class,
        () -> DnsName.parse("a".repeat(64) + ".test"));
    assertTrue(label.getMessage().contains("64 characters"), label.getMessage());
    String name253 = String.join(".", label63, label63, label63, "a".repeat(61));
    assertEquals(253, name253.length());
    DnsName.parse(name253);
    DnsName.parse(name253 + ".");
    IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class,
        () -> DnsName.parse(name253 + "a"));
    assertTrue(tooLong.getMessage().contains("254 characters"), tooLong.getMessage());
  }

  @Test
  void readsEveryAcceptedDnsUriForm() {
    DnsName alice = DnsName.parse("alice._device.example.test");
    assertEquals(alice, DnsUri.nameOf("dns:alice._device.example.test?type=TLSA"));
    assertEquals(alice, DnsUri.nameOf("dns://alice._device.example.test?type=TLSA"));
    assertEquals(alice, DnsUri.nameOf("dns://8.8.8.8/alice._device.example.test?type=TLSA"));
    assertEquals("dns://alice._device.example.test?type=TLSA", DnsUri.of(alice));
  }

  @ParameterizedTest
  @ValueSource(strings = {"https://alice.example/?type=TLSA", "dns://alice.example", "dns://alice.example?type=A",
      "dns://?type=TLSA", "dns:a..b?type=TLSA", ""})
  void rejectsOtherUris(String uri) {
    assertThrows(IllegalArgumentException.class, () -> DnsUri.nameOf(uri));
  }

  @Test
  void differentNamesDiffer() {
    assertNotEquals(DnsName.parse("a.test"), DnsName.parse("b.test"));
  }

  @Test
  void acceptsAndRefusesLabelsExactlyAsTheLabelPatternsDid() {
    // Labels were checked with these two patterns before; the hand-written check must agree.
    java.util.regex.Pattern ldh = java.util.regex.Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?");
    java.util.regex.Pattern underscore = java.util.regex.Pattern.compile("_[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?");
    java.util.Random random = new java.util.Random(0x1abe1);
    String alphabet = "aZ09-_!~";
    for (int i = 0; i < 50_000; i++) {
      StringBuilder label = new StringBuilder();
      for (int n = 1 + random.nextInt(6); n > 0; n--) {
        label.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      boolean byPatterns = ldh.matcher(label).matches() || underscore.matcher(label).matches();
      assertEquals(byPatterns, DnsName.problemWith(label + ".example.test") == null, () -> "label '" + label + "'");
    }
  }
}
