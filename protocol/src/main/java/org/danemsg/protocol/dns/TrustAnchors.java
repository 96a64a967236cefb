package org.danemsg.protocol.dns;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.xbill.DNS.Master;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * The DNSSEC trust anchors answers are validated against: DS and/or DNSKEY records in zone-file
 * format, one per line ({@code example.test. IN DS 12345 13 2 ABCD…} or
 * {@code example.test. 60 IN DNSKEY 257 3 13 …}).
 *
 * <p>{@link #ianaRoot()}, the default, holds the IANA root zone's KSK-2017 and KSK-2024 DS records.
 * A private zone (the demo's, a lab's) is trusted through its own DS or DNSKEY, which
 * {@code keymgr <zone> ds} or {@code kdig <zone> DNSKEY} print. Other record types in a file are
 * ignored, as dnsjava's validator ignores them; a file without any DS or DNSKEY is an error.
 */
public final class TrustAnchors {

  private static final String ROOT_RESOURCE = "root-anchors.txt";

  private final String source;
  private final List<Record> records;

  private TrustAnchors(String source, List<Record> records) {
    this.source = source;
    this.records = List.copyOf(records);
  }

  /** The IANA root trust anchors shipped with this library (KSK-2017 and KSK-2024). */
  public static TrustAnchors ianaRoot() {
    try (InputStream in = TrustAnchors.class.getResourceAsStream(ROOT_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("resource " + ROOT_RESOURCE + " is missing from the jar");
      }
      return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "built-in IANA root anchors");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the built-in " + ROOT_RESOURCE, e);
    }
  }

  /**
   * Reads trust anchors from a file.
   *
   * @throws IllegalArgumentException naming the file when it cannot be read, does not parse, or
   *     holds no DS or DNSKEY record
   */
  public static TrustAnchors fromFile(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("trust anchor file " + file + " does not exist");
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read trust anchor file " + file + ": " + e);
    }
    return parse(text, "trust anchor file " + file);
  }

  /**
   * Parses trust anchors from text; {@code source} names it in error messages (e.g. the setting).
   *
   * @throws IllegalArgumentException naming {@code source} when the text does not parse or holds no
   *     DS or DNSKEY record
   */
  public static TrustAnchors parse(String text, String source) {
    List<Record> anchors = new ArrayList<>();
    // Same parser and defaults (origin ".", TTL 0) as ValidatingResolver.loadTrustAnchors
    try (Master master = new Master(
        new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), Name.root, 0)) {
      Record r;
      while ((r = master.nextRecord()) != null) {
        if (r.getType() == Type.DS || r.getType() == Type.DNSKEY) {
          anchors.add(r);
        }
      }
    } catch (TextParseException e) {
      throw new IllegalArgumentException(source + " is not in zone-file format: " + e.getMessage()
          + " (expected lines such as 'example.test. IN DS <tag> 13 2 <hex>')");
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(source + " cannot be parsed: " + e.getMessage()
          + " (expected lines such as 'example.test. IN DS <tag> 13 2 <hex>')");
    }
    if (anchors.isEmpty()) {
      throw new IllegalArgumentException(source + " holds no DS or DNSKEY record"
          + " (expected lines such as 'example.test. IN DS <tag> 13 2 <hex>', e.g. from 'keymgr <zone> ds')");
    }
    return new TrustAnchors(source, anchors);
  }

  /** Where these anchors came from, for log lines. */
  public String source() {
    return source;
  }

  /** The anchors in zone-file presentation form, one record per entry. */
  public List<String> lines() {
    return records.stream().map(Record::toString).toList();
  }

  /** The names of the zones these anchors secure ({@code .} for the root), without duplicates. */
  public List<String> zones() {
    return records.stream().map(r -> r.getName().toString()).distinct().toList();
  }

  /** The anchors as zone-file text, the form {@code ValidatingResolver.loadTrustAnchors} reads. */
  InputStream asZoneFile() {
    return new ByteArrayInputStream(
        (String.join("\n", lines()) + "\n").getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public String toString() {
    return source + " " + zones();
  }
}
