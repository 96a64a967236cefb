package org.danemsg.protocol;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Identities for tests, generated once per JVM (RSA key generation is slow). */
public final class TestIdentities {

  private static final Map<String, DeviceIdentity> CACHE = new ConcurrentHashMap<>();

  private TestIdentities() {}

  /** An identity named {@code name} of {@code type}; the same object for the same arguments. */
  public static DeviceIdentity of(String name, KeyType type) {
    return CACHE.computeIfAbsent(name + "/" + type,
        k -> DeviceIdentity.generate(DnsName.parse(name), type, Duration.ofDays(30)));
  }

  /** A fresh identity every call. */
  public static DeviceIdentity fresh(String name, KeyType type) {
    return DeviceIdentity.generate(DnsName.parse(name), type, Duration.ofDays(30));
  }
}
