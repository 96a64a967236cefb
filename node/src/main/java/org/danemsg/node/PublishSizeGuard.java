package org.danemsg.node;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.danemsg.protocol.SafeText;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker connection's input as the MQTT client reads it, with every packet's size checked before
 * the client can allocate it. Paho reads a packet's remaining length and then allocates the whole
 * packet: one 150 MB PUBLISH was an OutOfMemoryError in its receiver thread, a reconnect, the same
 * message redelivered, and so on forever. This stream parses the MQTT 3.1.1 fixed headers as they
 * pass and:
 * <ul>
 *   <li>a PUBLISH whose payload is over {@code MAX_MESSAGE_SIZE}: its variable header (topic, packet
 *       id) is read, its payload is read and dropped as it arrives (never held), and the client gets a
 *       small PUBLISH instead, with the same flags, topic and packet id, whose payload is a marker from
 *       {@link OversizedPublishes}: the client delivers it, the gateway rejects it as TOO_LARGE with the
 *       real size, and acks it, so the broker forgets it;</li>
 *   <li>any other packet longer than {@link #OTHER_PACKET_LIMIT} (the broker sends us only CONNACK,
 *       SUBACK, PUBACK… of a few bytes): an {@link IOException}, which closes the connection, instead
 *       of an allocation a hostile broker chose;</li>
 *   <li>everything else passes unchanged, streamed without copying.</li>
 * </ul>
 * A read timeout of the socket (Paho sets one) may interrupt any read: all parsing state lives in
 * fields, so the next read resumes where it stopped, and no byte of a packet reaches the client before
 * the packet's fate is decided.
 */
final class PublishSizeGuard extends InputStream {

  /** The longest non-PUBLISH packet accepted (a SUBACK for 4,000 topic filters would still fit). */
  static final int OTHER_PACKET_LIMIT = 4096;

  private static final Logger LOG = LoggerFactory.getLogger(PublishSizeGuard.class);
  private static final int PUBLISH = 3;

  private enum State { FIXED_HEADER, VARIABLE_HEADER, PASS, DISCARD }

  private final InputStream in;
  private final int maxPayload;
  private final OversizedPublishes oversized;
  private final byte[] scratch = new byte[16 * 1024];
  private final byte[] one = new byte[1];

  private State state = State.FIXED_HEADER;
  private final byte[] fixedHeader = new byte[5];
  private int fixedHeaderLength;
  private long remainingLength;
  private byte[] variableHeader;
  private int variableHeaderFilled;
  /** Bytes of the current packet left to pass through or to drop. */
  private long left;
  /** Bytes to hand to the client before reading on: a packet's header, or a whole rewritten PUBLISH. */
  private byte[] pending;
  private int pendingPosition;

  PublishSizeGuard(InputStream in, int maxPayload, OversizedPublishes oversized) {
    this.in = in;
    this.maxPayload = maxPayload;
    this.oversized = oversized;
  }

  @Override
  public int read() throws IOException {
    int n = read(one, 0, 1);
    return n <= 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    java.util.Objects.checkFromIndexSize(off, len, b.length);
    if (len == 0) {
      return 0;
    }
    while (true) {
      if (pending != null) {
        int n = Math.min(len, pending.length - pendingPosition);
        System.arraycopy(pending, pendingPosition, b, off, n);
        pendingPosition += n;
        if (pendingPosition == pending.length) {
          pending = null;
        }
        return n;
      }
      switch (state) {
        case FIXED_HEADER -> {
          if (!readFixedHeaderByte()) {
            return -1;
          }
        }
        case VARIABLE_HEADER -> {
          if (!readVariableHeader()) {
            return -1;
          }
        }
        case PASS -> {
          if (left == 0) {
            state = State.FIXED_HEADER;
            continue;
          }
          int n = in.read(b, off, (int) Math.min(len, left));
          if (n < 0) {
            return -1;
          }
          left -= n;
          return n;
        }
        case DISCARD -> {
          if (left == 0) {
            handOnMarker();
            continue;
          }
          int n = in.read(scratch, 0, (int) Math.min(scratch.length, left));
          if (n < 0) {
            return -1;
          }
          left -= n;
        }
        default -> throw new IllegalStateException(state.toString());
      }
    }
  }

