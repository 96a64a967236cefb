package org.danemsg.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LegacyPeersTest {

  private static DnsName name(String text) {
    return DnsName.parse(text);
  }

  @Test
  void noneAllowsNobody() {
    assertFalse(LegacyPeers.none().allows(name("alice._device.example.com")));
    assertTrue(LegacyPeers.none().isEmpty());
  }

  @Test
  void aNameAllowsExactlyThatNameInAnyCase() {
    LegacyPeers peers = LegacyPeers.of(List.of("Alice._device.example.com"));
    assertTrue(peers.allows(name("alice._device.EXAMPLE.com")));
    assertFalse(peers.allows(name("bob._device.example.com")));
    assertFalse(peers.allows(name("x.alice._device.example.com")));
  }

  @Test
  void aWildcardStandsForExactlyOneLabel() {
    LegacyPeers peers = LegacyPeers.of(List.of("*._device.example.com"));
    assertTrue(peers.allows(name("alice._device.example.com")));
    assertFalse(peers.allows(name("_device.example.com")));
    assertFalse(peers.allows(name("a.b._device.example.com")));
    assertFalse(peers.allows(name("alice._device.example.org")));
  }

  @Test
  void aSettingListsEntriesSeparatedByCommasOrSpaces() {
    LegacyPeers peers = LegacyPeers.parse(" alice._device.example.com,*._old.example.com  bob.example.com ");
    assertEquals(List.of("alice._device.example.com", "*._old.example.com", "bob.example.com"), peers.entries());
    assertTrue(peers.allows(name("bob.example.com")));
    assertTrue(peers.allows(name("carol._old.example.com")));
  }

  @Test
  void aBlankSettingIsNone() {
    assertEquals(LegacyPeers.none(), LegacyPeers.parse("  "));
    assertEquals(LegacyPeers.none(), LegacyPeers.parse(null));
  }

  @ParameterizedTest
  @ValueSource(strings = {"*", "a.*.example.com", "*alice.example.com", "**.example.com", "*.*.example.com",
      "alice..example.com", "alice example", "*.", "al\u202eice.example.com"})
  void refusesAnEntryThatIsNeitherANameNorAOneLabelWildcard(String entry) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LegacyPeers.of(List.of(entry)));
    assertTrue(e.getMessage().startsWith("legacy peer '"), e.getMessage());
    assertTrue(SafeText.isSafeLine(e.getMessage()), e.getMessage());
  }
}
