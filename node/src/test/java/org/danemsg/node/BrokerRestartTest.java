package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.danemsg.client.MessageSender;
import org.danemsg.client.SendException;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** 1,000 messages with the broker restarted in the middle; and the loopback throughput figure. */
class BrokerRestartTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final Logger LOG = LoggerFactory.getLogger(BrokerRestartTest.class);
  private static final int COUNT = 1000;
  private static final int BATCH = 50;

  @Test
  void brokerRestartInTheMiddleOfAThousandMessagesLosesNoneAndPrintsNoneTwice() throws Exception {
    TestDevice receiver = TestDevice.published(knot, broker, "steady", KeyType.EC_P256);
    TestDevice sender = TestDevice.published(knot, broker, "busy", KeyType.EC_P256);
    try (Node node = receiver.start()) {
      MessageSender out = sender.sender();
      List<byte[]> sealed = new ArrayList<>();
      for (int i = 0; i < COUNT; i++) {
        sealed.add(out.seal(receiver.name, "msg-" + i, Profile.NATIVE));
      }
      for (int start = 0; start < COUNT; start += BATCH) {
        if (start == COUNT / 2) {
          broker.stop();
          broker.restart();
        }
        List<byte[]> batch = sealed.subList(start, Math.min(COUNT, start + BATCH));
        out = publishBatch(out, sender, receiver, batch);
      }
      out.send(receiver.name, "marker", Profile.NATIVE);
      out.close();
      receiver.awaitDelivered("marker", Duration.ofSeconds(60));

      List<String> texts = receiver.inboxTexts();
      Set<String> unique = new HashSet<>(texts);
      assertEquals(COUNT + 1, unique.size(), "lost messages");
      assertEquals(COUNT + 1, texts.size(), "messages printed twice");
      LOG.info("broker restart: {} delivered, {} redeliveries/resends refused as replays",
          texts.size(), receiver.quarantine().size());
      for (Map<String, Object> refused : receiver.quarantine()) {
        assertEquals(Refusal.REPLAY, refused.get("reason"), refused.toString());
      }
    }
  }

  /** Publishes a batch; if the broker went away meanwhile, reconnects and publishes it again. */
  private static MessageSender publishBatch(MessageSender out, TestDevice sender, TestDevice receiver,
      List<byte[]> batch) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      try {
        List<MessageSender.Publishing> inFlight = new ArrayList<>();
        for (byte[] payload : batch) {
          inFlight.add(out.publishAsync(receiver.name, payload));
        }
        for (MessageSender.Publishing p : inFlight) {
          p.waitForCompletion(Duration.ofSeconds(10));
        }
        return out;
      } catch (SendException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        out.close();
        out = sender.sender(); // broker.restart() returns once the broker accepts connections

      }
    }
  }

  @Test
  void loopbackThroughputFigure() throws Exception {
    TestDevice receiver = TestDevice.published(knot, broker, "fast", KeyType.EC_P256);
    TestDevice sender = TestDevice.published(knot, broker, "eager", KeyType.EC_P256);
    try (Node node = receiver.start(); MessageSender out = sender.sender()) {
      out.send(receiver.name, "warm-up", Profile.NATIVE);
      receiver.awaitDelivered("warm-up", Duration.ofSeconds(20));
      int rounds = Integer.getInteger("figure.rounds", 1);
      for (int round = 1; round < rounds; round++) {
        figure(node, receiver, out, round);
      }
      figure(node, receiver, out, rounds);
    }
  }

  private static void figure(Node node, TestDevice receiver, MessageSender out, int round) throws Exception {
    {
      long before = node.health().join().delivered();
      long[] sentAt = new long[COUNT];
      List<byte[]> sealed = new ArrayList<>();
      for (int i = 0; i < COUNT; i++) {
        sealed.add(out.seal(receiver.name, "t" + round + "-" + i, Profile.NATIVE));
      }
      List<MessageSender.Publishing> inFlight = new ArrayList<>();
      long start = System.currentTimeMillis();
      for (int i = 0; i < COUNT; i++) {
        sentAt[i] = System.currentTimeMillis();
        inFlight.add(out.publishAsync(receiver.name, sealed.get(i)));
      }
      for (MessageSender.Publishing p : inFlight) {
        p.waitForCompletion(Duration.ofSeconds(30));
      }
      // Polling the node's counter, not the inbox file: parsing the file every few ms would compete
      // with the node for the CPU and distort the figure.
      Poll.until(Duration.ofSeconds(60), () -> node.health().join().delivered() == before + COUNT,
          () -> node.health().join().line());
      long[] latency = new long[COUNT];
      long last = 0;
      for (Map<String, Object> line : receiver.inbox()) {
        String text = (String) line.get("text");
        if (text.startsWith("t" + round + "-")) {
          long received = Instant.parse((String) line.get("received-at")).toEpochMilli();
          int index = Integer.parseInt(text.substring(text.indexOf('-') + 1));
          latency[index] = received - sentAt[index];
          last = Math.max(last, received);
        }
      }
      Arrays.sort(latency);
      double seconds = (last - start) / 1000.0;
      String figure = String.format("loopback figure (round " + round + "): %d messages in %.2f s = %.0f msg/s end to end"
          + " (pre-sealed, publish to inbox line); latency p50 %d ms, p99 %d ms, max %d ms", COUNT, seconds, COUNT / seconds,
          latency[COUNT / 2], latency[COUNT * 99 / 100], latency[COUNT - 1]);
      LOG.info(figure);
      System.out.println(figure);
    }
  }
}
