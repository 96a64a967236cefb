package org.danemsg.node.api;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import org.danemsg.client.SettingsReader;

/**
 * The node's local API (section {@code danemsg.api}): where it listens, whether it may listen beyond
 * the loopback interface, TLS, and the bounds of requests and sends. Read and checked once at start
 * with the node's other settings; a bad value stops the node with one line naming the setting.
 *
 * <p>Refused: a non-loopback address without {@code allow-remote}. The API hands out every message
 * the node received and sends as this device, guarded by one bearer token; on the loopback interface
 * only programs on the device reach it.
 *
 * @param listen where to listen, or {@code null} when the API is off
 * @param allowRemote a non-loopback address was asked for explicitly ({@code API_ALLOW_REMOTE})
 * @param tls the server's key and certificate, or {@code null} for plain HTTP
 * @param maxBodyBytes the largest request body read
 * @param maxWait the longest long poll ({@code wait}) a request may ask for
 * @param sendQueue sends waiting for the publisher before new ones are refused (503)
 * @param sendsInFlight sends sealed or awaiting the broker's PUBACK at once
 * @param publishTimeout how long a send may wait for the broker (connecting and its PUBACK)
 * @param mqttUsername the broker account the API publishes with (empty: the node's)
 * @param mqttPassword its password
 */
public record ApiSettings(Listen listen, boolean allowRemote, Tls tls, int maxBodyBytes, Duration maxWait,
    int sendQueue, int sendsInFlight, Duration publishTimeout, String mqttUsername, String mqttPassword) {

  /** A host and port; port 0 is any free port (the node logs which). */
  public record Listen(String host, int port, boolean loopback) {
    /** {@code host:port}, IPv6 in brackets. */
    @Override
    public String toString() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }

  /** A PKCS#12 key store with the server's key and certificate chain, and its password. */
  public record Tls(Path keyStore, String password) {
    @Override
    public String toString() {
      return "Tls[" + keyStore + "]"; // never the password
    }
  }

  /** The environment variables of the API's settings (keys relative to {@code danemsg}). */
  public static final Map<String, String> ENVIRONMENT = Map.of(
      "api.listen", "API_LISTEN",
      "api.allow-remote", "API_ALLOW_REMOTE",
      "api.tls.key-store", "API_TLS_KEY_STORE",
      "api.tls.key-store-password-file", "API_TLS_KEY_STORE_PASSWORD_FILE",
      "api.mqtt-username", "API_MQTT_USERNAME",
      "api.mqtt-password-file", "API_MQTT_PASSWORD_FILE");

  /** Whether the API is to be served at all. */
  public boolean enabled() {
    return listen != null;
  }

  /** Settings with the API off (tests, and nodes that want none). */
  public static ApiSettings off() {
    return new ApiSettings(null, false, null, 65536, Duration.ofSeconds(60), 256, 64, Duration.ofSeconds(10), "", "");
  }

  /**
   * Reads and checks {@code danemsg.api}.
   *
   * @throws org.danemsg.client.SettingsException naming the first bad setting
   */
  public static ApiSettings from(SettingsReader r) {
    String listenText = r.string("api.listen").strip();
    boolean allowRemote = r.bool("api.allow-remote");
    Listen listen = null;
    if (!listenText.equalsIgnoreCase("off")) {
      listen = parseListen(r, listenText);
      if (!listen.loopback() && !allowRemote) {
        throw r.bad("api.listen", "is " + listen + ", which is not a loopback address: the API would serve this"
            + " device's messages to the network. Use 127.0.0.1 or ::1, or set API_ALLOW_REMOTE=true as well"
            + " (with API_TLS_KEY_STORE) if that is meant");
      }
    }
    Tls tls = null;
    String keyStoreText = r.string("api.tls.key-store").strip();
    if (!keyStoreText.isEmpty()) {
      Path keyStore = r.path("api.tls.key-store");
      if (!Files.isReadable(keyStore)) {
        throw r.bad("api.tls.key-store", keyStore + " does not exist or is not readable");
      }
      String passwordFile = r.string("api.tls.key-store-password-file").strip();
      String password = "";
      if (!passwordFile.isEmpty()) {
        password = firstLine(r, "api.tls.key-store-password-file");
      }
      tls = new Tls(keyStore, password);
    }
    String username = r.string("api.mqtt-username").strip();
    String password = "";
    if (!r.string("api.mqtt-password-file").isBlank()) {
      if (username.isEmpty()) {
        throw r.bad("api.mqtt-password-file", "is set but api.mqtt-username (API_MQTT_USERNAME) is empty");
      }
      password = firstLine(r, "api.mqtt-password-file");
    }
    int maxBody = r.integer("api.max-body-size", 1024, 16 * 1024 * 1024);
    Duration maxWait = r.duration("api.max-wait", false);
    if (maxWait.compareTo(Duration.ofMinutes(10)) > 0) {
      throw r.bad("api.max-wait", "must be at most 10m, got " + maxWait.toSeconds() + " s");
    }
    return new ApiSettings(listen, allowRemote, tls, maxBody, maxWait, r.integer("api.send-queue", 1, 100_000),
        r.integer("api.sends-in-flight", 1, 10_000), r.duration("api.publish-timeout", false), username, password);
  }

  private static Listen parseListen(SettingsReader r, String text) {
    String host;
    String portText;
    if (text.startsWith("[")) {
      int close = text.indexOf("]:");
      if (close < 0) {
        throw r.bad("api.listen", "'" + SettingsReader.printable(text) + "' is not [IPv6-address]:port");
      }
      host = text.substring(1, close);
      portText = text.substring(close + 2);
    } else {
      int colon = text.lastIndexOf(':');
      if (colon < 0 || text.indexOf(':') != colon) {
        throw r.bad("api.listen", "'" + SettingsReader.printable(text) + "' is not host:port (or off; an IPv6"
            + " address goes in brackets: [::1]:8710)");
      }
      host = text.substring(0, colon);
      portText = text.substring(colon + 1);
    }
    int port;
    try {
      port = Integer.parseInt(portText);
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (host.isEmpty() || port < 0 || port > 65535 || !portText.matches("[0-9]{1,5}")) {
      throw r.bad("api.listen", "'" + SettingsReader.printable(text) + "' is not host:port with a port of 0 to"
          + " 65535 (or off)");
    }
    InetAddress[] addresses;
    try {
      addresses = InetAddress.getAllByName(host);
    } catch (UnknownHostException | SecurityException e) {
      throw r.bad("api.listen", "host '" + SettingsReader.printable(host) + "' cannot be resolved");
    }
    boolean loopback = addresses.length > 0;
    for (InetAddress address : addresses) {
      loopback &= address.isLoopbackAddress();
    }
    return new Listen(host.toLowerCase(Locale.ROOT), port, loopback);
  }

  private static String firstLine(SettingsReader r, String key) {
    Path file = r.path(key);
    String line;
    try {
      line = Files.readString(file, java.nio.charset.StandardCharsets.UTF_8).lines().findFirst().orElse("").strip();
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      throw r.bad(key, file + " cannot be read: " + e.getMessage());
    }
    if (line.isEmpty()) {
      throw r.bad(key, file + " is empty");
    }
    return line;
  }

  @Override
  public String toString() {
    return "ApiSettings[listen=" + (listen == null ? "off" : listen) + ", allowRemote=" + allowRemote + ", tls=" + tls
        + ", mqttUsername=" + mqttUsername + "]"; // never a password
  }
}
