package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The bytes the MQTT client reads through the size guard, packet by packet. */
class PublishSizeGuardTest {

  private static final int LIMIT = 1024;
  private static final byte[] CONNACK = {0x20, 2, 0, 0};
  private static final byte[] SUBACK = {(byte) 0x90, 3, 0, 1, 1};
  private static final byte[] PINGRESP = {(byte) 0xd0, 0};

  private final OversizedPublishes oversized = new OversizedPublishes();

  @Test
  void packetsWithinTheLimitPassUnchanged() throws IOException {
    byte[] wire = concat(CONNACK, SUBACK, publish(1, "bob", 7, new byte[LIMIT]), PINGRESP,
        publish(0, "bob", 0, "hi".getBytes(StandardCharsets.US_ASCII)));
    assertArrayEquals(wire, readAll(new PublishSizeGuard(new ByteArrayInputStream(wire), LIMIT, oversized)));
  }

  @Test
  void anOversizedPublishBecomesTheSamePublishWithAMarkerThatClaimsItsSize() throws IOException {
    byte[] big = new byte[LIMIT + 1];
    Arrays.fill(big, (byte) 'x');
    byte[] wire = concat(publish(1, "bob._device.example.test", 4242, big), PINGRESP);
    byte[] read = readAll(new PublishSizeGuard(new ByteArrayInputStream(wire), LIMIT, oversized));

    int markerLength = OversizedPublishes.markerLength();
    byte[] expectedStart = publish(1, "bob._device.example.test", 4242, new byte[markerLength]);
    assertEquals(expectedStart.length + PINGRESP.length, read.length);
    int payloadAt = expectedStart.length - markerLength;
    assertArrayEquals(Arrays.copyOf(expectedStart, payloadAt), Arrays.copyOf(read, payloadAt),
        "same flags, remaining length for the marker, topic and packet id");
    byte[] marker = Arrays.copyOfRange(read, payloadAt, expectedStart.length);
    assertArrayEquals(PINGRESP, Arrays.copyOfRange(read, expectedStart.length, read.length));
    assertEquals(OptionalLong.of(LIMIT + 1), oversized.claim(marker));
  }

  @Test
  void aMarkerIsClaimedOnlyOnce() throws IOException {
    byte[] marker = oversized.register(5_000_000);
    assertEquals(OptionalLong.of(5_000_000), oversized.claim(marker));
    assertEquals(OptionalLong.empty(), oversized.claim(marker));
  }

  @Test
  void aSenderCannotMakeAMessageLookOversizedWithoutALiveToken() {
    byte[] real = oversized.register(5_000_000);
    byte[] forged = real.clone();
    forged[forged.length - 1] ^= 1;
    assertEquals(OptionalLong.empty(), oversized.claim(forged));
  }

  @Test
  void aReadTimeoutAnywhereLosesNoByteAndGivesTheClientNoPartOfAPacketItCannotUse() throws IOException {
    byte[] big = new byte[LIMIT * 5];
    byte[] wire = concat(CONNACK, publish(1, "bob", 9, big), publish(1, "bob", 10, "ok".getBytes(StandardCharsets.US_ASCII)));
    byte[] whole = readAll(new PublishSizeGuard(new ByteArrayInputStream(wire), LIMIT, new OversizedPublishes()));
    // Every second read of the socket times out, as Paho's 1 s socket timeout does on a quiet line.
    PublishSizeGuard guard = new PublishSizeGuard(new TimingOut(wire), LIMIT, oversized);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buffer = new byte[7];
    int timeouts = 0;
    while (true) {
      int n;
      try {
        n = guard.read(buffer, 0, buffer.length);
      } catch (SocketTimeoutException e) {
        timeouts++;
        continue;
      }
      if (n < 0) {
        break;
      }
      out.write(buffer, 0, n);
    }
    assertTrue(timeouts > 10, "the test must time out often: " + timeouts);
    byte[] read = out.toByteArray();
    assertEquals(whole.length, read.length);
    int markerAt = CONNACK.length + publish(1, "bob", 9, new byte[0]).length;
    int markerLength = OversizedPublishes.markerLength();
    // Equal but for the marker's random token.
    assertArrayEquals(Arrays.copyOf(whole, markerAt), Arrays.copyOf(read, markerAt));
    assertArrayEquals(Arrays.copyOfRange(whole, markerAt + markerLength, whole.length),
        Arrays.copyOfRange(read, markerAt + markerLength, read.length));
  }

  @Test
  void aHugeSubackClosesTheConnectionInsteadOfBeingRead() {
    byte[] header = {(byte) 0x90, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f}; // SUBACK of 256 MB
    PublishSizeGuard guard = new PublishSizeGuard(new ByteArrayInputStream(header), LIMIT, oversized);
    IOException e = assertThrows(IOException.class, () -> guard.read(new byte[16], 0, 16));
    assertTrue(e.getMessage().contains("SUBACK packet of 268435455 bytes"), e.getMessage());
  }

  @Test
  void aRemainingLengthOfMoreThanFourBytesClosesTheConnection() {
    byte[] header = {0x30, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01};
    PublishSizeGuard guard = new PublishSizeGuard(new ByteArrayInputStream(header), LIMIT, oversized);
    IOException e = assertThrows(IOException.class, () -> guard.read(new byte[16], 0, 16));
    assertTrue(e.getMessage().contains("malformed"), e.getMessage());
  }

  /** An MQTT 3.1.1 PUBLISH from the broker. */
  static byte[] publish(int qos, String topic, int packetId, byte[] payload) {
    byte[] t = topic.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream variable = new ByteArrayOutputStream();
    variable.write(t.length >> 8);
    variable.write(t.length & 0xff);
    variable.writeBytes(t);
    if (qos > 0) {
      variable.write(packetId >> 8);
      variable.write(packetId & 0xff);
    }
    variable.writeBytes(payload);
    byte[] body = variable.toByteArray();
    ByteArrayOutputStream packet = new ByteArrayOutputStream();
    packet.write(0x30 | (qos << 1));
    int length = body.length;
    do {
      int digit = length % 128;
      length /= 128;
      packet.write(length > 0 ? digit | 0x80 : digit);
    } while (length > 0);
    packet.writeBytes(body);
    return packet.toByteArray();
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  private static byte[] readAll(InputStream in) throws IOException {
    return in.readAllBytes();
  }

  /** A socket stream whose every second read times out and which returns at most 3 bytes at a time. */
  private static final class TimingOut extends InputStream {
    private final ByteArrayInputStream bytes;
    private boolean timeOutNext;

    TimingOut(byte[] wire) {
      this.bytes = new ByteArrayInputStream(wire);
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      timeOutNext = !timeOutNext;
      if (!timeOutNext) {
        throw new SocketTimeoutException("Read timed out");
      }
      return bytes.read(b, off, Math.min(len, 3));
    }
  }
}
