package org.danemsg.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.jose4j.base64url.Base64Url;
import org.junit.jupiter.api.Test;

/**
 * The project's {@link Base64Url} (in place of jose4j's, see its comment) against the codec jose4j's own
 * class uses, jose4j's bundled Apache Commons Codec, as the oracle: the same output for random bytes, and
 * the same decoding of random, hostile and malformed text.
 */
class Base64UrlTest {

  /** What jose4j 0.9.7's Base64Url delegates every call to. */
  private static final org.jose4j.base64url.internal.apache.commons.codec.binary.Base64 ORACLE =
      new org.jose4j.base64url.internal.apache.commons.codec.binary.Base64(-1, null, true);

  private static final String ODD = "=+/-_ \t\r\n\u0000.é€\u00ff\u0080\ud83d\ude00\ud800\udfff\u200b\ufeff#%*~";
  private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

  @Test
  void theClassInUseIsThisProjectsNotJose4jS() {
    String where = Base64Url.class.getProtectionDomain().getCodeSource().getLocation().toString();
    assertTrue(!where.contains("jose4j"), "Base64Url came from " + where);
  }

  @Test
  void encodesEveryLengthAsTheOracleDoes() {
    Random random = new Random(7);
    for (int length = 0; length <= 600; length++) {
      for (int round = 0; round < 5; round++) {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        String expected = ORACLE.encodeToString(bytes);
        assertEquals(expected, Base64Url.encode(bytes), "length " + length);
        assertEquals(expected, new Base64Url().base64UrlEncode(bytes));
        assertArrayEquals(ORACLE.decode(expected), Base64Url.decode(expected));
        assertArrayEquals(bytes, Base64Url.decode(expected));
      }
    }
  }

  @Test
  void decodesRandomAndHostileTextAsTheOracleDoes() {
    Random random = new Random(11);
    for (int round = 0; round < 20_000; round++) {
      int length = random.nextInt(round < 10_000 ? 12 : 200);
      StringBuilder text = new StringBuilder(length);
      for (int i = 0; i < length; i++) {
        int pick = random.nextInt(10);
        text.append(pick < 7 ? ALPHABET.charAt(random.nextInt(ALPHABET.length()))
            : pick < 9 ? ODD.charAt(random.nextInt(ODD.length()))
            : (char) random.nextInt(0x10000));
      }
      String s = text.toString();
      assertArrayEquals(ORACLE.decode(s), Base64Url.decode(s), () -> "input " + escaped(s));
    }
  }

  @Test
  void paddingTrailingBitsAndShortGroupsAsTheOracle() {
    for (String s : new String[] {"", "=", "A", "AA", "AAA", "AAAA", "QQ", "QQ==", "QUI", "QUI=", "QUJD",
        "Q=UJD", "QU=JD", "Q", "QUJDR", "_-_-", "+/+/", "QUJD====QUJD", "  QU JD  ", "QUJ\u00e9D", "AB\ud800CD",
        "////", "____", "A===", "AB=C", "\u0000\u0000"}) {
      assertArrayEquals(ORACLE.decode(s), Base64Url.decode(s), () -> "input " + escaped(s));
    }
  }

  @Test
  void textAndNullAsJose4jS() {
    assertNull(Base64Url.decode(null));
    assertNull(Base64Url.encode((byte[]) null));
    assertNull(Base64Url.encode(null, "UTF-8"));
    assertNull(Base64Url.decodeToUtf8String(null));
    String text = "h\u00e9llo \ud83d\ude00 \u202e";
    String encoded = Base64Url.encodeUtf8ByteRepresentation(text);
    assertEquals(ORACLE.encodeToString(text.getBytes(StandardCharsets.UTF_8)), encoded);
    assertEquals(text, Base64Url.decodeToUtf8String(encoded));
    assertEquals(text, new Base64Url().base64UrlDecodeToString(encoded, "UTF-8"));
  }

  private static String escaped(String s) {
    StringBuilder b = new StringBuilder();
    s.chars().forEach(c -> b.append(c >= 0x20 && c < 0x7f ? String.valueOf((char) c) : String.format("\\u%04x", c)));
    return b.toString();
  }
}
