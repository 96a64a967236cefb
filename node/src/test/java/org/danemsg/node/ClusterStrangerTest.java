package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.BootstrapSetup;
import org.apache.pekko.actor.setup.ActorSystemSetup;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.protocol.TestIdentities;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Cluster remoting admits holders of the identity's key only. A member of one identity (a node in this
 * JVM, its own seed) is approached on its cluster port by an actor system configured exactly as a member
 * but holding another key of the same name, and by a plain TCP client sending garbage: neither gets in,
 * the member logs each refusal in one line, and it goes on claiming and printing messages.
 */
class ClusterStrangerTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final Duration WITHIN = Duration.ofSeconds(20);

  @Test
  void aHolderOfAnotherKeyCannotJoinAndGarbageOnTheClusterPortHarmsNothing() throws Exception {
    TestDevice collector = TestDevice.published(knot, broker, "guarded", KeyType.EC_P256);
    TestDevice sender = TestDevice.published(knot, broker, "visitor", KeyType.EC_P256);
    List<Integer> ports = ClusterCrashTest.freePorts(3);
    int memberPort = ports.get(0);
    int strangerPort = ports.get(1);
    int apiPort = ports.get(2);
    TestDevice member = collector.member().with("cluster.listen", "127.0.0.1:" + memberPort)
        .with("cluster.seeds", "127.0.0.1:" + memberPort).with("api.listen", "127.0.0.1:" + apiPort);
    long started = System.nanoTime();
    try (Node node = member.start()) {
      ApiClient api = new ApiClient(apiPort, member.dataPath);

      // Another key of the same name, in an actor system set up as a member's, with the member as its seed.
      DeviceIdentity otherKey = TestIdentities.fresh(collector.name.toString(), KeyType.EC_P256);
      ActorSystem<Void> stranger = ActorSystem.create(Behaviors.empty(), ClusterSettings.SYSTEM_NAME,
          ActorSystemSetup.create(BootstrapSetup.create(memberConfig(strangerPort, memberPort)),
              new IdentityPinnedTls(new KeyRing(new IdentityKeeper.Keys(otherKey.name(), List.of(otherKey))))
                  .setup()));
      try {
        // TLS 1.3: the stranger sees the member's certificate first and ends the handshake; both log it.
        Poll.until(WITHIN, () -> !refusals(memberPort, "it refused this member's certificate").isEmpty(),
            () -> "the member did not log the stranger's refusal");
        Poll.until(WITHIN, () -> !LogRecorder.linesWith("cluster remoting refused the connection to 127.0.0.1:"
            + memberPort, "not one of this identity's keys").isEmpty(), () -> "the stranger did not refuse the member");
        assertEquals(0, java.util.stream.StreamSupport.stream(Cluster.get(stranger).state().getMembers().spliterator(),
            false).filter(m -> m.status() == MemberStatus.up()).count(), "the stranger is in no cluster");
        assertEquals(1.0, metric(api.get("/metrics").body(), "danemsg_cluster_members_up"));
      } finally {
        stranger.terminate();
        stranger.getWhenTerminated().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
      }

      // A TLS client that presents the other key whatever the member's is: the member's trust refuses it.
      javax.net.ssl.SSLContext presenting = javax.net.ssl.SSLContext.getInstance("TLSv1.3", "SunJSSE");
      presenting.init(new javax.net.ssl.KeyManager[] {IdentityPinnedTls.keyManager(otherKey)},
          new javax.net.ssl.TrustManager[] {new IdentityPinnedTlsTest.TrustingEveryone()}, null);
      try (javax.net.ssl.SSLSocket tls = (javax.net.ssl.SSLSocket) presenting.getSocketFactory()
          .createSocket(InetAddress.getLoopbackAddress(), memberPort)) {
        tls.setSoTimeout(10_000);
        tls.startHandshake(); // done for the client in TLS 1.3; the member answers the certificate with an alert
        tls.getOutputStream().write("PEKK".getBytes(StandardCharsets.ISO_8859_1));
        assertTrue(closedByPeer(tls.getInputStream()), "the member did not close the connection");
      } catch (IOException expected) {
        // the alert, or the closed connection, arrived before the write
      }
      Poll.until(WITHIN, () -> !refusals(memberPort, "key sha256 " + otherKey.fingerprint()).isEmpty(),
          () -> "the member did not log the other key");

      // Not TLS at all: bytes as a client of Artery's plain TCP would send, and garbage.
      try (Socket plain = new Socket(InetAddress.getLoopbackAddress(), memberPort)) {
        plain.setSoTimeout(10_000);
        OutputStream out = plain.getOutputStream();
        out.write("PEKK\u0001garbage, not a TLS record\r\n".repeat(100).getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        assertTrue(closedByPeer(plain.getInputStream()), "the member did not close the connection");
      }
      Poll.until(WITHIN, () -> !refusals(memberPort, "it does not speak TLS").isEmpty(),
          () -> "the member did not log the plain TCP client");

      // The member is unharmed: it claims and prints a message sent now.
      try (MessageSender out = sender.sender()) {
        out.publish(collector.name, out.seal(collector.name, "after the strangers", Profile.NATIVE));
      }
      member.awaitDelivered("after the strangers", WITHIN);
      String metrics = api.get("/metrics").body();
      assertEquals(1.0, metric(metrics, "danemsg_cluster_claims_total{answer=\"granted\"}"), metrics);
      assertEquals(1.0, metric(metrics, "danemsg_cluster_members_up"), metrics);
      assertNull(node.failure());
      // The share group is a secret (whoever names it can make a share of the messages vanish at the broker).
      String group = node.settings().cluster().shareGroup();
      assertEquals(List.of(), LogRecorder.linesWith(group), "a log line names the share group " + group);
      System.out.printf("ClusterStrangerTest: refused %s; %d ms%n", LogRecorder.linesWith(
          "cluster remoting refused an inbound connection to 127.0.0.1:" + memberPort),
          (System.nanoTime() - started) / 1_000_000);
    }
  }

  /** A member's Pekko settings, listening on {@code port}, with {@code seedPort} as its seed. */
  private static Config memberConfig(int port, int seedPort) {
    ClusterSettings cluster = new ClusterSettings(new ClusterSettings.HostPort("127.0.0.1", port),
        List.of(new ClusterSettings.HostPort("127.0.0.1", seedPort)), "stranger", 256, Duration.ofSeconds(3),
        Duration.ofSeconds(20), Duration.ofSeconds(60), Duration.ofMinutes(3));
    return cluster.pekkoConfig().withFallback(NodePekkoConfig.over(
        NodePekkoConfig.over(ConfigFactory.load(), NodePekkoConfig.NODE), NodePekkoConfig.CLUSTER));
  }

  private static List<String> refusals(int memberPort, String reason) {
    return LogRecorder.linesWith("WARN cluster remoting refused an inbound connection to 127.0.0.1:" + memberPort,
        reason);
  }

  /** Reads until the peer closes or resets the connection: true, or false if it kept it open. */
  private static boolean closedByPeer(InputStream in) {
    try {
      byte[] buffer = new byte[4096];
      while (in.read(buffer) >= 0) {
        // an alert, perhaps; then the end
      }
      return true;
    } catch (java.net.SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true; // reset
    }
  }

  private static double metric(String scrape, String name) {
    return scrape.lines().filter(l -> l.startsWith(name + " "))
        .map(l -> Double.parseDouble(l.substring(name.length() + 1))).findFirst()
        .orElseThrow(() -> new AssertionError("no " + name + " in the metrics: " + scrape));
  }
}
