package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** DNS outages park messages (and other senders keep flowing); bogus DNSSEC rejects at once. */
class DnsFailureTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final Duration WITHIN = Duration.ofSeconds(30);

  private static TestDevice receiver(String label) {
    return TestDevice.published(knot, broker, label, KeyType.EC_P256)
        .with("parking.min-backoff", "200ms")
        .with("parking.max-backoff", "1s")
        .with("dns.timeout", "1s");
  }

  @Test
  void messageIsParkedWhileDnsIsDownAndDeliveredOnceItIsBack() throws Exception {
    TestDevice receiver = receiver("patient");
    TestDevice unknown = TestDevice.published(knot, broker, "unknown", KeyType.EC_P256);
    TestDevice known = TestDevice.published(knot, broker, "known", KeyType.EC_P256);
    try (Node node = receiver.start(); MessageSender fromUnknown = unknown.sender();
        MessageSender fromKnown = known.sender()) {
      fromKnown.send(receiver.name, "known before the outage", Profile.NATIVE); // receiver caches its key
      receiver.awaitDelivered("known before the outage", WITHIN);
      byte[] sealed = fromUnknown.seal(receiver.name, "parked until DNS is back", Profile.NATIVE);

      knot.stop();
      try {
        fromUnknown.publish(receiver.name, sealed);
        Poll.until(WITHIN, () -> node.health().join().parked() == 1, () -> "not parked: " + node.health().join());
        assertFalse(LogRecorder.linesWith("WARN", "parked message from " + unknown.name, "retry at").isEmpty());
        assertEquals(1, parkedFiles(receiver), "parked in the database");
        // Another sender, whose key is cached, is not held up by the parked one.
        fromKnown.send(receiver.name, "known during the outage", Profile.NATIVE);
        receiver.awaitDelivered("known during the outage", WITHIN);
        assertFalse(receiver.inboxTexts().contains("parked until DNS is back"));
      } finally {
        knot.restart();
      }
      receiver.awaitDelivered("parked until DNS is back", WITHIN);
      Poll.until(WITHIN, () -> parkedFiles(receiver) == 0, () -> "parked file left behind");
      // The lot counts the message out when its ParkedSender hears the Printer committed (a message after
      // the commit that deleted the row): polled like the row, not read in the same instant.
      Poll.until(WITHIN, () -> node.health().join().parked() == 0, () -> "still counted: " + node.health().join());
      assertTrue(receiver.quarantine().isEmpty(), receiver.quarantine().toString());
    }
  }

  @Test
  void parkedMessageSurvivesANodeRestart() throws Exception {
    TestDevice receiver = receiver("resilient");
    TestDevice unknown = TestDevice.published(knot, broker, "stranger", KeyType.EC_P256);
    try (MessageSender fromUnknown = unknown.sender()) {
      byte[] sealed = fromUnknown.seal(receiver.name, "parked across a restart", Profile.NATIVE);
      Node first = receiver.start();
      knot.stop();
      try {
        fromUnknown.publish(receiver.name, sealed);
        Poll.until(WITHIN, () -> first.health().join().parked() == 1, () -> "not parked");
        first.stop(); // acked: from now on only the parked file holds the message
      } finally {
        knot.restart();
      }
      assertEquals(1, parkedFiles(receiver));
      try (Node second = receiver.start()) {
        receiver.awaitDelivered("parked across a restart", WITHIN);
        assertFalse(LogRecorder.linesWith("INFO", "taking up 1 message(s) from 1 sender(s) parked by an earlier run").isEmpty());
        Poll.until(WITHIN, () -> parkedFiles(receiver) == 0, () -> "parked file left behind");
        assertEquals(1, receiver.inbox().size());
      }
    }
  }

  @Test
  void parkedFilesOfAnOlderNodeAreImportedAndDeliveredThoseWithoutASenderFolderToo() throws Exception {
    TestDevice receiver = receiver("upgraded");
    TestDevice sender = TestDevice.published(knot, broker, "early", KeyType.EC_P256);
    try (MessageSender fromSender = sender.sender()) {
      OlderNodeFolder older = new OlderNodeFolder(receiver.dataPath, 0);
      java.time.Instant before = java.time.Instant.now().minusSeconds(60);
      older.parked(sender.name, fromSender.seal(receiver.name, "parked in its sender's folder", Profile.NATIVE),
          before);
      older.parked(null, fromSender.seal(receiver.name, "parked without a sender folder", Profile.NATIVE), before);
      older.close();
      try (Node node = receiver.start()) {
        receiver.awaitDelivered("parked in its sender's folder", WITHIN);
        receiver.awaitDelivered("parked without a sender folder", WITHIN);
        Poll.until(WITHIN, () -> parkedFiles(receiver) == 0, () -> "parked row left behind");
        assertEquals(2, receiver.inbox().size());
        assertFalse(Files.exists(receiver.dataPath.resolve("parked")));
      }
    }
  }

  @Test
  void parkedMessageIsQuarantinedWhenDnsStaysDownPastTheLimit() throws Exception {
    TestDevice receiver = receiver("hopeless").with("parking.give-up-after", "2s");
    TestDevice unknown = TestDevice.published(knot, broker, "silent", KeyType.EC_P256);
    try (Node node = receiver.start(); MessageSender fromUnknown = unknown.sender()) {
      byte[] sealed = fromUnknown.seal(receiver.name, "never verifiable", Profile.NATIVE);
      knot.stop();
      try {
        fromUnknown.publish(receiver.name, sealed);
        Poll.until(WITHIN, () -> !receiver.quarantine().isEmpty(), () -> "not quarantined");
      } finally {
        knot.restart();
      }
      Map<String, Object> entry = receiver.quarantine().get(0);
      assertEquals(Refusal.SENDER_DNS_UNAVAILABLE, entry.get("reason"), entry.toString());
      assertFalse(LogRecorder.linesWith("WARN", "giving up on 1 parked message(s) from " + unknown.name).isEmpty());
      assertTrue(receiver.inbox().isEmpty());
      Poll.until(WITHIN, () -> parkedFiles(receiver) == 0, () -> "parked file left behind");
    }
  }

  @Test
  void aHangingLookupForOneSenderDoesNotHoldUpTheNextSendersMessages() throws Exception {
    // A DNS timeout far longer than the test: the new sender's lookup cannot finish while DNS is paused.
    TestDevice receiver = receiver("unblocked").with("dns.timeout", "60s");
    TestDevice known = TestDevice.published(knot, broker, "regular", KeyType.EC_P256);
    TestDevice unknown = TestDevice.published(knot, broker, "newcomer", KeyType.EC_P256);
    try (Node node = receiver.start(); MessageSender fromKnown = known.sender();
        MessageSender fromUnknown = unknown.sender()) {
      fromKnown.send(receiver.name, "first, keys now cached", Profile.NATIVE);
      receiver.awaitDelivered("first, keys now cached", WITHIN);
      byte[] fromNewcomer = fromUnknown.seal(receiver.name, "from the newcomer", Profile.NATIVE);
      knot.pause();
      try {
        fromUnknown.publish(receiver.name, fromNewcomer);
        fromKnown.send(receiver.name, "not held up", Profile.NATIVE);
        receiver.awaitDelivered("not held up", WITHIN);
        assertFalse(receiver.inboxTexts().contains("from the newcomer"));
        Poll.until(WITHIN, () -> node.health().join().parked() == 1, () -> "the newcomer's message is not parked");
      } finally {
        knot.resume();
      }
      receiver.awaitDelivered("from the newcomer", WITHIN);
      assertEquals(3, receiver.inbox().size());
      assertTrue(receiver.quarantine().isEmpty(), receiver.quarantine().toString());
    }
  }

  @Test
  void theGiveUpClockCountsFromTheFirstParkingAcrossRestarts() throws Exception {
    TestDevice receiver = receiver("patient").with("parking.give-up-after", "10m");
    TestDevice unknown = TestDevice.published(knot, broker, "quiet", KeyType.EC_P256);
    try (MessageSender fromUnknown = unknown.sender()) {
      byte[] sealed = fromUnknown.seal(receiver.name, "parked long ago", Profile.NATIVE);
      Node first = receiver.start();
      knot.stop();
      try {
        fromUnknown.publish(receiver.name, sealed);
        Poll.until(WITHIN, () -> first.health().join().parked() == 1, () -> "not parked");
        first.stop();
        // The node was down for 11 minutes: the parked row says since when it waits.
        try (var db = StoredRecords.writable(receiver.dataPath);
            var update = db.prepareStatement("UPDATE parked SET parked_at = ?")) {
          update.setLong(1, MessageStore.micros(java.time.Instant.now().minus(java.time.Duration.ofMinutes(11))));
          assertEquals(1, update.executeUpdate());
        }
        try (Node second = receiver.start()) {
          Poll.until(WITHIN, () -> !receiver.quarantine().isEmpty(), () -> "not given up after a restart");
        }
      } finally {
        knot.restart();
      }
      assertEquals(Refusal.SENDER_DNS_UNAVAILABLE, receiver.quarantine().get(0).get("reason"));
      assertTrue(receiver.inbox().isEmpty());
    }
  }

  @Test
  void senderInZoneWithBogusDnssecIsRejectedWithTheValidatorsReason() throws Exception {
    TestDevice receiver = receiver("sceptic").with("dns.trust-anchor", knot.wrongAnchorFile().toString());
    TestDevice sender = TestDevice.published(knot, broker, "bogus", KeyType.EC_P256);
    try (Node node = receiver.start(); MessageSender fromSender = sender.sender()) {
      fromSender.send(receiver.name, "from a bogus zone", Profile.NATIVE);
      Poll.until(WITHIN, () -> !receiver.quarantine().isEmpty(), () -> "not rejected");
      Map<String, Object> entry = receiver.quarantine().get(0);
      assertEquals("SENDER_KEYS_UNAVAILABLE", entry.get("reason"));
      assertTrue(String.valueOf(entry.get("detail")).contains("bogus"), entry.toString());
      List<String> logged = LogRecorder.linesWith("WARN", sender.name.toString(), "DNSSEC bogus", "chain of trust");
      assertFalse(logged.isEmpty(), "the validator's reason is not in the log");
      assertTrue(receiver.inbox().isEmpty());
    }
  }

  @Test
  void aSenderOutsideTheAllowedZonesIsRejectedWithoutBeingLookedUp() throws Exception {
    // The sender is published and would verify; only the allowlist stands in the way.
    TestDevice receiver = receiver("picky").with("dns.allowed-zones", "_device.elsewhere.test");
    TestDevice outsider = TestDevice.published(knot, broker, "outsider", KeyType.EC_P256);
    try (Node node = receiver.start(); MessageSender fromOutsider = outsider.sender()) {
      fromOutsider.send(receiver.name, "from outside the allowed zones", Profile.NATIVE);
      Poll.until(WITHIN, () -> !receiver.quarantine().isEmpty(), () -> "not rejected");
      Map<String, Object> entry = receiver.quarantine().get(0);
      assertEquals(Refusal.SENDER_ZONE_NOT_ALLOWED, entry.get("reason"), entry.toString());
      assertTrue(String.valueOf(entry.get("detail")).contains("_device.elsewhere.test"), entry.toString());
      assertTrue(receiver.inbox().isEmpty());
      // The node's own name stays allowed: its check that DNS publishes its key still works.
      Poll.until(WITHIN, () -> node.identityStatus().join() instanceof IdentityKeeper.Published,
          () -> "identity status: " + node.identityStatus().join());
    }
  }

  private static long parkedFiles(TestDevice device) {
    return StoredRecords.count(device.dataPath, "parked");
  }
}
