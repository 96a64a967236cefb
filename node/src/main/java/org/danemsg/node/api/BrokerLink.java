package org.danemsg.node.api;

import java.net.ConnectException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.danemsg.client.ClientSettings;
import org.danemsg.client.PublisherConnection;
import org.eclipse.paho.client.mqttv3.IMqttActionListener;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The API's one connection to the broker for publishing (Paho, MQTT 3.1.1, clean session, a random
 * client id {@code danemsg-api-…}, never the node's: the node's persistent session is its
 * subscription's alone). Connected at the first send and again after a loss, by the send that needs
 * it; while the broker is unreachable, sends fail at once with the reason of the last attempt, for
 * a second after each failed attempt, instead of each waiting for a connection timeout. Publishes
 * are QoS 1 and complete when the broker's PUBACK arrives. Thread-safe.
 *
 * <p>The account: the API's own ({@code API_MQTT_USERNAME}) when set, else the node's. A broker
 * that ties a session to its account ({@code use_username_as_clientid}, as the compose demo's does)
 * needs the API's own: a second connection under the node's account would replace the node's.
 */
final class BrokerLink implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(BrokerLink.class);
  /** After a failed attempt, sends fail at once for this long. */
  private static final long RETRY_AFTER_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** The broker could not take a message: why, for the client (503). */
  static final class Unavailable extends Exception {
    private static final long serialVersionUID = 1L;

    Unavailable(String message) {
      super(message, null, false, false);
    }
  }

  private final MqttAsyncClient client;
  private final MqttConnectOptions options;
  private final String uri;
  private final Duration timeout;
  private final Consumer<Boolean> connectionState;
  private CompletableFuture<Void> connecting;
  private long failedAtNanos;
  private String lastFailure;

  BrokerLink(ClientSettings.Mqtt mqtt, ApiSettings api, Consumer<Boolean> connectionState) {
    this.uri = mqtt.uri();
    this.timeout = api.publishTimeout();
    this.connectionState = connectionState;
    String clientId = "danemsg-api-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong())
        .substring(0, 11);
    try {
      client = new MqttAsyncClient(uri, clientId, new MemoryPersistence());
    } catch (MqttException e) {
      throw new IllegalStateException("broker address " + uri + " is not usable: " + e.getMessage(), e);
    }
    boolean ownAccount = !api.mqttUsername().isEmpty();
    options = PublisherConnection.options(mqtt, ownAccount ? api.mqttUsername() : mqtt.username(),
        ownAccount ? api.mqttPassword() : mqtt.password(),
        Duration.ofSeconds(Math.min(mqtt.connectTimeout().toSeconds(), timeout.toSeconds())),
        Math.max(10, api.sendsInFlight()));
    client.setCallback(new MqttCallback() {
      @Override
      public void connectionLost(Throwable cause) {
        LOG.warn("API: publishing connection to {} lost: {}; the next send reconnects", uri, describe(cause));
        connectionState.accept(false);
      }

      @Override
      public void messageArrived(String topic, MqttMessage message) {
        // publishes only: nothing is subscribed
      }

      @Override
      public void deliveryComplete(IMqttDeliveryToken token) {
        // each publish has its own listener
      }
    });
  }

  /**
   * Publishes {@code payload} at QoS 1 on {@code topic}; completes with the broker's PUBACK, or fails
   * with {@link Unavailable} (not connected, refused, or no PUBACK within the publish timeout).
   */
  CompletableFuture<Void> publish(String topic, byte[] payload) {
    return connected().thenCompose(ready -> {
      CompletableFuture<Void> acked = new CompletableFuture<>();
      MqttMessage message = new MqttMessage(payload);
      message.setQos(1);
      try {
        client.publish(topic, message, null, new IMqttActionListener() {
          @Override
          public void onSuccess(IMqttToken token) {
            acked.complete(null);
          }

          @Override
          public void onFailure(IMqttToken token, Throwable e) {
            acked.completeExceptionally(new Unavailable("the broker " + uri + " did not take the message: "
                + describe(e)));
          }
        });
      } catch (MqttException e) {
        acked.completeExceptionally(new Unavailable("cannot publish at " + uri + ": " + describe(e)));
      }
      return acked.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).exceptionallyCompose(e -> {
        Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
            ? e.getCause() : e;
        return CompletableFuture.failedFuture(cause instanceof Unavailable ? cause : new Unavailable("the broker "
            + uri + " did not acknowledge the message within " + timeout.toSeconds() + " s"));
      });
    });
  }

  /** Completes once connected: at once when connected, else with the attempt in progress or a new one. */
  private synchronized CompletableFuture<Void> connected() {
    if (client.isConnected()) {
      return CompletableFuture.completedFuture(null);
    }
    if (connecting != null) {
      return connecting.copy();
    }
    if (lastFailure != null && System.nanoTime() - failedAtNanos < RETRY_AFTER_NANOS) {
      return CompletableFuture.failedFuture(new Unavailable(lastFailure));
    }
    CompletableFuture<Void> attempt = new CompletableFuture<>();
    connecting = attempt;
    try {
      client.connect(options, null, new IMqttActionListener() {
        @Override
        public void onSuccess(IMqttToken token) {
          settle(attempt, null);
        }

        @Override
        public void onFailure(IMqttToken token, Throwable e) {
          settle(attempt, "cannot connect to the broker " + uri + ": " + describe(e));
        }
      });
    } catch (MqttException e) {
      settle(attempt, "cannot connect to the broker " + uri + ": " + describe(e));
    }
    return attempt.copy();
  }

  private void settle(CompletableFuture<Void> attempt, String failure) {
    synchronized (this) {
      connecting = null;
      lastFailure = failure;
      failedAtNanos = System.nanoTime();
    }
    if (failure == null) {
      LOG.info("API: publishing connection to {} up", uri);
      connectionState.accept(true);
      attempt.complete(null);
    } else {
      LOG.warn("API: {}", failure);
      connectionState.accept(false);
      attempt.completeExceptionally(new Unavailable(failure));
    }
  }

  @Override
  public void close() {
    PublisherConnection.close(client);
  }

  private static String describe(Throwable e) {
    if (e instanceof MqttException m) {
      int code = m.getReasonCode();
      if (code == MqttException.REASON_CODE_FAILED_AUTHENTICATION || code == MqttException.REASON_CODE_NOT_AUTHORIZED) {
        return "the broker refused the credentials (API_MQTT_USERNAME, or the node's MQTT_USERNAME)";
      }
      if (m.getCause() instanceof ConnectException ce) {
        return "unreachable (" + ce.getMessage() + ")";
      }
      if (m.getCause() != null) {
        return m.getCause().getClass().getSimpleName() + ": " + m.getCause().getMessage();
      }
      return m.getMessage();
    }
    return e == null ? "closed" : e.getClass().getSimpleName() + ": " + e.getMessage();
  }
}
