package org.danemsg.protocol.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.danemsg.protocol.DnsName;
import org.junit.jupiter.api.Test;

class ZoneAllowlistTest {

  private final ZoneAllowlist fleet = ZoneAllowlist.of(DnsName.parse("_device.example.com"));

  @Test
  void allowsTheZoneItselfAndNamesBelowIt() {
    assertTrue(fleet.allows(DnsName.parse("_device.example.com")));
    assertTrue(fleet.allows(DnsName.parse("alice._device.EXAMPLE.com")));
    assertTrue(fleet.allows(DnsName.parse("a.b._device.example.com")));
  }

  @Test
  void refusesANameThatOnlyEndsWithTheSameLetters() {
    assertFalse(ZoneAllowlist.of(DnsName.parse("device.example.com")).allows(DnsName.parse("alice.my-device.example.com")));
    assertFalse(fleet.allows(DnsName.parse("alice._device.badexample.com")));
    assertFalse(fleet.allows(DnsName.parse("example.com")));
  }

  @Test
  void allowsEveryNameWhenNoZoneIsListed() {
    assertTrue(ZoneAllowlist.ALL.allowsAll());
    assertTrue(ZoneAllowlist.ALL.allows(DnsName.parse("anything.example.org")));
  }

  @Test
  void namesTheFirstFiveZonesAndCountsTheRest() {
    List<DnsName> zones = new ArrayList<>();
    for (int i = 1; i <= 7; i++) {
      zones.add(DnsName.parse("_device.zone" + i + ".example"));
    }
    assertEquals("_device.zone1.example, _device.zone2.example, _device.zone3.example, _device.zone4.example,"
        + " _device.zone5.example and 2 more", new ZoneAllowlist(zones).toString());
  }
}
