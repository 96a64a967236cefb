package org.danemsg.node;

import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import org.apache.pekko.Done;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.SourceShape;
import org.apache.pekko.stream.SubscriptionWithCancelException;
import org.apache.pekko.stream.connectors.mqtt.MqttMessage;
import org.apache.pekko.stream.connectors.mqtt.javadsl.MqttMessageWithAck;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.stage.AbstractGraphStageWithMaterializedValue;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.util.ByteString;
import org.eclipse.paho.client.mqttv3.IMqttActionListener;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection to the broker as a source: a persistent session subscribed at QoS 1 to one topic
 * filter, whose messages are acknowledged (PUBACK) only when {@link MqttMessageWithAck#ack()} is
 * called, that is once the pipeline recorded them. The materialized value completes once subscribed;
 * the stage fails with the cause when the connection is lost or cannot be made.
 *
 * <p>Why not the connector's {@code MqttSource.atLeastOnce} (pekko-connectors-mqtt 1.0.2): it turns
 * Paho's manual acks on only in its on-connect callback, after CONNACK. The broker resends the
 * session's unacknowledged messages right after CONNACK, Paho delivers them before manual acks are on
 * and then acks them itself, before they were recorded: a node that crashed soon after a reconnect lost
 * them. Here manual acks are on before {@code connect}, so nothing is ever acked but by {@code ack()}.
 *
 * <p>Backpressure: Paho's callback thread waits (for room in a buffer of {@code bufferSize} messages not
 * yet pulled) rather than dropping or buffering without bound; Paho then stops reading the socket. When
 * the stream cancels without a failure (a drain), the connection stays up until every message pushed has
 * been acked, then the client disconnects; on a failure, or when the stage stops for any other reason,
 * it disconnects at once, acking nothing more: the broker keeps what was not acked for the next
 * connection.
 */
