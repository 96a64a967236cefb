package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.eclipse.paho.client.mqttv3.internal.wire.CountingInputStream;
import org.eclipse.paho.client.mqttv3.internal.wire.MqttPublish;
import org.eclipse.paho.client.mqttv3.internal.wire.MqttWireMessage;
import org.junit.jupiter.api.Test;

/**
 * Paho decodes incoming packets through the node's {@link CountingInputStream} (which replaces Paho's,
 * for its bulk read): a PUBLISH comes out as it went in, and the count is that of the bytes read.
 */
class PahoPacketDecodingTest {

  @Test
  void theNodesCountingStreamIsTheOneLoaded() throws NoSuchMethodException {
    assertEquals(CountingInputStream.class, CountingInputStream.class.getDeclaredMethod("read", byte[].class,
        int.class, int.class).getDeclaringClass());
  }

  @Test
  void aPublishDecodesToItsTopicIdAndPayload() throws Exception {
    byte[] payload = new byte[70_000]; // a remaining length of three bytes; every byte value
    for (int i = 0; i < payload.length; i++) {
      payload[i] = (byte) i;
    }
    MqttPublish publish = (MqttPublish) MqttWireMessage.createWireMessage(publish("node.example.", 4711, payload));
    assertEquals("node.example.", publish.getTopicName());
    assertEquals(4711, publish.getMessageId());
    assertEquals(1, publish.getMessage().getQos());
    assertArrayEquals(payload, publish.getMessage().getPayload());
  }

  @Test
  void anEmptyPayloadDecodesEmpty() throws Exception {
    MqttPublish publish = (MqttPublish) MqttWireMessage.createWireMessage(publish("t", 1, new byte[0]));
    assertEquals("t", publish.getTopicName());
    assertArrayEquals(new byte[0], publish.getMessage().getPayload());
  }

  @Test
  void theCountIsThatOfTheBytesRead() throws IOException {
    CountingInputStream counting = new CountingInputStream(new ByteArrayInputStream(new byte[100]));
    DataInputStream in = new DataInputStream(counting);
    in.readUnsignedShort();
    in.readFully(new byte[50]);
    assertEquals(52, counting.getCounter());
    counting.resetCounter();
    assertEquals(48, counting.read(new byte[64], 0, 64));
    assertEquals(48, counting.getCounter());
    assertEquals(-1, counting.read(new byte[8], 0, 8));
    assertEquals(-1, counting.read());
    assertEquals(48, counting.getCounter());
  }

  /** A QoS 1 PUBLISH packet as a broker sends it. */
  private static byte[] publish(String topic, int id, byte[] payload) throws IOException {
    byte[] name = topic.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream packet = new ByteArrayOutputStream();
    packet.write(0x32);
    packet.write(MqttWireMessage.encodeMBI(2 + name.length + 2 + payload.length));
    packet.write(name.length >> 8);
    packet.write(name.length & 0xff);
    packet.write(name);
    packet.write(id >> 8);
    packet.write(id & 0xff);
    packet.write(payload);
    return packet.toByteArray();
  }
}
