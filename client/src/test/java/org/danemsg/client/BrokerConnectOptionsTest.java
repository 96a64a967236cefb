package org.danemsg.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.Map;
import javax.net.SocketFactory;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.junit.jupiter.api.Test;

/** The connect options the node's subscription and every publisher share. */
class BrokerConnectOptionsTest {

  private static ClientSettings.Mqtt mqtt(String keepAlive) {
    return ClientSettings.from(ConfigFactory.parseMap(Map.of("danemsg.identity-name", "alice._device.example.test",
        "danemsg.dns.server", "127.0.0.1:53", "danemsg.mqtt.keep-alive", keepAlive))
        .withFallback(ConfigFactory.defaultReference()).resolve()).mqtt();
  }

  @Test
  void theNodeKeepsItsSessionAndPublishersStartClean() {
    SocketFactory sockets = SocketFactory.getDefault();
    MqttConnectOptions node = BrokerConnectOptions.of(mqtt("30s"), BrokerConnectOptions.Session.PERSISTENT,
        "node", "secret", Duration.ofSeconds(10), 1000, sockets);
    assertFalse(node.isCleanSession());
    assertFalse(node.isAutomaticReconnect());
    assertEquals(MqttConnectOptions.MQTT_VERSION_3_1_1, node.getMqttVersion());
    assertEquals(30, node.getKeepAliveInterval());
    assertEquals(10, node.getConnectionTimeout());
    assertEquals(1000, node.getMaxInflight());
    assertEquals("node", node.getUserName());
    assertEquals("secret", new String(node.getPassword()));
    assertSame(sockets, node.getSocketFactory());

    MqttConnectOptions publisher = PublisherConnection.options(mqtt("30s"), "", "", Duration.ofSeconds(3), 10);
    assertTrue(publisher.isCleanSession());
    assertNull(publisher.getUserName(), "no user name: no credentials");
    assertNull(publisher.getSocketFactory(), "plain MQTT: Paho's own sockets");
    assertEquals(3, publisher.getConnectionTimeout());
    assertEquals(10, publisher.getMaxInflight());
  }

  @Test
  void zeroKeepAliveTurnsPingsOffAndPartsOfASecondRoundUp() {
    assertEquals(0, keepAlive("0s"), "MQTT's own meaning of 0, for the node and publishers alike");
    assertEquals(1, keepAlive("500ms"), "not 0, which would turn pings off");
    assertEquals(2, keepAlive("1500ms"));
    assertEquals(45, keepAlive("45s"));
    assertEquals(1, BrokerConnectOptions.of(mqtt("30s"), BrokerConnectOptions.Session.CLEAN, "", "",
        Duration.ofMillis(200), 1, null).getConnectionTimeout(), "Paho's 0 would wait forever");
  }

  private static int keepAlive(String setting) {
    return BrokerConnectOptions.of(mqtt(setting), BrokerConnectOptions.Session.PERSISTENT, "", "",
        Duration.ofSeconds(1), 1, null).getKeepAliveInterval();
  }
}
