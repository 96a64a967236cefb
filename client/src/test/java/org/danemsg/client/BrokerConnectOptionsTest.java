package org.danemsg.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Map;
import javax.net.SocketFactory;
import javax.net.ssl.SSLSocketFactory;
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
    assertFalse(node.getSocketFactory() instanceof SSLSocketFactory, "tcp:// takes no TLS factory (Paho checks)");

    MqttConnectOptions publisher = PublisherConnection.options(mqtt("30s"), "", "", Duration.ofSeconds(3), 10);
    assertTrue(publisher.isCleanSession());
    assertNull(publisher.getUserName(), "no user name: no credentials");
    assertFalse(publisher.getSocketFactory() instanceof SSLSocketFactory, "plain MQTT: plain sockets");
    assertEquals(3, publisher.getConnectionTimeout());
    assertEquals(10, publisher.getMaxInflight());
  }

  /**
   * Nagle's algorithm held a publish written while the previous one was unacknowledged until the peer's
   * TCP acknowledged it: every connection to the broker sends at once, plain or TLS, with the given
   * factory's sockets (the node's size guard).
   */
  @Test
  void everyBrokerSocketSendsAtOnceAndTheGivenFactoryMakesIt() throws Exception {
    java.util.concurrent.atomic.AtomicInteger made = new java.util.concurrent.atomic.AtomicInteger();
    SocketFactory counting = new SocketFactory() {
      // Paho opens its socket unconnected (createSocket(), then connect); the others are not used
      @Override
      public Socket createSocket() throws IOException {
        made.incrementAndGet();
        return new Socket();
      }

      @Override
      public Socket createSocket(String host, int port) {
        throw new UnsupportedOperationException();
      }

      @Override
      public Socket createSocket(String host, int port, InetAddress localHost, int localPort) {
        throw new UnsupportedOperationException();
      }

      @Override
      public Socket createSocket(InetAddress host, int port) {
        throw new UnsupportedOperationException();
      }

      @Override
      public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) {
        throw new UnsupportedOperationException();
      }
    };
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      for (SocketFactory given : new SocketFactory[] {counting, null}) {
        SocketFactory sockets = BrokerConnectOptions.of(mqtt("30s"), BrokerConnectOptions.Session.PERSISTENT, "",
            "", Duration.ofSeconds(1), 1, given).getSocketFactory();
        try (Socket socket = sockets.createSocket()) {
          socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()), 5000);
          server.accept().close();
          assertTrue(socket.getTcpNoDelay(), "TCP_NODELAY with " + (given == null ? "the default" : "a given")
              + " factory");
        }
      }
      assertEquals(1, made.get(), "the given factory made the socket");
    }

    SSLSocketFactory tls = javax.net.ssl.SSLContext.getDefault().getSocketFactory();
    SocketFactory wrapped = BrokerConnectOptions.of(mqtt("30s"), BrokerConnectOptions.Session.CLEAN, "", "",
        Duration.ofSeconds(1), 1, tls).getSocketFactory();
    assertTrue(wrapped instanceof SSLSocketFactory, "ssl:// needs a TLS factory (Paho checks)");
    try (Socket socket = wrapped.createSocket()) {
      assertTrue(socket instanceof javax.net.ssl.SSLSocket);
      assertTrue(socket.getTcpNoDelay());
    }
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
