package org.danemsg.client;

import java.time.Duration;
import javax.net.SocketFactory;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;

/**
 * The MQTT connect options of every connection danemsg opens to its broker: the node's subscription,
 * {@link MessageSender} and the node's local API (through {@link PublisherConnection}). MQTT 3.1.1; no
 * automatic reconnection (each caller reconnects in its own way: the node's stream restarts and
 * subscribes again, a publisher connects at its next send); credentials when a user name is given.
 */
public final class BrokerConnectOptions {

  /** Whether the broker keeps the session between connections. */
  public enum Session {
    /** The broker keeps the subscription and what was not acknowledged (the node). */
    PERSISTENT,
    /** A new session each time (connections that only publish). */
    CLEAN
  }

  private BrokerConnectOptions() {}

  /**
   * The options for one connection, built afresh each time (Paho may adjust the object it is given).
   *
   * @param mqtt its {@code keep-alive}: zero turns pings off (as MQTT defines it), anything else is
   *     rounded up to whole seconds, so that 500ms does not turn them off
   * @param username empty for none
   * @param connectTimeout rounded up to whole seconds (Paho's zero would mean no limit)
   * @param maxInflight publishes awaiting their PUBACK at once
   * @param socketFactory the sockets to use (TLS, the node's size guard), or null for plain ones; either
   *     way with {@code TCP_NODELAY} ({@link SocketFactories})
   */
  public static MqttConnectOptions of(ClientSettings.Mqtt mqtt, Session session, String username, String password,
      Duration connectTimeout, int maxInflight, SocketFactory socketFactory) {
    MqttConnectOptions options = new MqttConnectOptions();
    options.setCleanSession(session == Session.CLEAN);
    options.setAutomaticReconnect(false);
    options.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
    options.setKeepAliveInterval(mqtt.keepAlive().isZero() ? 0 : wholeSeconds(mqtt.keepAlive()));
    options.setConnectionTimeout(wholeSeconds(connectTimeout));
    options.setMaxInflight(maxInflight);
    if (!username.isEmpty()) {
      options.setUserName(username);
      options.setPassword(password.toCharArray());
    }
    options.setSocketFactory(SocketFactories.noDelay(socketFactory));
    return options;
  }

  /** At least one second; a part of a second counts as one. */
  static int wholeSeconds(Duration d) {
    long seconds = d.toSeconds() + (d.toNanosPart() > 0 ? 1 : 0);
    return (int) Math.min(Integer.MAX_VALUE, Math.max(1, seconds));
  }
}
