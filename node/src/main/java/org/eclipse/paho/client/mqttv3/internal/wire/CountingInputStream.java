package org.eclipse.paho.client.mqttv3.internal.wire;

import java.io.IOException;
import java.io.InputStream;

/**
 * The node's stand-in for Paho 1.2.5's class of this name, which node.jar leaves out (the shade plugin's
 * filter in node/pom.xml) and which the node's own classes come before on a test's class path: the same
 * public API and the same count of the bytes read, plus a bulk {@link #read(byte[], int, int)}.
 *
 * <p>Why: Paho decodes every incoming packet through this stream over a {@code ByteArrayInputStream}
 * ({@code MqttWireMessage.createWireMessage}, {@code MqttPublish}), reading the payload with
 * {@code DataInputStream.readFully}. Paho's class overrides only {@code read()}, so each payload went
 * byte by byte, twice, through the synchronized {@code ByteArrayInputStream.read()}: 3 % of the node's
 * CPU a message (async-profiler, 20,000 EC messages, C1). The bulk read copies with one call.
 *
 * <p>Keep the API as Paho's (a Paho upgrade: compare with its class; {@code PahoPacketDecodingTest}
 * decodes a PUBLISH through this one). Not thread-safe, as Paho's is not.
 */
public class CountingInputStream extends InputStream {

  private final InputStream in;
  private int counter;

  /** Counts what is read from {@code in}. */
  public CountingInputStream(InputStream in) {
    this.in = in;
  }

  @Override
  public int read() throws IOException {
    int b = in.read();
    if (b >= 0) {
      counter++;
    }
    return b;
  }

  @Override
  public int read(byte[] into, int offset, int length) throws IOException {
    int n = in.read(into, offset, length);
    if (n > 0) {
      counter += n;
    }
    return n;
  }

  /** The bytes read since the start or the last {@link #resetCounter()}. */
  public int getCounter() {
    return counter;
  }

  /** Counts from zero again. */
  public void resetCounter() {
    counter = 0;
  }
}
