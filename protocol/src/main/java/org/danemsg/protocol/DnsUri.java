package org.danemsg.protocol;

import java.util.Locale;

/**
 * The {@code dns:} URIs that name a TLSA record in JOSE {@code x5u} headers.
 *
 * <p>Accepted forms: {@code dns:<name>?type=TLSA}, {@code dns://<name>?type=TLSA} and
 * {@code dns://<server>/<name>?type=TLSA} (the server part is ignored: keys are only ever looked up
 * through the configured, validating resolver). Emitted form: {@code dns://<name>?type=TLSA}.
 */
public final class DnsUri {

  private static final String QUERY = "?type=tlsa";

  private DnsUri() {}

  /** The URI this project writes for {@code name}. */
  public static String of(DnsName name) {
    return "dns://" + name + "?type=TLSA";
  }

  /**
   * Extracts the DNS name from a {@code dns:} URI.
   *
   * @throws IllegalArgumentException with the reason when the text is not an accepted {@code dns:} URI
   */
  public static DnsName nameOf(String uri) {
    if (uri == null || uri.isEmpty()) {
      throw new IllegalArgumentException("the URI is empty");
    }
    String lower = uri.toLowerCase(Locale.ROOT);
    if (!lower.startsWith("dns:")) {
      throw new IllegalArgumentException("'" + DnsName.printable(uri) + "' is not a dns: URI");
    }
    if (!lower.endsWith(QUERY)) {
      throw new IllegalArgumentException(
          "'" + DnsName.printable(uri) + "' does not end in ?type=TLSA");
    }
    String body = uri.substring(4, uri.length() - QUERY.length());
    if (body.startsWith("//")) {
      body = body.substring(2);
      int slash = body.indexOf('/');
      if (slash >= 0) {
        body = body.substring(slash + 1);
      }
    }
    DnsName name = DnsName.parseOrNull(body);
    if (name == null) {
      throw new IllegalArgumentException(
          "'" + DnsName.printable(uri) + "' does not name a valid DNS name: " + DnsName.problemWith(body));
    }
    return name;
  }
}
