package org.danemsg.protocol.dns;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.xbill.DNS.Name;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.TextParseException;

/**
 * A TSIG key (RFC 8945) that signs DNS UPDATE messages: a key name, an HMAC algorithm and a shared
 * secret.
 *
 * <p>Read from a BIND/Knot key file ({@code key "update-key" { algorithm hmac-sha256; secret
 * "base64=="; };}, as written by {@code tsig-keygen} or {@code keymgr -t}) or from the string form
 * {@code hmac-sha256:update-key:base64==} that {@code nsupdate -y}/{@code knsupdate -y} take.
 * HMAC-SHA1/224/256/384/512 are accepted; HMAC-MD5 is not. {@link #toString()} never shows the secret.
 */
public final class TsigKey {

  private static final List<String> ALGORITHMS =
      List.of("hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512");
  private static final Pattern BIND_KEY = Pattern.compile(
      "key\\s+\"?([^\"\\s{]+)\"?\\s*\\{([^}]*)\\}\\s*;?", Pattern.CASE_INSENSITIVE);
  private static final Pattern ALGORITHM =
      Pattern.compile("algorithm\\s+\"?([A-Za-z0-9.-]+)\"?\\s*;", Pattern.CASE_INSENSITIVE);
  private static final Pattern SECRET =
      Pattern.compile("secret\\s+\"([^\"]*)\"\\s*;", Pattern.CASE_INSENSITIVE);

  private final String name;
  private final String algorithm;
  private final byte[] secret;

  private TsigKey(String name, String algorithm, byte[] secret) {
    this.name = name;
    this.algorithm = algorithm;
    this.secret = secret;
  }

  /**
   * A key from its parts.
   *
   * @throws IllegalArgumentException when the name is not a DNS name, the algorithm is not accepted
   *     or the secret is empty
   */
  public static TsigKey of(String algorithm, String name, byte[] secret) {
    return build(algorithm, name, secret, "TSIG key");
  }

