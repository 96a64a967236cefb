package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.danemsg.client.MessageSender;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.danemsg.tools.Tools;
import org.jose4j.json.JsonUtil;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code tools send --via-node} and {@code tools inbox --via-node}: the tools through a running node's
 * local API (real Mosquitto and Knot). Here because the tools do not depend on the node.
 */
class ToolsViaApiTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final Duration WITHIN = Duration.ofSeconds(30);

  private static TestDevice alice;
  private static TestDevice bob;
  private static Node aliceNode;
  private static Node bobNode;
  private static String address;

  private record Run(int exit, String out, String err) {
    static Run of(String... args) {
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      int exit = Tools.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
      return new Run(exit, out.toString(), err.toString());
    }
  }

  @BeforeAll
  static void startNodes() {
    int port = ApiClient.freePort();
    address = "127.0.0.1:" + port;
    alice = TestDevice.published(knot, broker, "alice", KeyType.EC_P256).with("api.listen", address);
    bob = TestDevice.published(knot, broker, "bob", KeyType.EC_P256);
    aliceNode = alice.start();
    bobNode = bob.start();
  }

  @AfterAll
  static void stopNodes() {
    aliceNode.stop();
    bobNode.stop();
  }

  @Test
  void sendGoesThroughTheNode() {
    Run run = Run.of("send", bob.name.toString(), "via alice's node", "--via-node", address,
        "--data", alice.dataPath.toString());
    assertEquals(0, run.exit(), run.toString());
    assertTrue(run.out().startsWith("sent to " + bob.name + " (") && run.out().contains("bytes, native)")
        && run.out().contains("through the node at " + address), run.out());
    bob.awaitDelivered("via alice's node", WITHIN);
  }

  @Test
  void theNodesRefusalIsOneLineAndExitStatus1() {
    TestDevice ghost = TestDevice.unpublished(knot, broker, "ghost", KeyType.EC_P256);
    Run run = Run.of("send", ghost.name.toString(), "hello?", "--via-node", address, "--data",
        alice.dataPath.toString());
    assertEquals(1, run.exit(), run.toString());
    assertTrue(run.err().startsWith("error: the node (422): " + ghost.name), run.err());
    assertEquals(1, run.err().lines().count(), run.err());
  }

  @Test
  void aWrongTokenOrNoNodeIsSaidPlainly() throws Exception {
    Path other = Files.createTempDirectory("other-data-");
    Files.writeString(other.resolve("api.token"), "not-the-token-of-this-node\n");
    Run wrong = Run.of("send", bob.name.toString(), "x", "--via-node", address, "--data", other.toString());
    assertEquals(1, wrong.exit(), wrong.toString());
    assertTrue(wrong.err().startsWith("error: the node (401): wrong token"), wrong.err());

    Run none = Run.of("send", bob.name.toString(), "x", "--via-node", "127.0.0.1:" + ApiClient.freePort(),
        "--data", alice.dataPath.toString());
    assertEquals(1, none.exit(), none.toString());
    assertTrue(none.err().contains("cannot reach the node's API") && none.err().contains("connection refused"),
        none.err());

    Run both = Run.of("send", bob.name.toString(), "x", "--via-node", "--direct");
    assertEquals(2, both.exit(), both.toString());
  }

  @Test
  void inboxReadsThroughTheNodeByCursor() throws Exception {
    try (MessageSender fromBob = bob.sender()) {
      fromBob.send(alice.name, "inbox via api 1", Profile.NATIVE);
      fromBob.send(alice.name, "inbox via api 2", Profile.NATIVE);
    }
    alice.awaitDelivered("inbox via api 2", WITHIN);
    Run all = Run.of("inbox", "--via-node", address, "--data", alice.dataPath.toString(), "--json");
    assertEquals(0, all.exit(), all.toString());
    List<Map<String, Object>> rows = all.out().lines().map(ToolsViaApiTest::parse).toList();
    List<Map<String, Object>> ours = rows.stream().filter(r -> String.valueOf(r.get("text")).startsWith("inbox via api"))
        .toList();
    assertEquals(List.of("inbox via api 1", "inbox via api 2"), ours.stream().map(r -> r.get("text")).toList());
    long first = ((Number) ours.get(0).get("cursor")).longValue();
    Run after = Run.of("inbox", "--via-node", address, "--data", alice.dataPath.toString(), "--after",
        Long.toString(first));
    assertEquals(0, after.exit(), after.toString());
    assertTrue(after.out().strip().endsWith(bob.name + " says: inbox via api 2"), after.out());
    assertEquals(1, after.out().lines().count(), after.out());
  }

  @Test
  void inboxFollowsThroughTheNode() throws Exception {
    long last = ((Number) JsonUtil.parseJson(new ApiClient(Integer.parseInt(address.substring(address.indexOf(':')
        + 1)), alice.dataPath).get("/v1/messages?after=0&limit=1000").body()).get("next")).longValue();
    CompletableFuture<Run> following = CompletableFuture.supplyAsync(() -> Run.of("inbox", "--via-node", address,
        "--data", alice.dataPath.toString(), "--follow", "--limit", "1", "--after", Long.toString(last)));
    try (MessageSender fromBob = bob.sender()) {
      fromBob.send(alice.name, "followed", Profile.NATIVE);
    }
    Run run = following.get(WITHIN.toSeconds(), TimeUnit.SECONDS);
    assertEquals(0, run.exit(), run.toString());
    assertTrue(run.out().strip().endsWith(bob.name + " says: followed"), run.out());
  }

  private static Map<String, Object> parse(String line) {
    try {
      return JsonUtil.parseJson(line);
    } catch (Exception e) {
      throw new AssertionError(line, e);
    }
  }
}
