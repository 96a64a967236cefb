package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.danemsg.protocol.KeyType;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A report, not a test (runs only with {@code -Ddanemsg.bench=true}): messages per second sent through
 * a node's local API, on one HTTP connection and from 8 concurrent clients, against {@code tools send}
 * run as a JVM per message. The sending node runs as a JVM of its own with the launcher's options
 * ({@link NodeProcess}); the receiving node runs in this JVM; real Knot and Mosquitto on loopback.
 *
 * <pre>
 * mvn -B -o verify -pl testservers,protocol,client,node,tools,integration -Dtest=LocalApiBenchmark \
 *     -Ddanemsg.bench=true -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 * The figures are printed on stdout (and in the test's log).
 */
@EnabledIfSystemProperty(named = "danemsg.bench", matches = "true")
class LocalApiBenchmark {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final int WARMUP = Integer.getInteger("danemsg.bench.warmup", 1000);
  private static final int MESSAGES = Integer.getInteger("danemsg.bench.messages", 3000);
  private static final int TOOLS_SENDS = Integer.getInteger("danemsg.bench.tools-sends", 10);
  private static final String TEXT = "x".repeat(100);
  /** The node's shipped logging set-up (its log on stderr), not this module's test set-up. */
  private static final Path SHIPPED_LOGGING = Path.of("..", "node", "src", "main", "resources", "logback.xml")
      .toAbsolutePath().normalize();

  @Test
  void messagesPerSecondThroughTheApi() throws Exception {
    int port = ApiClient.freePort();
    TestDevice alice = TestDevice.published(knot, broker, "alice", KeyType.EC_P256)
        .with("api.listen", "127.0.0.1:" + port);
    TestDevice bob = TestDevice.published(knot, broker, "bob", KeyType.EC_P256);
    Path folder = java.nio.file.Files.createTempDirectory("api-bench-");
    long offRss = idleRssWithoutApi(folder);
    Path config = alice.writeConfigFile(folder.resolve("alice.conf"));
    String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    command.addAll(NodeProcess.LAUNCHER_OPTIONS);
    command.add("-Dlogback.configurationFile=" + SHIPPED_LOGGING);
    command.addAll(List.of("-cp", classPath, Main.class.getName(), "--config", config.toString()));
    Process aliceNode = new ProcessBuilder(command).redirectOutput(folder.resolve("stdout.txt").toFile())
        .redirectError(folder.resolve("node.log").toFile()).start();
    try (Node bobNode = bob.start()) {
      ApiClient api = new ApiClient(port, alice.dataPath);
      Poll.until(Duration.ofSeconds(60), () -> {
        try {
          return api.get("/health/ready").status() == 200;
        } catch (RuntimeException e) {
          return false; // not listening yet
        }
      }, () -> "not ready");
      Thread.sleep(5000); // settle before the idle figure
      long idleRss = memory(aliceNode, "VmRSS");
      String to = bob.name.toString();
      run(api, to, 1, WARMUP, "warm-up");
      double one = run(api, to, 1, MESSAGES, "one connection");
      double eight = run(api, to, 8, MESSAGES, "8 clients");
      double tools = toolsSend(alice, bob);
      Poll.until(Duration.ofSeconds(120), () -> bob.inbox().size() >= WARMUP + 2 * MESSAGES + TOOLS_SENDS,
          () -> "bob has " + bob.inbox().size());
      String report = String.format("API send rate (EC P-256, %d-character texts, %d messages each, all delivered):%n"
          + "  one connection, sequential:  %8.1f msg/s%n"
          + "  8 concurrent clients:        %8.1f msg/s%n"
          + "  tools send, a JVM each (%d):  %8.2f msg/s (%.0f ms per message)%n"
          + "sending node (launcher options, API on): RSS idle %d MB, after the runs %d MB, peak %d MB;"
          + " the same node with API_LISTEN=off: RSS idle %d MB%n",
          TEXT.length(), MESSAGES, one, eight, TOOLS_SENDS, tools, 1000 / tools, idleRss >> 20,
          memory(aliceNode, "VmRSS") >> 20, memory(aliceNode, "VmHWM") >> 20, offRss >> 20);
      System.out.print(report);
      org.slf4j.LoggerFactory.getLogger(LocalApiBenchmark.class).info("\n{}", report);
    } finally {
      aliceNode.destroy();
      aliceNode.waitFor(30, TimeUnit.SECONDS);
    }
  }

  /** The idle RSS of a node like alice's with the API off, 5 s after it subscribed. */
  private static long idleRssWithoutApi(Path folder) throws Exception {
    TestDevice carol = TestDevice.published(knot, broker, "carol", KeyType.EC_P256);
    Path config = carol.writeConfigFile(folder.resolve("carol.conf"));
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    command.addAll(NodeProcess.LAUNCHER_OPTIONS);
    command.add("-Dlogback.configurationFile=" + SHIPPED_LOGGING);
    command.addAll(List.of("-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
        Main.class.getName(), "--config", config.toString()));
    Path log = folder.resolve("carol.log");
    Process carolNode = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(log.toFile()).start();
    try {
      Poll.until(Duration.ofSeconds(60), () -> {
        try {
          return java.nio.file.Files.readString(log).contains("subscribed to");
        } catch (java.io.IOException e) {
          return false;
        }
      }, () -> "carol did not subscribe");
      Thread.sleep(5000);
      return memory(carolNode, "VmRSS");
    } finally {
      carolNode.destroy();
      carolNode.waitFor(30, TimeUnit.SECONDS);
    }
  }

  /** A line of /proc/PID/status in bytes. */
  private static long memory(Process process, String field) throws java.io.IOException {
    for (String line : java.nio.file.Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
      if (line.startsWith(field + ":")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    return -1;
  }

  /** {@code total} sends from {@code clients} clients, each with one connection; messages per second. */
  private static double run(ApiClient api, String to, int clients, int total, String what) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    try {
      long start = System.nanoTime();
      List<Future<Integer>> done = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        int share = total / clients + (c < total % clients ? 1 : 0);
        int client = c;
        done.add(pool.submit(() -> {
          HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
          for (int i = 0; i < share; i++) {
            HttpRequest request = HttpRequest.newBuilder(java.net.URI.create(api.base + "/v1/messages"))
                .header("Authorization", "Bearer " + api.token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"to\":" + ApiClient.quoted(to) + ",\"text\":"
                    + ApiClient.quoted(what + " " + client + "/" + i + " " + TEXT) + "}", StandardCharsets.UTF_8))
                .build();
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            assertEquals(202, response.statusCode(), response.body());
          }
          return share;
        }));
      }
      for (Future<Integer> f : done) {
        f.get(10, TimeUnit.MINUTES);
      }
      return total / ((System.nanoTime() - start) / 1e9);
    } finally {
      pool.shutdownNow();
    }
  }

  /** {@code tools send} as a JVM of its own per message (as a script would run it); messages per second. */
  private static double toolsSend(TestDevice alice, TestDevice bob) throws Exception {
    Path config = alice.writeConfigFile(java.nio.file.Files.createTempFile("alice-", ".conf"));
    // as bin/danemsg-tools runs it: java -jar tools.jar (built by the reactor before this module)
    Path toolsJar = Path.of("..", "tools", "target", "tools.jar").toAbsolutePath().normalize();
    long start = System.nanoTime();
    for (int i = 0; i < TOOLS_SENDS; i++) {
      Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-jar", toolsJar.toString(), "send", "--direct", "--config", config.toString(),
          bob.name.toString(), "tools send " + i + " " + TEXT).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(0, p.waitFor(), out);
    }
    return TOOLS_SENDS / ((System.nanoTime() - start) / 1e9);
  }
}