  /**
   * Parses {@code algorithm:name:base64secret} or the text of a BIND key file.
   *
   * @throws IllegalArgumentException saying what is wrong; the secret is never echoed
   */
  public static TsigKey parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("TSIG key is empty: expected 'hmac-sha256:<name>:<base64 secret>'"
          + " or a key file 'key \"<name>\" { algorithm hmac-sha256; secret \"<base64>\"; };'");
    }
    if (text.strip().regionMatches(true, 0, "key", 0, 3) && text.contains("{")) {
      return parseBind(text, "TSIG key text");
    }
    String[] parts = text.strip().split(":", -1);
    if (parts.length != 3) {
      throw new IllegalArgumentException("TSIG key string has " + parts.length
          + " ':'-separated part(s), expected 3: '<algorithm>:<name>:<base64 secret>',"
          + " e.g. 'hmac-sha256:update-key:…'");
    }
    return build(parts[0], parts[1], decode(parts[2], "TSIG key string"), "TSIG key string");
  }

  /**
   * Reads a BIND/Knot key file holding one {@code key "<name>" { algorithm …; secret "…"; };} clause
   * (or one line in the {@code algorithm:name:secret} form).
   *
   * @throws IllegalArgumentException naming the file and what is wrong with it
   */
  public static TsigKey fromFile(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("TSIG key file " + file + " does not exist");
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read TSIG key file " + file + ": " + e);
    }
    String where = "TSIG key file " + file;
    if (!text.contains("{")) {
      try {
        return parse(text);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(where + ": " + e.getMessage());
      }
    }
    return parseBind(text, where);
  }

  /** The key's name, e.g. {@code update-key} (no trailing dot). */
  public String name() {
    return name;
  }

  /** The algorithm, lower case, e.g. {@code hmac-sha256}. */
  public String algorithm() {
    return algorithm;
  }

  /** The key in BIND key-file form (contains the secret). */
  public String toKeyFile() {
    return "key \"" + name + "\" {\n    algorithm " + algorithm + ";\n    secret \""
        + Base64.getEncoder().encodeToString(secret) + "\";\n};\n";
  }

  /** The key as {@code algorithm:name:base64secret}, the form {@code knsupdate -y} takes (contains the secret). */
  public String toSpec() {
    return algorithm + ":" + name + ":" + Base64.getEncoder().encodeToString(secret);
  }

  /** The dnsjava signer for this key. */
  TSIG signer() {
    try {
      return new TSIG(TSIG.algorithmToName(algorithm), Name.fromString(name + "."), secret);
    } catch (TextParseException e) {
      throw new IllegalStateException("checked key name " + name + " no longer parses", e);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TsigKey k && k.name.equalsIgnoreCase(name) && k.algorithm.equals(algorithm)
        && Arrays.equals(k.secret, secret);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name.toLowerCase(Locale.ROOT), algorithm);
  }

  /** {@code algorithm:name} only: the secret is never printed. */
  @Override
  public String toString() {
    return algorithm + ":" + name;
  }

  private static TsigKey parseBind(String text, String where) {
    Matcher key = BIND_KEY.matcher(text);
    if (!key.find()) {
      throw new IllegalArgumentException(where + " has no 'key \"<name>\" { algorithm …; secret \"…\"; };' clause");
    }
    String name = key.group(1);
    String body = key.group(2);
    if (key.find()) {
      throw new IllegalArgumentException(where + " holds more than one key ('" + name + "', '"
          + key.group(1) + "'): keep one key per file");
    }
    Matcher algorithm = ALGORITHM.matcher(body);
    if (!algorithm.find()) {
      throw new IllegalArgumentException(where + ": key '" + name + "' has no 'algorithm <name>;' line");
    }
    Matcher secret = SECRET.matcher(body);
    if (!secret.find()) {
      throw new IllegalArgumentException(where + ": key '" + name + "' has no 'secret \"<base64>\";' line");
    }
    return build(algorithm.group(1), name, decode(secret.group(1), where), where);
  }

  private static byte[] decode(String base64, String where) {
    try {
      byte[] secret = Base64.getDecoder().decode(base64.replaceAll("\\s", ""));
      if (secret.length == 0) {
        throw new IllegalArgumentException(where + ": the secret is empty");
      }
      return secret;
    } catch (IllegalArgumentException e) {
      if (e.getMessage() != null && e.getMessage().startsWith(where)) {
        throw e;
      }
      throw new IllegalArgumentException(where + ": the secret is not valid base64 (" + e.getMessage() + ")");
    }
  }

  private static TsigKey build(String algorithm, String name, byte[] secret, String where) {
    String alg = algorithm == null ? "" : algorithm.strip().toLowerCase(Locale.ROOT);
    if (alg.endsWith(".")) {
      alg = alg.substring(0, alg.length() - 1);
    }
    if (alg.equals("hmac-md5") || alg.equals("hmac-md5.sig-alg.reg.int")) {
      throw new IllegalArgumentException(where + ": algorithm hmac-md5 is not accepted (it is broken);"
          + " use hmac-sha256");
    }
    if (!ALGORITHMS.contains(alg)) {
      throw new IllegalArgumentException(where + ": unknown TSIG algorithm '" + algorithm + "', expected one of "
          + ALGORITHMS);
    }
    String keyName = name == null ? "" : name.strip();
    if (keyName.endsWith(".")) {
      keyName = keyName.substring(0, keyName.length() - 1);
    }
    if (keyName.isEmpty()) {
      throw new IllegalArgumentException(where + ": the key name is empty");
    }
    try {
      Name.fromString(keyName + ".");
    } catch (TextParseException e) {
      throw new IllegalArgumentException(where + ": key name '" + keyName + "' is not a DNS name: "
          + e.getMessage());
    }
    if (secret == null || secret.length == 0) {
      throw new IllegalArgumentException(where + ": the secret is empty");
    }
    return new TsigKey(keyName, alg, secret.clone());
  }
}
