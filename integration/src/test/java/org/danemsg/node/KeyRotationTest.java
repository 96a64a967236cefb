package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.IdentityException;
import org.danemsg.protocol.IdentityFiles;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.protocol.dns.DaneLookup;
import org.danemsg.protocol.dns.LookupResult;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.danemsg.tools.Tools;
import org.jose4j.json.JsonUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A key rollover with {@code tools identity rotate} while two nodes exchange messages, against real
 * Knot and Mosquitto. In the node package (of node's test-jar) for its fixtures; in the tools module
 * because it runs the real command.
 */
class KeyRotationTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final Duration ALICE_EVERY = Duration.ofMillis(20);
  private static final Duration BOB_EVERY = Duration.ofMillis(50);

  /** A message alice sealed: to which of bob's keys (the JWE kid), and whether bob had switched yet. */
  private record ToBob(String text, String kid, boolean afterSwitch) {}

  /** A message bob signed, and with which of his keys. */
  private record ToAlice(String text, String signer) {}

  private static String[] updateOptions(TestDevice device) {
    return new String[] {"--name", device.name.toString(), "--dir", device.cryptoPath.toString(),
        "--server", "127.0.0.1:" + knot.port(), "--tsig-key", knot.tsigKeyFile().toString(), "--ttl", "1"};
  }

  private static String tools(String command, String sub, String[] options, String... extra) {
    List<String> args = new ArrayList<>(List.of(command, sub));
    args.addAll(List.of(options));
    args.addAll(List.of(extra));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Tools.run(args.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
    assertEquals(0, exit, () -> String.join(" ", args) + "\n" + out + err);
    return out.toString();
  }

  private static String kidOf(byte[] compactJwe) throws Exception {
    String header = new String(compactJwe, 0, indexOf(compactJwe, (byte) '.'), StandardCharsets.US_ASCII);
    Map<String, Object> json = JsonUtil.parseJson(new String(Base64.getUrlDecoder().decode(header),
        StandardCharsets.UTF_8));
    return (String) json.get("kid");
  }

  private static int indexOf(byte[] bytes, byte b) {
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == b) {
        return i;
      }
    }
    throw new IllegalArgumentException("not a compact JWE");
  }

  private static Map<String, Long> counts(List<String> texts) {
    return texts.stream().collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
  }

  @Test
  void aRolloverWhileMessagesFlowLosesNone() throws Exception {
    TestDevice alice = TestDevice.published(knot, broker, "alice", KeyType.EC_P256);
    TestDevice bob = TestDevice.unpublished(knot, broker, "bob", KeyType.EC_P256)
        .with("identity.publication-check-interval", "1s");
    // Bob's record gets the TTL the rollover uses, so that waiting twice the TTL is enough for every
    // cache (the senders' and alice's node's) to hold both records.
    tools("identity", "publish", updateOptions(bob));
    IdentityFiles bobFiles = new IdentityFiles(bob.cryptoPath, bob.name);
    DeviceIdentity oldKey = bob.identity;

    List<ToBob> toBob = new CopyOnWriteArrayList<>();
    List<ToAlice> toAlice = new CopyOnWriteArrayList<>();
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    AtomicBoolean sending = new AtomicBoolean(true);

    Node aliceNode = alice.start();
    Node bobNode = bob.start();
    Thread aliceSends = new Thread(() -> {
      try (MessageSender sender = alice.sender()) {
        for (int i = 0; sending.get(); i++) {
          boolean switched = Files.exists(bobFiles.retired().keyFile());
          byte[] payload = sender.seal(bob.name, "alice-" + i, Profile.NATIVE);
          sender.publish(bob.name, payload);
          toBob.add(new ToBob("alice-" + i, kidOf(payload), switched));
          Thread.sleep(ALICE_EVERY.toMillis()); // the pace of a chatty device, not a wait for an event
        }
      } catch (Throwable e) {
        failures.add(e);
      }
    }, "alice-sends");
    Thread bobSends = new Thread(() -> {
      MessageSender sender = null;
      DeviceIdentity signer = null;
      try {
        for (int i = 0; sending.get(); i++) {
          // Like 'tools send', each message signs with the key the files hold now.
          DeviceIdentity now;
          try {
            now = bobFiles.load();
          } catch (IdentityException e) {
            continue; // between the two renames of the switch
          }
          if (signer == null || !signer.fingerprint().equals(now.fingerprint())) {
            if (sender != null) {
              sender.close();
            }
            signer = now;
            sender = MessageSender.connect(bob.settings().client(), signer, Duration.ofSeconds(10));
          }
          sender.send(alice.name, "bob-" + i, Profile.NATIVE);
          toAlice.add(new ToAlice("bob-" + i, signer.fingerprint()));
          Thread.sleep(BOB_EVERY.toMillis());
        }
      } catch (Throwable e) {
        failures.add(e);
      } finally {
        if (sender != null) {
          sender.close();
        }
      }
    }, "bob-sends");
    try {
      aliceSends.start();
      bobSends.start();
      Poll.until(Duration.ofSeconds(15), () -> bob.inbox().size() >= 20 && alice.inbox().size() >= 5,
          () -> "no exchange before the rollover: " + failures);

      String rotated = tools("identity", "rotate", updateOptions(bob), "--wait");
      assertTrue(rotated.contains("complete"), rotated);
      DeviceIdentity newKey = bobFiles.load();
      int aliceAtSwitch = toBob.size();
      int bobAtSwitch = toAlice.size();
      Poll.until(Duration.ofSeconds(15), () -> toBob.size() >= aliceAtSwitch + 50
          && toAlice.size() >= bobAtSwitch + 10, () -> "senders stalled after the rollover: " + failures);

      // A peer whose cache still held the old record: bob keeps the retired key for it.
      try (MessageSender sender = alice.sender()) {
        byte[] late = new Envelope(alice.settings().envelopeSettings())
            .seal("alice-late", alice.identity, bob.name, oldKey.publicKey(), Profile.NATIVE);
        sender.publish(bob.name, late);
        toBob.add(new ToBob("alice-late", kidOf(late), true));
      }
      sending.set(false);
      aliceSends.join(10_000);
      bobSends.join(10_000);
      assertEquals(List.of(), failures);

      List<String> sentToBob = toBob.stream().map(ToBob::text).toList();
      List<String> sentToAlice = toAlice.stream().map(ToAlice::text).toList();
      Poll.until(Duration.ofSeconds(20), () -> bob.inboxTexts().containsAll(sentToBob)
              && alice.inboxTexts().containsAll(sentToAlice),
          () -> "not delivered; bob's quarantine " + bob.quarantine() + ", alice's " + alice.quarantine());

      // Every message printed exactly once, none refused.
      Map<String, Long> bobPrinted = counts(bob.inboxTexts());
      assertEquals(sentToBob.size(), bobPrinted.size());
      assertTrue(bobPrinted.values().stream().allMatch(n -> n == 1), bobPrinted::toString);
      assertEquals(sentToBob.size(), bob.stdout().lines().filter(l -> l.contains(" says: alice-")).count());
      Map<String, Long> alicePrinted = counts(alice.inboxTexts());
      assertEquals(sentToAlice.size(), alicePrinted.size());
      assertTrue(alicePrinted.values().stream().allMatch(n -> n == 1), alicePrinted::toString);
      assertEquals(List.of(), bob.quarantine());
      assertEquals(List.of(), alice.quarantine());

      // Bob opened messages sealed to the old key (before and after the switch) and to the new one,
      // some of those before the switch (with the staged key).
      Map<String, Long> byKid = toBob.stream().collect(Collectors.groupingBy(ToBob::kid, Collectors.counting()));
      long toOld = byKid.getOrDefault(oldKey.keyId(), 0L);
      long toNew = byKid.getOrDefault(newKey.keyId(), 0L);
      assertEquals(sentToBob.size(), toOld + toNew, byKid::toString);
      assertTrue(toOld > 0 && toNew > 0, byKid::toString);
      long toNewBeforeSwitch = toBob.stream().filter(m -> !m.afterSwitch() && m.kid().equals(newKey.keyId())).count();
      long toOldAfterSwitch = toBob.stream().filter(m -> m.afterSwitch() && m.kid().equals(oldKey.keyId())).count();
      assertTrue(toNewBeforeSwitch > 0, "no message sealed to the staged key before the switch: " + byKid);
      assertTrue(toOldAfterSwitch > 0);
      assertTrue(toBob.stream().filter(m -> m.afterSwitch() && !m.text().equals("alice-late"))
          .allMatch(m -> m.kid().equals(newKey.keyId())), "from the switch on, senders encrypt to the new key");

      // Bob signed with the new key from the switch on, and alice verified those messages.
      long signedNew = toAlice.stream().filter(m -> m.signer().equals(newKey.fingerprint())).count();
      assertTrue(toAlice.subList(bobAtSwitch, toAlice.size()).stream()
          .allMatch(m -> m.signer().equals(newKey.fingerprint())));
      assertTrue(signedNew >= 10, "signed with the new key: " + signedNew);

      // DNS publishes only the new key, and bob's node sees its key published.
      LookupResult published = DaneLookup.create(knot.lookupSettings()).lookup(bob.name);
      assertInstanceOf(LookupResult.Secure.class, published, published.describe());
      assertEquals(List.of(newKey.publicKey()), published.usableKeys());
      Poll.until(Duration.ofSeconds(10), () -> bobNode.identityStatus().join() instanceof IdentityKeeper.Published p
          && p.detail().contains("1 key"), () -> "bob's node reports " + bobNode.identityStatus().join());

      System.out.printf("key rollover: alice sent %d messages to bob (%d sealed to the old key, %d after the"
              + " switch; %d to the new key, %d before the switch), bob printed %d; bob sent %d to alice"
              + " (%d signed with the new key), alice printed %d%n", sentToBob.size(), toOld, toOldAfterSwitch,
          toNew, toNewBeforeSwitch, bobPrinted.size(), sentToAlice.size(), signedNew, alicePrinted.size());
    } finally {
      sending.set(false);
      aliceSends.join(10_000);
      bobSends.join(10_000);
      aliceNode.stop();
      bobNode.stop();
    }
  }
}
