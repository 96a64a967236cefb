package org.jose4j.base64url;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/**
 * This project's replacement for jose4j 0.9.7's {@code Base64Url}: the same public API and the same
 * results for every input, without the 8 KiB work buffer that jose4j's bundled Apache Commons Codec
 * allocates for each call (for the bench's sealing senders, 70 % of all the bytes they allocated: about
 * 100 KB a message, a young collection of the senders' JVM every 1.7 s at 1,150 msg/s; the node
 * allocates one buffer for each part it decodes). The node's and the tools' jars leave jose4j's own
 * class out; elsewhere whichever comes first on the class path is used, and both behave alike.
 *
 * <p>Encoding: the base64url alphabet of RFC 4648 §5 without padding, as {@link java.util.Base64}'s
 * URL encoder without padding writes it. Decoding keeps Commons Codec's lenient rules exactly (a test
 * compares both on random and hostile input): characters of either base64 alphabet ({@code +/} and
 * {@code -_}) are decoded, every other character is skipped, the first {@code =} ends the input, and
 * a final group of two or three characters gives one or two bytes (a lone final character is
 * dropped). Callers that need strict input check it themselves (the envelope does, before jose4j sees
 * a payload).
 */
public class Base64Url {

  private static final java.util.Base64.Encoder ENCODER = java.util.Base64.getUrlEncoder().withoutPadding();

  /** Value of each ASCII character in either base64 alphabet, or -1. */
  private static final byte[] DECODE = new byte[128];

  static {
    java.util.Arrays.fill(DECODE, (byte) -1);
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (int i = 0; i < alphabet.length(); i++) {
      DECODE[alphabet.charAt(i)] = (byte) i;
    }
    DECODE['+'] = 62;
    DECODE['-'] = 62;
    DECODE['/'] = 63;
    DECODE['_'] = 63;
  }

  private static final Base64Url INSTANCE = new Base64Url();

  /** An instance; it holds no state (jose4j's API has instance and static methods). */
  public Base64Url() {
    // stateless
  }

  /** The UTF-8 text of the decoded bytes. */
  public String base64UrlDecodeToUtf8String(String encoded) {
    return base64UrlDecodeToString(encoded, "UTF-8");
  }

  /** The text, in {@code charsetName}, of the decoded bytes; null for null. */
  public String base64UrlDecodeToString(String encoded, String charsetName) {
    byte[] bytes = base64UrlDecode(encoded);
    return bytes == null ? null : new String(bytes, charset(charsetName));
  }

  /** The decoded bytes (see the class comment for the rules); null for null. */
  public byte[] base64UrlDecode(String encoded) {
    if (encoded == null) {
      return null;
    }
    int length = encoded.length();
    byte[] out = new byte[length / 4 * 3 + 2];
    int pos = 0;
    int group = 0; // characters in the current group of four
    int bits = 0;
    for (int i = 0; i < length; i++) {
      char c = encoded.charAt(i);
      if (c == '=') {
        break;
      }
      int value = c < 128 ? DECODE[c] : -1;
      if (value < 0) {
        continue; // not in the alphabet (any non-ASCII character included): skipped
      }
      bits = (bits << 6) | value;
      if (++group == 4) {
        out[pos++] = (byte) (bits >> 16);
        out[pos++] = (byte) (bits >> 8);
        out[pos++] = (byte) bits;
        group = 0;
        bits = 0;
      }
    }
    if (group == 2) {
      out[pos++] = (byte) (bits >> 4);
    } else if (group == 3) {
      out[pos++] = (byte) (bits >> 10);
      out[pos++] = (byte) (bits >> 2);
    }
    return pos == out.length ? out : java.util.Arrays.copyOf(out, pos);
  }

  /** The base64url encoding of the UTF-8 bytes of {@code input}. */
  public String base64UrlEncodeUtf8ByteRepresentation(String input) {
    return base64UrlEncode(input, "UTF-8");
  }

  /** The base64url encoding of the bytes of {@code input} in {@code charsetName}; null for null. */
  public String base64UrlEncode(String input, String charsetName) {
    return input == null ? null : base64UrlEncode(input.getBytes(charset(charsetName)));
  }

  /** The base64url encoding of {@code bytes}, without padding; null for null. */
  public String base64UrlEncode(byte[] bytes) {
    if (bytes == null) {
      return null;
    }
    byte[] encoded = ENCODER.encode(bytes);
    return new String(encoded, StandardCharsets.ISO_8859_1); // ASCII: one byte per character
  }

  /** See {@link #base64UrlDecodeToUtf8String}. */
  public static String decodeToUtf8String(String encoded) {
    return INSTANCE.base64UrlDecodeToUtf8String(encoded);
  }

  /** See {@link #base64UrlDecodeToString}. */
  public static String decodeToString(String encoded, String charsetName) {
    return INSTANCE.base64UrlDecodeToString(encoded, charsetName);
  }

  /** See {@link #base64UrlDecode}. */
  public static byte[] decode(String encoded) {
    return INSTANCE.base64UrlDecode(encoded);
  }

  /** See {@link #base64UrlEncodeUtf8ByteRepresentation}. */
  public static String encodeUtf8ByteRepresentation(String input) {
    return INSTANCE.base64UrlEncodeUtf8ByteRepresentation(input);
  }

  /** See {@link #base64UrlEncode(String, String)}. */
  public static String encode(String input, String charsetName) {
    return INSTANCE.base64UrlEncode(input, charsetName);
  }

  /** See {@link #base64UrlEncode(byte[])}. */
  public static String encode(byte[] bytes) {
    return INSTANCE.base64UrlEncode(bytes);
  }

  private static Charset charset(String name) {
    return Charset.forName(name);
  }
}
