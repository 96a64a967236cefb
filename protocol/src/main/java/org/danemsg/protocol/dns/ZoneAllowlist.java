package org.danemsg.protocol.dns;

import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;
import org.danemsg.protocol.DnsName;

/**
 * The zones whose names may be looked up, such as {@code _device.example.com}: a name is allowed when
 * it is one of them or lies below one. Empty allows every name.
 *
 * <p>Why: anyone can send a message claiming any sender name, and the name is looked up before the
 * signature can be checked. A node that only talks to its own fleet lists its fleet's zones, and
 * messages naming anything else are rejected without a DNS query (the DANCE architecture draft
 * recommends such a list).
 *
 * @param zones the allowed zones, in the order given (duplicates kept as given)
 */
public record ZoneAllowlist(List<DnsName> zones) {

  /** At most this many zones are named in a description; the rest are counted. */
  private static final int ZONES_SHOWN = 5;

  /** The list that allows every name. */
  public static final ZoneAllowlist ALL = new ZoneAllowlist(List.of());

  /** Copies the list. */
  public ZoneAllowlist {
    zones = List.copyOf(Objects.requireNonNull(zones, "zones"));
  }

  /** The list of these zones (none = every name allowed). */
  public static ZoneAllowlist of(DnsName... zones) {
    return new ZoneAllowlist(List.of(zones));
  }

  /** Whether every name is allowed (no zone listed). */
  public boolean allowsAll() {
    return zones.isEmpty();
  }

  /** Whether {@code name} is one of the zones or below one (always, when no zone is listed). */
  public boolean allows(DnsName name) {
    if (zones.isEmpty()) {
      return true;
    }
    for (DnsName zone : zones) {
      if (name.isWithin(zone)) {
        return true;
      }
    }
    return false;
  }

  /** The zones separated by commas (the first few, then how many more), or {@code any zone}. */
  @Override
  public String toString() {
    if (zones.isEmpty()) {
      return "any zone";
    }
    String shown = zones.stream().limit(ZONES_SHOWN).map(DnsName::toString).collect(Collectors.joining(", "));
    return zones.size() > ZONES_SHOWN ? shown + " and " + (zones.size() - ZONES_SHOWN) + " more" : shown;
  }
}
