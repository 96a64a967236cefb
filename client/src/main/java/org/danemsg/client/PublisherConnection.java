package org.danemsg.client;

import java.time.Duration;
import javax.net.ssl.SSLSocketFactory;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;

/**
 * What a connection that only publishes (the {@link MessageSender}, the node's local API) sets up and
 * how it ends: a clean MQTT 3.1.1 session without automatic reconnection, the broker's TLS
 * ({@link BrokerTls}) and credentials where given.
 */
public final class PublisherConnection {

  private PublisherConnection() {}

  /**
   * The connect options for a publishing connection to {@code mqtt}.
   *
   * @param username empty for none
   * @param connectTimeout at least a second is used
   * @param maxInflight publishes awaiting their PUBACK at once
   */
  public static MqttConnectOptions options(ClientSettings.Mqtt mqtt, String username, String password,
      Duration connectTimeout, int maxInflight) {
    MqttConnectOptions options = new MqttConnectOptions();
    options.setCleanSession(true);
    options.setAutomaticReconnect(false);
    options.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
    options.setConnectionTimeout((int) Math.max(1, connectTimeout.toSeconds()));
    options.setKeepAliveInterval((int) Math.max(1, mqtt.keepAlive().toSeconds()));
    options.setMaxInflight(maxInflight);
    if (!username.isEmpty()) {
      options.setUserName(username);
      options.setPassword(password.toCharArray());
    }
    SSLSocketFactory tls = BrokerTls.socketFactory(mqtt);
    if (tls != null) {
      options.setSocketFactory(tls);
    }
    return options;
  }

  /** Disconnects (waiting up to 2 s) and closes {@code client}, as far as it goes: never throws. */
  public static void close(MqttAsyncClient client) {
    try {
      if (client.isConnected()) {
        client.disconnect(1000).waitForCompletion(2000);
      }
    } catch (MqttException e) {
      // best effort
    }
    try {
      client.close(true);
    } catch (MqttException e) {
      // best effort
    }
  }
}
