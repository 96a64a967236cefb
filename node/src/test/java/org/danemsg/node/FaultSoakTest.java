package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.danemsg.client.MessageSender;
import org.danemsg.client.SendException;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * 10,000 messages from several senders while faults are injected at random (seeded): the broker
 * restarted, the receiving node crashed and started again, the DNS server paused. Every message must
 * be printed exactly once; whatever else arrives (a copy the sender published again after a broker
 * restart, a redelivery after a crash) is quarantined with a reason.
 */
@Tag("soak") // mvn -P quick leaves it out
class FaultSoakTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final Logger LOG = LoggerFactory.getLogger(FaultSoakTest.class);
  private static final int COUNT = 10_000;
  private static final int SENDERS = 8;
  private static final int BATCH = 100;
  private static final long SEED = 20261123L;

  private enum Fault { BROKER_RESTART, NODE_CRASH, DNS_PAUSE }

  @Test
  void everyMessageIsPrintedExactlyOnceThroughBrokerNodeAndDnsFaults() throws Exception {
    Random random = new Random(SEED);
    // Keys are cached for at most 1 s and DNS pauses last 2 to 4 s, so they reach the message path.
    TestDevice receiver = TestDevice.published(knot, broker, "soak", KeyType.EC_P256)
        .with("dns.max-ttl", "1s").with("dns.timeout", "1s")
        .with("parking.min-backoff", "200ms").with("parking.max-backoff", "1s");
    List<TestDevice> senders = new ArrayList<>();
    List<MessageSender> outs = new ArrayList<>();
    for (int i = 0; i < SENDERS; i++) {
      TestDevice sender = TestDevice.published(knot, broker, "soaker", i % 3 == 0 ? KeyType.RSA : KeyType.EC_P256);
      senders.add(sender);
      outs.add(sender.sender());
    }
    List<byte[]> sealed = new ArrayList<>(COUNT);
    List<Integer> from = new ArrayList<>(COUNT);
    for (int i = 0; i < COUNT; i++) {
      int s = random.nextInt(SENDERS);
      from.add(s);
      sealed.add(outs.get(s).seal(receiver.name, "soak-" + i, Profile.NATIVE));
    }

    Map<Fault, Integer> injected = new EnumMap<>(Fault.class);
    Node node = receiver.start();
    try {
      for (int start = 0; start < COUNT; start += BATCH) {
        if (start > 0 && random.nextInt(10) == 0) {
          Fault fault = Fault.values()[random.nextInt(Fault.values().length)];
          injected.merge(fault, 1, Integer::sum);
          node = inject(fault, node, receiver, random);
        }
        publishBatch(outs, senders, receiver, sealed, from, start, Math.min(COUNT, start + BATCH));
      }
      Node running = node;
      Poll.until(Duration.ofMinutes(4), () -> uniqueDelivered(receiver) == COUNT,
          () -> "delivered " + uniqueDelivered(receiver) + " of " + COUNT + "; " + running.health().join().line());
    } finally {
      knot.resume();
      node.stop();
      outs.forEach(MessageSender::close);
    }

    List<String> texts = receiver.inboxTexts();
    assertEquals(COUNT, new HashSet<>(texts).size(), "lost messages");
    assertEquals(COUNT, texts.size(), "messages printed twice");
    Map<String, Integer> reasons = new HashMap<>();
    for (Map<String, Object> refused : receiver.quarantine()) {
      assertNotNull(refused.get("reason"), refused.toString());
      reasons.merge((String) refused.get("reason"), 1, Integer::sum);
    }
    // Copies are the only expected refusals: nothing genuine may be given up on.
    assertTrue(reasons.keySet().stream().allMatch(Refusal.REPLAY::equals), reasons.toString());
    if (injected.containsKey(Fault.DNS_PAUSE)) {
      assertTrue(!LogRecorder.linesWith("WARN", "parked message from soaker-").isEmpty(),
          "the DNS pauses parked nothing: the fault did not reach the message path");
    }
    String summary = "soak: " + COUNT + " messages from " + SENDERS + " senders, faults " + injected
        + ", printed " + texts.size() + " (unique " + new HashSet<>(texts).size() + "), quarantined " + reasons;
    LOG.info(summary);
    System.out.println(summary);
  }

  private static Node inject(Fault fault, Node node, TestDevice receiver, Random random) {
    switch (fault) {
      case BROKER_RESTART -> broker.restart();
      case NODE_CRASH -> {
        node.crash();
        node.awaitTermination(Duration.ofSeconds(30));
        return receiver.start();
      }
      case DNS_PAUSE -> {
        knot.pause();
        // Resumed by a timer while messages keep flowing into the node.
        Thread resumer = new Thread(() -> {
          try {
            Thread.sleep(2000 + random.nextInt(2000));
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          knot.resume();
        }, "dns-resume");
        resumer.setDaemon(true);
        resumer.start();
      }
      default -> throw new IllegalStateException(fault.toString());
    }
    return node;
  }

  /** Publishes messages [start, end); after a broker restart, reconnects and publishes them again. */
  private static void publishBatch(List<MessageSender> outs, List<TestDevice> senders, TestDevice receiver,
      List<byte[]> sealed, List<Integer> from, int start, int end) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      try {
        List<MessageSender.Publishing> inFlight = new ArrayList<>();
        for (int i = start; i < end; i++) {
          inFlight.add(outs.get(from.get(i)).publishAsync(receiver.name, sealed.get(i)));
        }
        for (MessageSender.Publishing p : inFlight) {
          p.waitForCompletion(Duration.ofSeconds(10));
        }
        return;
      } catch (SendException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Set<Integer> used = new HashSet<>(from.subList(start, end));
        for (int s : used) {
          outs.get(s).close();
          outs.set(s, senders.get(s).sender());
        }
      }
    }
  }

  private static int uniqueDelivered(TestDevice receiver) {
    return new HashSet<>(receiver.inboxTexts()).size();
  }
}
