package org.danemsg.node;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The side channel between {@link PublishSizeGuard} (below the MQTT client) and the gateway's size
 * check: the guard replaces the payload of a PUBLISH over the limit by a marker holding a one-time
 * token, and records the token with the payload's real size here; the gateway {@link #claim claims}
 * the token and rejects the message as TOO_LARGE with that size.
 *
 * <p>Why a token and not just a recognisable payload: the marker's prefix is public, but the token
 * is 128 random bits that never leave this process, so a sender cannot make a normal message look
 * oversized (it would have to guess a token that is live right now), and a claimed token is removed,
 * so a captured marker cannot be replayed. The other way round cannot happen either: every payload
 * over the limit is replaced before the MQTT client sees a byte of it. At most {@link #CAPACITY}
 * tokens are kept (the oldest go first): the pipeline holds far fewer messages than that, and a
 * marker whose token was dropped is only an unreadable payload, rejected like any other.
 */
final class OversizedPublishes {

  static final int CAPACITY = 1024;
  private static final byte[] PREFIX = "danemsg:oversized-publish:".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  private static final int TOKEN_BYTES = 16;

  private final SecureRandom random = new SecureRandom();
  private final Map<String, Long> sizes = new LinkedHashMap<>(64, 0.75f, false) {
    private static final long serialVersionUID = 1L;

    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
      return size() > CAPACITY;
    }
  };

  /** Records a discarded payload of {@code size} bytes; returns the marker payload to hand on instead. */
  byte[] register(long size) {
    byte[] token = new byte[TOKEN_BYTES];
    random.nextBytes(token);
    synchronized (sizes) {
      sizes.put(HexFormat.of().formatHex(token), size);
    }
    byte[] marker = Arrays.copyOf(PREFIX, PREFIX.length + TOKEN_BYTES);
    System.arraycopy(token, 0, marker, PREFIX.length, TOKEN_BYTES);
    return marker;
  }

  /** The real size when {@code payload} is a marker with a live token (which is then used up), else empty. */
  OptionalLong claim(byte[] payload) {
    if (payload.length != PREFIX.length + TOKEN_BYTES
        || !Arrays.equals(payload, 0, PREFIX.length, PREFIX, 0, PREFIX.length)) {
      return OptionalLong.empty();
    }
    String token = HexFormat.of().formatHex(payload, PREFIX.length, payload.length);
    Long size;
    synchronized (sizes) {
      size = sizes.remove(token);
    }
    return size == null ? OptionalLong.empty() : OptionalLong.of(size);
  }

  /** The length of every marker payload. */
  static int markerLength() {
    return PREFIX.length + TOKEN_BYTES;
  }
}
