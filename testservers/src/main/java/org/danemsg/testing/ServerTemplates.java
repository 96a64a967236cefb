package org.danemsg.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one configuration template of each server (resources {@code knot.conf}, {@code zone} and
 * {@code mosquitto.conf} next to this class), filled in for the tests' fixtures, {@code tools bench} and,
 * through sed, demo.sh and deploy/test/servers.sh. Placeholders are {@code @NAME@}; a template left with
 * one unfilled is a bug and fails loudly.
 */
public final class ServerTemplates {

  private static final Pattern PLACEHOLDER = Pattern.compile("@[A-Z][A-Z_]*@");

  private ServerTemplates() {}

  /**
   * knotd's configuration: a DNSSEC-signed zone and an unsigned one in {@code directory} (zone files
   * {@code <zone>.zone}, see {@link #zoneFile}), updates with the HMAC-SHA256 TSIG key.
   *
   * @param keySecret the key's secret, base64
   * @param logLevel knotd's log level: info, notice, warning...
   */
  public static String knotConf(int port, Path directory, String keyName, String keySecret, String signedZone,
      String unsignedZone, String logLevel) {
    Map<String, String> values = new LinkedHashMap<>();
    values.put("PORT", Integer.toString(port));
    values.put("DIR", directory.toAbsolutePath().toString());
    values.put("KEY_NAME", keyName);
    values.put("KEY_SECRET", keySecret);
    values.put("SIGNED_ZONE", signedZone);
    values.put("UNSIGNED_ZONE", unsignedZone);
    values.put("LOG_LEVEL", logLevel);
    return fill("knot.conf", values);
  }

  /** A zone file for {@code zone}: SOA, NS and {@code ns1} at 127.0.0.1, default TTL {@code ttlSeconds}. */
  public static String zoneFile(String zone, int ttlSeconds) {
    return fill("zone", Map.of("ZONE", zone, "TTL", Integer.toString(ttlSeconds)));
  }

  /**
   * mosquitto's configuration: one listener on 127.0.0.1.
   *
   * @param access the listener's access lines, e.g. {@code allow_anonymous true}
   * @param persistence whether sessions and queued messages are saved in {@code directory}
   */
  public static String mosquittoConf(int port, Path directory, String access, boolean persistence,
      int maxInflight, int maxQueued) {
    Map<String, String> values = new LinkedHashMap<>();
    values.put("PORT", Integer.toString(port));
    values.put("DIR", directory.toAbsolutePath().toString());
    values.put("ACCESS", access);
    values.put("PERSISTENCE", Boolean.toString(persistence));
    values.put("MAX_INFLIGHT", Integer.toString(maxInflight));
    values.put("MAX_QUEUED", Integer.toString(maxQueued));
    return fill("mosquitto.conf", values);
  }

  /** The template {@code name} with each {@code @KEY@} replaced by its value. */
  static String fill(String name, Map<String, String> values) {
    String text;
    try (InputStream in = ServerTemplates.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("template " + name + " is not on the class path");
      }
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read template " + name, e);
    }
    for (Map.Entry<String, String> v : values.entrySet()) {
      text = text.replace("@" + v.getKey() + "@", v.getValue());
    }
    // The comment lines name the placeholders themselves
    Matcher left = PLACEHOLDER.matcher(text.lines().filter(l -> !l.startsWith("#"))
        .reduce("", (a, b) -> a + "\n" + b));
    if (left.find()) {
      throw new IllegalStateException("template " + name + ": " + left.group() + " was not filled in");
    }
    return text;
  }
}
