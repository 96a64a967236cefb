package org.danemsg.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.CharBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class SafeTextTest {

  /** Hostile strings an attacker can put in any header, claim or DNS answer. */
  static final List<String> CORPUS = List.of(
      "\ud800", "a\udc00b", "\udbff\udbff", "x\ud83d", // lone surrogates
      "\u0000", "nul\u0000inside",
      "\u001b[2J\u001b[1;1Hfake prompt$ ", "\u001b]0;title\u0007", "\u009b31m", // ESC, OSC, C1 CSI
      "evil\u202egnp.exe", "\u2066isolate\u2069", "\u200e\u200f\u061c", "\ufeffbom",
      "line\r\nforged line", "a\u2028b\u2029c", "\u0085next-line",
      "tag\udb40\udc41chars", "private\ue000use", "\u0378unassigned",
      "x".repeat(100_000), "\u001b".repeat(50_000));

  @Test
  void everyCorpusStringBecomesOneSafeLineOfValidUtf8() {
    for (String hostile : CORPUS) {
      for (String safe : List.of(SafeText.line(hostile), SafeText.detail(hostile))) {
        assertValidUtf8(safe);
        safe.codePoints().forEach(cp -> {
          assertTrue(cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp < 0xa0), "control left: " + cp);
          assertTrue(Character.getType(cp) != Character.FORMAT, "format char left: " + Integer.toHexString(cp));
          assertTrue(cp != 0x2028 && cp != 0x2029, "separator left");
        });
      }
      assertValidUtf8(SafeText.wellFormed(hostile));
    }
  }

  @Test
  void detailIsCutAndSaysHowMuchWasCut() {
    String detail = SafeText.detail("x".repeat(100_000));
    assertTrue(detail.length() < SafeText.DETAIL_LIMIT + 30, "length " + detail.length());
    assertTrue(detail.endsWith("…(+99700 chars)"), detail.substring(SafeText.DETAIL_LIMIT));
    assertTrue(SafeText.detail("\u001b".repeat(50_000)).length() < SafeText.DETAIL_LIMIT + 30);
  }

  @Test
  void escapesAreReadableAndPrintableTextStays() {
    assertEquals("a\\nb\\tc\\x1b[0m\\\\\\u202e\\x7f", SafeText.line("a\nb\tc\u001b[0m\\\u202e\u007f"));
    assertEquals("\\ud800", SafeText.line("\ud800"));
    assertEquals("grüße 😀 日本語 👨‍👩‍👧", SafeText.line("grüße 😀 日本語 👨‍👩‍👧"));
    assertTrue(SafeText.isSafeLine("alice._device.example.test"));
    assertFalse(SafeText.isSafeLine("alice\n"));
  }

  @Test
  void wellFormedReplacesOnlyLoneSurrogates() {
    assertEquals("a\ufffdb\ufffd😀", SafeText.wellFormed("a\udc00b\ud800😀"));
    String fine = "line\nbreaks\tstay";
    assertSame(fine, SafeText.wellFormed(fine));
  }

  @Test
  void rejectionDetailsAreSafeByConstruction() {
    Rejection r = Rejection.of(Rejection.Reason.NOT_A_JWE, "alg \ud800\n" + "y".repeat(10_000));
    assertTrue(SafeText.isSafeLine(r.detail()));
    assertTrue(r.detail().length() < SafeText.DETAIL_LIMIT + 30);
  }

  private static void assertValidUtf8(String s) {
    try {
      StandardCharsets.UTF_8.newEncoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).encode(CharBuffer.wrap(s));
    } catch (CharacterCodingException e) {
      throw new AssertionError("not encodable as UTF-8: " + SafeText.line(s), e);
    }
  }
}
