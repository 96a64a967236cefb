package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.IdentityFiles;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Cluster remoting through a key rotation: two members (nodes in this JVM) with their own copies of the
 * identity folder, both with the next key staged, only one of them with it promoted. One member then
 * presents the new key and the other the old one; the second is restarted and joins again (both ways of
 * the connection are TLS between different keys of the identity), and the two claim and print messages
 * together.
 */
class ClusterKeyRotationTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final Duration WITHIN = Duration.ofSeconds(30);

  @Test
  void membersPresentingTheOldAndTheNewKeyStayOneCluster() throws Exception {
    TestDevice collector = TestDevice.published(knot, broker, "rolling", KeyType.EC_P256)
        .with("cluster.claim-timeout", "3s");
    TestDevice sender = TestDevice.published(knot, broker, "roller", KeyType.EC_P256);
    List<Integer> ports = ClusterCrashTest.freePorts(2);
    Path secondFolder = Files.createTempDirectory("identity-copy-");
    IdentityFiles firstFiles = new IdentityFiles(collector.cryptoPath, collector.name);
    IdentityFiles secondFiles = new IdentityFiles(secondFolder, collector.name);
    Files.copy(firstFiles.keyFile(), secondFiles.keyFile(), StandardCopyOption.COPY_ATTRIBUTES);
    Files.copy(firstFiles.certificateFile(), secondFiles.certificateFile(), StandardCopyOption.COPY_ATTRIBUTES);
    TestDevice first = collector.clusterMember(ports.get(0), ports);
    TestDevice second = collector.clusterMember(ports.get(1), ports).with("crypto-path", secondFolder.toString());
    String old = collector.identity.fingerprint();
    DeviceIdentity next = DeviceIdentity.generate(collector.name, KeyType.EC_P256, DeviceIdentity.DEFAULT_VALIDITY);

    // Started together: neither is Up (nor subscribes) before both are members (a majority of the 2 seeds).
    try (Node firstNode = first.launch()) {
      Node secondNode = second.launch();
      try {
        first.awaitSubscribed(firstNode);
        second.awaitSubscribed(secondNode);
        // Step 1 on the second member: it trusts the next key too.
        secondFiles.staged().write(next, false);
        Poll.until(WITHIN, () -> !LogRecorder.linesWith("current " + old + ", staged " + next.fingerprint()).isEmpty(),
            () -> "the second member did not load the staged key");
        // Steps 1 and 2 on the first member: it presents the next key, and still trusts the old one (retired).
        firstFiles.staged().write(next, false);
        firstFiles.promoteStaged();
        Poll.until(WITHIN, () -> !LogRecorder.linesWith("current " + next.fingerprint() + ", retired " + old).isEmpty(),
            () -> "the first member did not promote the key");

        // New connections both ways between a member presenting the new key and one presenting the old.
        secondNode.close();
        secondNode = startWhenItsPortIsFree(second); // subscribed, which it is only once Up in the cluster
        try (MessageSender out = sender.sender()) {
          for (int i = 0; i < 6; i++) {
            out.publish(collector.name, out.seal(collector.name, "rolling " + i, Profile.NATIVE));
          }
        }
        Poll.until(WITHIN, () -> first.inbox().size() + second.inbox().size() == 6,
            () -> "printed " + first.inbox().size() + " + " + second.inbox().size() + " of 6");
        assertEquals(List.of(), LogRecorder.linesWith("cluster remoting refused", "127.0.0.1:" + ports.get(0)));
        assertEquals(List.of(), LogRecorder.linesWith("cluster remoting refused", "127.0.0.1:" + ports.get(1)));
        assertEquals(null, firstNode.failure());
      } finally {
        secondNode.close();
      }
    }
  }

  /**
   * Starts {@code member} again in this JVM. Its earlier actor system may still hold its port for a while
   * after {@code close()} returned: Pekko 1.7.0's remoting over TLS sometimes does not end its shutdown
   * (apache/pekko#3317; a node process exits, so its port is free at once).
   */
  private static Node startWhenItsPortIsFree(TestDevice member) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      try {
        return member.start();
      } catch (org.danemsg.client.SettingsException e) {
        if (!e.getMessage().contains("Address already in use") || System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(1000);
      }
    }
  }
}