  /** Reads one byte of a fixed header; at its end decides what happens to the packet. False at EOF. */
  private boolean readFixedHeaderByte() throws IOException {
    int c = in.read();
    if (c < 0) {
      return false;
    }
    fixedHeader[fixedHeaderLength++] = (byte) c;
    if (fixedHeaderLength == 1 || (c & 0x80) != 0) {
      if (fixedHeaderLength == fixedHeader.length) {
        throw new IOException("the broker sent a malformed packet (remaining length longer than 4 bytes);"
            + " closing the connection");
      }
      return true;
    }
    remainingLength = 0;
    for (int i = fixedHeaderLength - 1; i >= 1; i--) {
      remainingLength = (remainingLength << 7) | (fixedHeader[i] & 0x7f);
    }
    int type = (fixedHeader[0] >> 4) & 0x0f;
    byte[] header = java.util.Arrays.copyOf(fixedHeader, fixedHeaderLength);
    fixedHeaderLength = 0;
    if (type == PUBLISH && remainingLength > maxPayload) {
      // Possibly too large: the payload's size is known once the topic (and packet id) are read.
      fixedHeader[0] = header[0];
      variableHeader = new byte[2];
      variableHeaderFilled = 0;
      state = State.VARIABLE_HEADER;
      return true;
    }
    if (type != PUBLISH && remainingLength > OTHER_PACKET_LIMIT) {
      String what = "the broker sent a " + packetName(type) + " packet of " + remainingLength
          + " bytes (at most " + OTHER_PACKET_LIMIT + " expected); closing the connection rather than"
          + " reading it";
      LOG.warn(what);
      throw new IOException(what);
    }
    pending = header;
    pendingPosition = 0;
    left = remainingLength;
    state = State.PASS;
    return true;
  }

  /** Reads the topic and packet id of a large PUBLISH; then passes or discards the payload. False at EOF. */
  private boolean readVariableHeader() throws IOException {
    int n = in.read(variableHeader, variableHeaderFilled, variableHeader.length - variableHeaderFilled);
    if (n < 0) {
      return false;
    }
    variableHeaderFilled += n;
    if (variableHeaderFilled < variableHeader.length) {
      return true;
    }
    int qos = (fixedHeader[0] >> 1) & 0x03;
    if (variableHeader.length == 2) {
      int topicLength = ((variableHeader[0] & 0xff) << 8) | (variableHeader[1] & 0xff);
      int full = 2 + topicLength + (qos > 0 ? 2 : 0);
      if (full > remainingLength) {
        throw new IOException("the broker sent a malformed PUBLISH (its topic is longer than the packet);"
            + " closing the connection");
      }
      variableHeader = java.util.Arrays.copyOf(variableHeader, full);
      return true;
    }
    long payload = remainingLength - variableHeader.length;
    if (payload <= maxPayload) {
      pending = concat(header(fixedHeader[0], remainingLength), variableHeader);
      pendingPosition = 0;
      left = payload;
      state = State.PASS;
    } else {
      left = payload;
      state = State.DISCARD;
      if (LOG.isDebugEnabled()) {
        int topicLength = variableHeader.length - 2 - (qos > 0 ? 2 : 0);
        LOG.debug("discarding the {}-byte payload of a PUBLISH on {} as it arrives (limit {})", payload,
            SafeText.line(new String(variableHeader, 2, topicLength, StandardCharsets.UTF_8)), maxPayload);
      }
    }
    return true;
  }

  /** The payload was dropped: hand the client the same PUBLISH with a marker as its payload. */
  private void handOnMarker() {
    long size = remainingLength - variableHeader.length;
    byte[] marker = oversized.register(size);
    pending = concat(concat(header(fixedHeader[0], variableHeader.length + marker.length), variableHeader),
        marker);
    pendingPosition = 0;
    variableHeader = null;
    state = State.FIXED_HEADER;
  }

  private static byte[] header(byte first, long remaining) {
    byte[] h = new byte[5];
    h[0] = first;
    int i = 1;
    long value = remaining;
    do {
      int digit = (int) (value % 128);
      value /= 128;
      h[i++] = (byte) (value > 0 ? digit | 0x80 : digit);
    } while (value > 0);
    return java.util.Arrays.copyOf(h, i);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] both = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, both, a.length, b.length);
    return both;
  }

  private static String packetName(int type) {
    String[] names = {"reserved (0)", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
        "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "reserved (15)"};
    return names[type];
  }

  @Override
  public int available() throws IOException {
    if (pending != null) {
      return pending.length - pendingPosition;
    }
    if (state == State.PASS) {
      return (int) Math.min(left, in.available());
    }
    return 0;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
