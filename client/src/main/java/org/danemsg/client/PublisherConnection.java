package org.danemsg.client;

import java.time.Duration;
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
   * The connect options for a publishing connection to {@code mqtt}: a clean session, the broker's TLS
   * where set ({@link BrokerConnectOptions} for the rest).
   *
   * @param username empty for none
   * @param connectTimeout at least a second is used
   * @param maxInflight publishes awaiting their PUBACK at once
   */
  public static MqttConnectOptions options(ClientSettings.Mqtt mqtt, String username, String password,
      Duration connectTimeout, int maxInflight) {
    return BrokerConnectOptions.of(mqtt, BrokerConnectOptions.Session.CLEAN, username, password, connectTimeout,
        maxInflight, BrokerTls.socketFactory(mqtt));
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
