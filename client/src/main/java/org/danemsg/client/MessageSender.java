package org.danemsg.client;

import java.net.ConnectException;
import java.security.PublicKey;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.Profile;
import org.danemsg.protocol.SealException;
import org.danemsg.protocol.dns.DaneLookup;
import org.danemsg.protocol.dns.LookupResult;
import org.danemsg.protocol.dns.TlsaCache;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * Sends messages as this device, with the node's settings: a secure (DNSSEC-validated) lookup of the
 * recipient's key (the newest one during a key rollover, {@link LookupResult#newestKey}),
 * {@link Envelope#seal}, and a QoS 1 publish on the recipient's topic that completes
 * when the broker's PUBACK arrives. Used by {@code tools send}; not thread-safe.
 */
public final class MessageSender implements AutoCloseable {

  /** What was sent. */
  public record Sent(DnsName recipient, int bytes, Profile profile, boolean dnssecValidated) {}

  private final ClientSettings settings;
  private final DeviceIdentity identity;
  private final Envelope envelope;
  private final TlsaCache keys;
  private final Duration timeout;
  private final MqttAsyncClient client;
  private final MqttConnectOptions options;
  private LookupResult sealedTo;
  private PublicKey sealingKey;

  private MessageSender(ClientSettings settings, DeviceIdentity identity, Duration timeout, MqttAsyncClient client,
      MqttConnectOptions options) {
    this.settings = settings;
    this.identity = identity;
    this.timeout = timeout;
    this.client = client;
    this.options = options;
    this.envelope = new Envelope(settings.envelopeSettings());
    this.keys = new TlsaCache(DaneLookup.create(settings.lookupSettings()), Runnable::run,
        settings.cacheSettings().withAllowedZones(org.danemsg.protocol.dns.ZoneAllowlist.ALL));
  }

  /**
   * Connects to the configured broker as {@code identity}.
   *
   * @param timeout the most connecting and each publish may take
   * @throws SendException when the broker is unreachable, refuses us, or does not answer in time
   */
  public static MessageSender connect(ClientSettings settings, DeviceIdentity identity, Duration timeout)
      throws SendException {
    MessageSender sender = create(settings, identity, timeout);
    try {
      sender.reconnect();
    } catch (SendException e) {
      sender.close();
      throw e;
    }
    return sender;
  }

  /** A sender that connects to the broker when it first publishes. */
  public static MessageSender create(ClientSettings settings, DeviceIdentity identity, Duration timeout)
      throws SendException {
    Objects.requireNonNull(identity, "identity");
    ClientSettings.Mqtt mqtt = settings.mqtt();
    String clientId = "danemsg-send-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
    MqttAsyncClient client;
    try {
      client = new MqttAsyncClient(mqtt.uri(), clientId.substring(0, 23), new MemoryPersistence());
    } catch (MqttException | IllegalArgumentException e) {
      throw new SendException("broker address " + mqtt.uri() + " is not usable: " + e.getMessage(), e);
    }
    MqttConnectOptions options = PublisherConnection.options(mqtt, mqtt.username(), mqtt.password(), timeout, 1000);
    return new MessageSender(settings, identity, timeout, client, options);
  }

  /** Connects again after the broker went away (a no-op while connected). */
  public void reconnect() throws SendException {
    if (client.isConnected()) {
      return;
    }
    try {
      client.connect(options).waitForCompletion(timeout.toMillis());
    } catch (MqttException e) {
      throw new SendException(describe(e, "cannot connect to the broker " + settings.mqtt().uri()), e);
    }
  }

  /**
   * Looks up {@code recipient}'s key securely, seals {@code text} and publishes it at QoS 1; returns
   * once the broker has acknowledged it.
   *
   * @throws SendException when the recipient has no secure key, the message is too large, or the
   *     broker does not take it
   */
  public Sent send(DnsName recipient, String text, Profile profile) throws SendException {
    LookupResult found = keys.lookupBlocking(recipient);
    byte[] payload = seal(recipient, text, profile);
    publish(recipient, payload);
    return new Sent(recipient, payload.length, profile, found instanceof LookupResult.Secure);
  }

  /** Publishes a payload as it is at QoS 1 on {@code topic}'s topic and waits for the PUBACK. */
  public void publish(DnsName topic, byte[] payload) throws SendException {
    publishAsync(topic, payload).waitForCompletion(timeout);
  }

  /** A publish in flight. */
  public final class Publishing {
    private final IMqttDeliveryToken token;
    private final DnsName topic;

    private Publishing(IMqttDeliveryToken token, DnsName topic) {
      this.token = token;
      this.topic = topic;
    }

    /** Waits for the broker's PUBACK. */
    public void waitForCompletion(Duration within) throws SendException {
      try {
        token.waitForCompletion(within.toMillis());
      } catch (MqttException e) {
        throw new SendException(describe(e, "the broker " + settings.mqtt().uri() + " did not acknowledge"
            + " the message to " + topic), e);
      }
    }
  }

  /** Publishes without waiting (many messages at once); wait on the result. */
  public Publishing publishAsync(DnsName topic, byte[] payload) throws SendException {
    reconnect();
    MqttMessage message = new MqttMessage(payload);
    message.setQos(1);
    try {
      return new Publishing(client.publish(topic.toString(), message), topic);
    } catch (MqttException e) {
      throw new SendException(describe(e, "cannot publish to " + topic + " at " + settings.mqtt().uri()), e);
    }
  }

  /** The payload {@link #send} would publish, without publishing it (tests capture payloads so). */
  public byte[] seal(DnsName recipient, String text, Profile profile) throws SendException {
    LookupResult found = keys.lookupBlocking(recipient);
    boolean usable = found instanceof LookupResult.Secure
        || (found instanceof LookupResult.Unauthenticated && settings.dns().dnssecOff());
    if (!usable || found.usableKeys().isEmpty()) {
      throw new SendException("no secure key for " + found.describe());
    }
    if (found != sealedTo) { // the cache hands out the same result until it expires: choose once
      sealedTo = found;
      sealingKey = found.newestKey().orElseThrow();
    }
    PublicKey key = sealingKey;
    try {
      return envelope.seal(text, identity, recipient, key, profile);
    } catch (SealException e) {
      throw new SendException(e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    PublisherConnection.close(client);
  }

  private String describe(MqttException e, String what) {
    int code = e.getReasonCode();
    String why;
    if (code == MqttException.REASON_CODE_CLIENT_TIMEOUT) {
      why = "no answer within " + timeout.toSeconds() + " s";
    } else if (code == MqttException.REASON_CODE_FAILED_AUTHENTICATION
        || code == MqttException.REASON_CODE_NOT_AUTHORIZED) {
      why = "the broker refused the credentials (MQTT_USERNAME/MQTT_PASSWORD)";
    } else if (e.getCause() instanceof ConnectException ce) {
      why = "unreachable (" + ce.getMessage() + ")";
    } else if (e.getCause() instanceof javax.net.ssl.SSLHandshakeException tls) {
      why = "the broker's TLS certificate is not trusted, or the broker does not speak TLS there"
          + " (MQTT_CA_FILE names the CA that signed it; MQTT_TLS must match the port): " + tls.getMessage();
    } else if (e.getCause() != null) {
      why = e.getCause().getClass().getSimpleName() + ": " + e.getCause().getMessage();
    } else {
      why = e.getMessage();
    }
    return what + ": " + why;
  }
}
