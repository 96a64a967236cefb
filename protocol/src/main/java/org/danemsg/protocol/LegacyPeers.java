package org.danemsg.protocol;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The peers from which messages in the {@link Profile#LEGACY legacy} format are accepted. The legacy
 * format carries no expiry, no recipient and no message id, so it is accepted only from the peers an
 * operator names (the {@code legacy-peers} setting, {@code LEGACY_PEERS}); by default from none.
 *
 * <p>An entry is a DNS name, such as {@code alice._device.example.com}, or a wildcard whose first label
 * is {@code *}, such as {@code *._device.example.com}. The {@code *} stands for exactly one label, as in
 * DNS and TLS certificates: {@code *._device.example.com} allows {@code alice._device.example.com} but
 * neither {@code _device.example.com} itself nor {@code a.b._device.example.com}. Names compare without
 * regard to case. Instances are immutable.
 */
public final class LegacyPeers {

  private static final LegacyPeers NONE = new LegacyPeers(List.of(), Set.of(), Set.of());

  private final List<String> entries;
  private final Set<String> names;
  private final Set<String> wildcardParents;

  private LegacyPeers(List<String> entries, Set<String> names, Set<String> wildcardParents) {
    this.entries = entries;
    this.names = names;
    this.wildcardParents = wildcardParents;
  }

  /** No legacy peer: every legacy message is refused (the default). */
  public static LegacyPeers none() {
    return NONE;
  }

  /**
   * The peers named by {@code entries}: names and {@code *.}-wildcards, as described on the class.
   *
   * @throws IllegalArgumentException naming the entry and what is wrong with it
   */
  public static LegacyPeers of(Collection<String> entries) {
    Objects.requireNonNull(entries, "entries");
    List<String> kept = new ArrayList<>();
    Set<String> names = new LinkedHashSet<>();
    Set<String> parents = new LinkedHashSet<>();
    for (String entry : entries) {
      String trimmed = entry == null ? "" : entry.strip();
      if (trimmed.startsWith("*.")) {
        parents.add(parse(trimmed, trimmed.substring(2)).canonical());
      } else {
        names.add(parse(trimmed, trimmed).canonical());
      }
      kept.add(trimmed);
    }
    return kept.isEmpty() ? NONE : new LegacyPeers(List.copyOf(kept), Set.copyOf(names), Set.copyOf(parents));
  }

  /**
   * The peers named in one setting's text: entries separated by commas and/or white space, as in
   * {@code LEGACY_PEERS="alice._device.example.com, *._legacy.example.com"}. Blank text gives
   * {@link #none()}.
   *
   * @throws IllegalArgumentException naming the entry and what is wrong with it
   */
  public static LegacyPeers parse(String setting) {
    if (setting == null || setting.isBlank()) {
      return NONE;
    }
    List<String> entries = new ArrayList<>();
    for (String entry : setting.strip().split("[,\\s]+")) {
      if (!entry.isEmpty()) {
        entries.add(entry);
      }
    }
    return of(entries);
  }

  private static DnsName parse(String entry, String name) {
    if (name.contains("*")) {
      throw new IllegalArgumentException("legacy peer '" + SafeText.detail(entry) + "' is not accepted: a '*'"
          + " may only be the whole first label, as in *._device.example.com");
    }
    String problem = DnsName.problemWith(name);
    if (problem != null) {
      throw new IllegalArgumentException("legacy peer '" + SafeText.detail(entry) + "' is not a DNS name or a"
          + " *.<name> wildcard: " + SafeText.detail(problem));
    }
    return DnsName.parse(name);
  }

  /** Whether legacy messages from {@code sender} are accepted. */
  public boolean allows(DnsName sender) {
    if (sender == null) {
      return false;
    }
    if (names.contains(sender.canonical())) {
      return true;
    }
    DnsName parent = sender.parent();
    return parent != null && wildcardParents.contains(parent.canonical());
  }

  /** Whether no peer is allowed. */
  public boolean isEmpty() {
    return entries.isEmpty();
  }

  /** The entries as given (trimmed), in order. */
  public List<String> entries() {
    return entries;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LegacyPeers other && names.equals(other.names)
        && wildcardParents.equals(other.wildcardParents);
  }

  @Override
  public int hashCode() {
    return Objects.hash(names, wildcardParents);
  }

  @Override
  public String toString() {
    return entries.isEmpty() ? "none" : String.join(", ", entries);
  }
}
