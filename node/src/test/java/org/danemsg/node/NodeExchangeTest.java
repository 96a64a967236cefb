package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Collections;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Nodes exchanging messages through a real Mosquitto, keys from a real (DNSSEC-signed) Knot. */
class NodeExchangeTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final Duration WITHIN = Duration.ofSeconds(20);

  @Test
  void ecAndRsaNodesExchangeMessagesBothWays() throws Exception {
    TestDevice alice = TestDevice.published(knot, broker, "alice", KeyType.EC_P256);
    TestDevice bob = TestDevice.published(knot, broker, "bob", KeyType.RSA);
    try (Node aliceNode = alice.start(); Node bobNode = bob.start();
        MessageSender fromAlice = alice.sender(); MessageSender fromBob = bob.sender()) {
      fromAlice.send(bob.name, "hello bob, from EC alice", Profile.NATIVE);
      fromBob.send(alice.name, "hello alice, from RSA bob", Profile.NATIVE);
      bob.awaitDelivered("hello bob, from EC alice", WITHIN);
      alice.awaitDelivered("hello alice, from RSA bob", WITHIN);

      var atBob = bob.inbox().get(0);
      assertEquals(alice.name.toString(), atBob.get("sender"));
      assertEquals(bob.name.toString(), atBob.get("recipient"));
      assertEquals("native", atBob.get("profile"));
      assertEquals("validated", atBob.get("dnssec"));
      assertTrue(atBob.get("id") instanceof String && atBob.get("sent-at") instanceof String
          && atBob.get("received-at") instanceof String, atBob.toString());
      assertEquals(alice.name + " says: hello bob, from EC alice\n", bob.stdout());
    }
  }

  @Test
  void legacyProfileMessageIsDeliveredAndMarkedLegacy() throws Exception {
    TestDevice carol = TestDevice.published(knot, broker, "carol", KeyType.RSA);
    TestDevice dave = TestDevice.published(knot, broker, "dave", KeyType.RSA)
        .with("legacy-peers", "*." + carol.name.parent());
    try (Node daveNode = dave.start(); MessageSender fromCarol = carol.sender()) {
      fromCarol.send(dave.name, "legacy hello", Profile.LEGACY);
      dave.awaitDelivered("legacy hello", WITHIN);
      var line = dave.inbox().get(0);
      assertEquals("legacy", line.get("profile"));
      assertEquals(carol.name.toString(), line.get("sender"));
      assertTrue(String.valueOf(line.get("replay-protection")).startsWith("by digest"), line.toString());
      assertTrue(dave.stdout().contains(carol.name + " says: legacy hello [legacy]"), dave.stdout());
    }
  }
  @Test
  void legacyProfileMessageFromASenderNotListedAsALegacyPeerIsRejected() throws Exception {
    TestDevice carol = TestDevice.published(knot, broker, "carol", KeyType.RSA);
    TestDevice erin = TestDevice.published(knot, broker, "erin", KeyType.RSA)
        .with("legacy-peers", "someone-else._device.example.test");
    try (Node erinNode = erin.start(); MessageSender fromCarol = carol.sender()) {
      fromCarol.send(erin.name, "legacy from a stranger", Profile.LEGACY);
      fromCarol.send(erin.name, "native is fine", Profile.NATIVE);
      erin.awaitDelivered("native is fine", WITHIN);
      assertEquals(1, erin.inbox().size(), erin.inbox().toString());
      var entry = erin.quarantine().get(0);
      assertEquals("LEGACY_NOT_ALLOWED", entry.get("reason"), entry.toString());
      assertTrue(String.valueOf(entry.get("detail")).contains("LEGACY_PEERS"), entry.toString());
    }
  }


  @Test
  void controlCharactersAreEscapedOnStdout() throws Exception {
    TestDevice erin = TestDevice.published(knot, broker, "erin", KeyType.EC_P256);
    TestDevice frank = TestDevice.published(knot, broker, "frank", KeyType.EC_P256);
    String hostile = "line1\nline2\u001b[2J\\end\u202e";
    try (Node frankNode = frank.start(); MessageSender fromErin = erin.sender()) {
      fromErin.send(frank.name, hostile, Profile.NATIVE);
      frank.awaitDelivered(hostile, WITHIN);
      assertEquals(erin.name + " says: line1\\nline2\\x1b[2J\\\\end\\u202e\n", frank.stdout());
    }
  }

  @Test
  void messageSentWhileReceiverIsDownIsDeliveredWhenItStarts() throws Exception {
    TestDevice gina = TestDevice.published(knot, broker, "gina", KeyType.EC_P256);
    TestDevice hank = TestDevice.published(knot, broker, "hank", KeyType.EC_P256);
    hank.start().stop(); // the broker now holds hank's persistent session
    try (MessageSender fromGina = gina.sender()) {
      fromGina.send(hank.name, "while you were out", Profile.NATIVE);
    }
    try (Node hankNode = hank.start()) {
      hank.awaitDelivered("while you were out", WITHIN);
    }
  }

  @Test
  void receiverDyingBeforePrintingPrintsTheMessageOnceAfterRestart() throws Exception {
    TestDevice ivan = TestDevice.published(knot, broker, "ivan", KeyType.EC_P256);
    TestDevice judy = TestDevice.published(knot, broker, "judy", KeyType.EC_P256);
    CountDownLatch reached = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Node dying = judy.start(message -> {
      reached.countDown();
      release.await(30, TimeUnit.SECONDS);
      throw new IllegalStateException("simulated crash before printing");
    });
    try (MessageSender fromIvan = ivan.sender()) {
      fromIvan.send(judy.name, "survives a crash", Profile.NATIVE);
      assertTrue(reached.await(20, TimeUnit.SECONDS), "the message never reached the printer");
      dying.crash();
      release.countDown();
      assertTrue(dying.awaitTermination(Duration.ofSeconds(30)), "the crashed node did not stop");
      assertTrue(judy.inbox().isEmpty(), "printed before the crash: " + judy.inbox());

      try (Node restarted = judy.start(); MessageSender again = ivan.sender()) {
        judy.awaitDelivered("survives a crash", WITHIN);
        // A later message proves the redelivery was handled: nothing of the first can follow it.
        again.send(judy.name, "after the crash", Profile.NATIVE);
        judy.awaitDelivered("after the crash", WITHIN);
        assertEquals(1, Collections.frequency(judy.inboxTexts(), "survives a crash"), judy.inboxTexts().toString());
      }
    }
  }
}