final class ManualAckMqttSource
    extends AbstractGraphStageWithMaterializedValue<SourceShape<MqttMessageWithAck>, CompletionStage<Done>> {

  private static final Logger LOG = LoggerFactory.getLogger(ManualAckMqttSource.class);
  private static final int QOS_AT_LEAST_ONCE = 1;
  private static final int SUBACK_FAILURE = 0x80;
  /** How long a forced disconnect may take after a failed one (the connector's default). */
  private static final long FORCED_DISCONNECT_TIMEOUT_MS = 10_000;

  private final String broker;
  private final String clientId;
  private final MqttConnectOptions options;
  private final String topicFilter;
  private final int bufferSize;
  private final Outlet<MqttMessageWithAck> out = Outlet.create("ManualAckMqttSource.out");
  private final SourceShape<MqttMessageWithAck> shape = SourceShape.of(out);

  private ManualAckMqttSource(String broker, String clientId, MqttConnectOptions options, String topicFilter,
      int bufferSize) {
    if (bufferSize < 1) {
      throw new IllegalArgumentException("bufferSize must be at least 1, not " + bufferSize);
    }
    this.broker = broker;
    this.clientId = clientId;
    this.options = options;
    this.topicFilter = topicFilter;
    this.bufferSize = bufferSize;
  }

  /**
   * A source that connects to {@code broker} (Paho's form: {@code tcp://host:port}, {@code ssl://…}) as
   * {@code clientId} with {@code options} and subscribes to {@code topicFilter} at QoS 1, holding at
   * most {@code bufferSize} messages that were not pulled yet. Materialize it once: {@code options} is
   * handed to Paho as it is.
   */
  static Source<MqttMessageWithAck, CompletionStage<Done>> create(String broker, String clientId,
      MqttConnectOptions options, String topicFilter, int bufferSize) {
    return Source.fromGraph(new ManualAckMqttSource(broker, clientId, options, topicFilter, bufferSize));
  }

  @Override
  public SourceShape<MqttMessageWithAck> shape() {
    return shape;
  }

  @Override
  public Pair<GraphStageLogic, CompletionStage<Done>> createLogicAndMaterializedValuePair(Attributes attributes) {
    CompletableFuture<Done> subscribed = new CompletableFuture<>();
    return Pair.create(new Logic(subscribed), subscribed);
  }

  private final class Logic extends GraphStageLogic {

    private final CompletableFuture<Done> subscribed;
    /** Room for messages handed over by Paho and not yet pushed; Paho's callback thread waits for it. */
    private final Semaphore room = new Semaphore(bufferSize);
    /**
     * Room of messages pushed, not yet given back to Paho (stage thread only). While messages wait for
     * demand, it is given back {@link #roomBatch} at a time: Paho's callback thread, which waits for room
     * then, wakes once a batch instead of once a message (measured: a wake-up of it a message was about
     * 1 % of the node's CPU in a saturated run). Once nothing waits, all of it is given back at once.
     */
    private int roomTaken;
    private final int roomBatch = Math.max(1, bufferSize / 2);
    private final ArrayDeque<Received> waiting = new ArrayDeque<>();
    /** Set in postStop: Paho's callback thread drops what it holds (unacked) instead of waiting. */
    private volatile boolean stopped;
    private MqttAsyncClient client;
    /** Pushed, not yet acked (stage thread only). */
    private int unacked;
    /** Downstream cancelled without a failure: stop once every pushed message is acked. */
    private boolean draining;

    private final AsyncCallback<Done> connected = createAsyncCallback(done -> subscribe());
    private final AsyncCallback<Received> arrived = createAsyncCallback(this::onArrived);
    private final AsyncCallback<Done> settled = createAsyncCallback(done -> onSettled());
    private final AsyncCallback<Throwable> failed = createAsyncCallback(this::fail);

    Logic(CompletableFuture<Done> subscribed) {
      super(shape);
      this.subscribed = subscribed;
      setHandler(out, new AbstractOutHandler() {
        @Override
        public void onPull() {
          Received next = waiting.poll();
          if (next != null) {
            pushOn(next);
          }
        }

        @Override
        public void onDownstreamFinish(Throwable cause) throws Exception {
          if (cause instanceof SubscriptionWithCancelException.NonFailureCancellation && unacked > 0) {
            draining = true;
            setKeepGoing(true);
            // Not pushed, never to be acked: let Paho's callback thread go on (it drops what comes).
            room.release(waiting.size() + roomTaken);
            roomTaken = 0;
            waiting.clear();
          } else {
            super.onDownstreamFinish(cause);
          }
        }
      });
    }

    @Override
    public void preStart() {
      try {
        client = new MqttAsyncClient(broker, clientId, new MemoryPersistence());
        // Before connect: the broker resends the session's unacked messages right after CONNACK.
        client.setManualAcks(true);
        client.setCallback(new Callback());
        client.connect(options, null, new IMqttActionListener() {
          @Override
          public void onSuccess(IMqttToken token) {
            if (stopped) {
              // Paho forbids disconnecting from its callback thread, on which this runs.
              CompletableFuture.runAsync(Logic.this::disconnect);
            } else {
              connected.invoke(Done.getInstance());
            }
          }

          @Override
          public void onFailure(IMqttToken token, Throwable cause) {
            if (stopped) {
              closeQuietly();
            } else {
              failed.invoke(cause);
            }
          }
        });
      } catch (MqttException e) {
        fail(e);
      }
    }

    private void subscribe() {
      try {
        client.subscribe(topicFilter, QOS_AT_LEAST_ONCE, null, new IMqttActionListener() {
          @Override
          public void onSuccess(IMqttToken token) {
            for (int granted : token.getGrantedQos()) {
              if (granted == SUBACK_FAILURE) {
                failed.invoke(new IllegalStateException("the broker refused the subscription to '"
                    + ClusterSettings.shownAs(topicFilter) + "' (SUBACK 0x80): may this user read that topic? (the broker's ACL)"));
                return;
              }
            }
            subscribed.complete(Done.getInstance());
          }

          @Override
          public void onFailure(IMqttToken token, Throwable cause) {
            failed.invoke(cause);
          }
        });
      } catch (MqttException e) {
        fail(e);
      }
    }

    private void onArrived(Received message) {
      if (isClosed(out)) {
        room.release(); // draining: not pushed, not acked, the broker sends it again
      } else if (isAvailable(out)) {
        pushOn(message);
      } else {
        waiting.add(message);
      }
    }

    private void pushOn(Received message) {
      push(out, message);
      unacked++;
      roomTaken++;
      if (waiting.isEmpty() || roomTaken >= roomBatch) {
        room.release(roomTaken);
        roomTaken = 0;
      }
    }

    private void onSettled() {
      unacked--;
      if (draining && unacked == 0) {
        completeStage();
      }
    }

    private void fail(Throwable cause) {
      subscribed.completeExceptionally(cause);
      failStage(cause);
    }

    @Override
    public void postStop() {
      stopped = true;
      room.release(); // wakes Paho's callback thread if it waits for room
      subscribed.completeExceptionally(new IllegalStateException("the MQTT source stopped before it subscribed"));
      if (client != null) {
        disconnect();
      }
    }

    /** Disconnects, then closes the client (its threads end); quietly: it is best effort. */
    private void disconnect() {
      try {
        // No quiesce time: acks already given are queued before the DISCONNECT, nothing else is awaited.
        client.disconnect(0, null, new IMqttActionListener() {
          @Override
          public void onSuccess(IMqttToken token) {
            closeQuietly();
          }

          @Override
          public void onFailure(IMqttToken token, Throwable cause) {
            try {
              client.disconnectForcibly(0, FORCED_DISCONNECT_TIMEOUT_MS);
            } catch (MqttException e) {
              LOG.debug("MQTT client {}: forced disconnect: {}", clientId, e.toString());
            }
            closeQuietly();
          }
        });
      } catch (MqttException e) {
        if (e.getReasonCode() != MqttException.REASON_CODE_CONNECT_IN_PROGRESS) {
          closeQuietly(); // lost or never connected; while connecting, the connect's listener closes it
        }
      }
    }

    private void closeQuietly() {
      try {
        client.close();
      } catch (MqttException e) {
        LOG.debug("MQTT client {}: close: {}", clientId, e.toString());
      }
    }

    /** Paho's callbacks, on its threads. */
    private final class Callback implements MqttCallback {
      @Override
      public void messageArrived(String topic, org.eclipse.paho.client.mqttv3.MqttMessage message)
          throws InterruptedException {
        room.acquire();
        if (stopped) {
          room.release();
          return; // not acked: the broker sends it again on the next connection
        }
        arrived.invoke(new Received(topic, message, client));
      }

      @Override
      public void connectionLost(Throwable cause) {
        failed.invoke(cause);
      }

      @Override
      public void deliveryComplete(IMqttDeliveryToken token) {
        // this client does not publish
      }
    }

    /** A message as the pipeline sees it; {@link #ack()} sends its PUBACK. */
    private final class Received implements MqttMessageWithAck {
      private final MqttMessage message;
      private final int id;
      private final int qos;
      private final MqttAsyncClient from;
      private CompletableFuture<Done> ack;

      Received(String topic, org.eclipse.paho.client.mqttv3.MqttMessage paho, MqttAsyncClient from) {
        this.message = MqttMessage.create(topic, ByteString.fromArrayUnsafe(paho.getPayload()));
        this.id = paho.getId();
        this.qos = paho.getQos();
        this.from = from;
      }

      @Override
      public MqttMessage message() {
        return message;
      }

      /**
       * Sends the PUBACK (queued in Paho, in call order); completes once queued, or fails when the
       * connection is gone (the broker then sends the message again). Called again, the same answer.
       */
      @Override
      public synchronized CompletionStage<Done> ack() {
        if (ack == null) {
          try {
            from.messageArrivedComplete(id, qos);
            ack = CompletableFuture.completedFuture(Done.getInstance());
          } catch (MqttException | RuntimeException e) {
            // RuntimeException: a closed Paho client has dropped its internals
            ack = CompletableFuture.failedFuture(e);
          }
          settled.invoke(Done.getInstance());
        }
        return ack;
      }
    }
  }
}
