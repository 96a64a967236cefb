package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.SafeText;
import org.junit.jupiter.api.Test;

/** A message must arrive on the node's own topic, besides naming the node in aud (design §4). */
class WrongTopicTest {

  private static final DnsName SELF = DnsName.parse("bob._device.example.test");

  @Test
  void aMessageOnTheNodesOwnTopicPasses() {
    assertNull(MqttGateway.wrongTopic("bob._device.example.test", SELF));
  }

  @Test
  void aMessageOnAnyOtherTopicIsRefusedWithASafeDetail() {
    for (String topic : new String[] {"carol._device.example.test", "BOB._device.example.test", "bob/#",
        "$share/g/bob._device.example.test", "bob._device.example.test\n\u001b[2J"}) {
      Refusal refusal = MqttGateway.wrongTopic(topic, SELF);
      assertEquals(Refusal.WRONG_TOPIC, refusal.reason(), topic);
      assertTrue(SafeText.isSafeLine(refusal.detail()), refusal.detail());
    }
  }
}
