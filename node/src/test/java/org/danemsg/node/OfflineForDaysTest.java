package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A Pi that is off for days (a holiday, a dead power supply) gets every message sent meanwhile: the
 * broker keeps them in the node's persistent session, and a message stays valid for the sender's
 * message lifetime (7 days by default), not minutes.
 */
class OfflineForDaysTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final Duration WITHIN = Duration.ofSeconds(60);

  @Test
  void aNodeOfflineForThreeDaysPrintsEveryMessageSentMeanwhileOnce() throws Exception {
    TestDevice receiver = TestDevice.published(knot, broker, "traveller", KeyType.EC_P256);
    TestDevice sender = TestDevice.published(knot, broker, "homebase", KeyType.EC_P256);
    TestDevice hasty = TestDevice.published(knot, broker, "hasty", KeyType.EC_P256).with("message-lifetime", "5m");
    receiver.start().stop(); // the broker now keeps a persistent session for it

    int count = 200;
    try (MessageSender fromHome = sender.sender(); MessageSender fromHasty = hasty.sender()) {
      for (int i = 0; i < count; i++) {
        fromHome.send(receiver.name, "while you were away " + i, Profile.NATIVE);
      }
      fromHasty.send(receiver.name, "only good for five minutes", Profile.NATIVE);
    }

    // Three days later, by the node's clock.
    try (Node node = receiver.start(Clock.offset(Clock.systemUTC(), Duration.ofDays(3)))) {
      Poll.until(WITHIN, () -> receiver.inbox().size() == count && receiver.quarantine().size() == 1,
          () -> "inbox " + receiver.inbox().size() + ", quarantine " + receiver.quarantine());
      Set<String> texts = new HashSet<>(receiver.inboxTexts());
      assertEquals(count, texts.size(), "a message printed twice or lost");
      for (int i = 0; i < count; i++) {
        assertTrue(texts.contains("while you were away " + i), "lost: " + i);
      }
      assertEquals(count, receiver.stdout().lines().filter(l -> l.contains(" says: while you were away ")).count());
      assertEquals(count, node.health().join().delivered());
      List<Map<String, Object>> quarantined = receiver.quarantine();
      assertEquals("EXPIRED", quarantined.get(0).get("reason"), quarantined.toString());
      System.out.printf("OfflineForDaysTest: node clock +3 days: %d of %d messages printed once, the 5-minute one"
          + " %s%n", texts.size(), count, quarantined.get(0).get("reason"));
    }
  }
}
