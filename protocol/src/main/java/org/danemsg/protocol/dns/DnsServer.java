package org.danemsg.protocol.dns;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The address of a DNS server this library talks to: a host (IP address or host name) and a port.
 *
 * <p>Written {@code host:port}, {@code host} (port 53), {@code [::1]:5353} or {@code [::1]}. A bare
 * IPv6 address without brackets ({@code ::1}) is taken as an address with port 53.
 *
 * @param host an IP address literal (IPv6 without brackets) or a host name
 * @param port 1..65535
 */
public record DnsServer(String host, int port) {

  /** The standard DNS port. */
  public static final int DEFAULT_PORT = 53;

  private static final Path RESOLV_CONF = Path.of("/etc/resolv.conf");
  private static final Pattern HOST = Pattern.compile("[A-Za-z0-9._%:-]+");

  /**
   * A server at {@code host:port}.
   *
   * @throws IllegalArgumentException when the host is empty or contains spaces, or the port is out of range
   */
  public DnsServer {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("DNS server host is empty");
    }
    if (!HOST.matcher(host).matches()) {
      throw new IllegalArgumentException("DNS server host '" + host
          + "' is not an IP address or host name");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("DNS server port " + port + " is out of range 1..65535");
    }
  }

  /**
   * Parses {@code host:port}, {@code host}, {@code [v6]:port}, {@code [v6]} or a bare IPv6 address.
   *
   * @throws IllegalArgumentException naming the text and what is wrong with it
   */
  public static DnsServer parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException(
          "DNS server is empty: expected host, host:port or [IPv6]:port, e.g. 127.0.0.1:5353");
    }
    String s = text.strip();
    String host;
    String port = null;
    if (s.startsWith("[")) {
      int close = s.indexOf(']');
      if (close < 0) {
        throw bad(text, "'[' without a closing ']'");
      }
      host = s.substring(1, close);
      String rest = s.substring(close + 1);
      if (!rest.isEmpty()) {
        if (!rest.startsWith(":")) {
          throw bad(text, "expected ':port' after ']'");
        }
        port = rest.substring(1);
      }
      if (!host.contains(":")) {
        throw bad(text, "brackets are only for IPv6 addresses");
      }
    } else {
      int first = s.indexOf(':');
      int last = s.lastIndexOf(':');
      if (first >= 0 && first == last) {
        host = s.substring(0, first);
        port = s.substring(first + 1);
      } else {
        host = s; // no colon, or a bare IPv6 address
      }
    }
    if (host.isEmpty()) {
      throw bad(text, "the host is missing");
    }
    int portNumber = DEFAULT_PORT;
    if (port != null) {
      try {
        portNumber = Integer.parseInt(port);
      } catch (NumberFormatException e) {
        throw bad(text, "port '" + port + "' is not a number");
      }
    }
    try {
      return new DnsServer(host, portNumber);
    } catch (IllegalArgumentException e) {
      throw bad(text, e.getMessage());
    }
  }

  /**
   * The first {@code nameserver} of {@code /etc/resolv.conf}, port 53.
   *
   * @throws IllegalStateException when the file is missing, unreadable or names no server
   */
  public static DnsServer systemDefault() {
    return fromResolvConf(RESOLV_CONF);
  }

  /**
   * The first {@code nameserver} line of a resolv.conf-style file.
   *
   * @throws IllegalStateException when the file is missing, unreadable or names no server
   */
  public static DnsServer fromResolvConf(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new IllegalStateException("no DNS server configured and " + file
          + " does not exist: set the DNS server explicitly (host:port)");
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + file + " to find the DNS server: " + e
          + "; set the DNS server explicitly (host:port)");
    }
    for (String line : lines) {
      String[] words = line.strip().split("\\s+");
      if (words.length >= 2 && words[0].toLowerCase(Locale.ROOT).equals("nameserver")) {
        String address = words[1];
        int zone = address.indexOf('%'); // fe80::1%eth0: the scope is meaningless to us here
        try {
          return new DnsServer(zone > 0 ? address.substring(0, zone) : address, DEFAULT_PORT);
        } catch (IllegalArgumentException e) {
          throw new IllegalStateException(file + ": bad nameserver line '" + line.strip() + "': "
              + e.getMessage());
        }
      }
    }
    throw new IllegalStateException(file
        + " has no 'nameserver' line: set the DNS server explicitly (host:port)");
  }

  /** An unresolved socket address for this server (resolved when a query is sent). */
  public InetSocketAddress address() {
    return InetSocketAddress.createUnresolved(host, port);
  }

  /** {@code host:port}, with brackets around an IPv6 address. */
  @Override
  public String toString() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  private static IllegalArgumentException bad(String text, String why) {
    return new IllegalArgumentException("invalid DNS server '" + text.strip() + "': " + why
        + " (expected host, host:port or [IPv6]:port, e.g. 127.0.0.1:5353)");
  }
}
