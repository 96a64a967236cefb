package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.danemsg.client.MessageSender;
import org.danemsg.client.SettingsException;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.testing.KnotServer;
import org.danemsg.testing.MosquittoBroker;
import org.jose4j.json.JsonUtil;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The node's local API against a real Mosquitto and Knot: one node with the API (alice) and one
 * without (bob), started once for the class. Every status code of the API, the inbox by cursor (long
 * poll, event stream, across a restart), 1,000 sends, metrics that follow the traffic.
 */
class LocalApiTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();
  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  private static final Duration WITHIN = Duration.ofSeconds(30);

  private static TestDevice alice;
  private static TestDevice bob;
  private static Node aliceNode;
  private static Node bobNode;
  private static int port;
  private static ApiClient api;

  @BeforeAll
  static void startNodes() {
    port = ApiClient.freePort();
    alice = TestDevice.published(knot, broker, "alice", KeyType.EC_P256).with("api.listen", "127.0.0.1:" + port)
        .with("api.max-body-size", 8192);
    bob = TestDevice.published(knot, broker, "bob", KeyType.EC_P256);
    aliceNode = alice.start();
    bobNode = bob.start();
    api = new ApiClient(port, alice.dataPath);
    awaitReady();
  }

  @AfterAll
  static void stopNodes() {
    if (aliceNode != null) {
      aliceNode.stop();
    }
    if (bobNode != null) {
      bobNode.stop();
    }
  }

  private static void awaitReady() {
    Poll.until(WITHIN, () -> api.get("/health/ready").status() == 200,
        () -> "not ready: " + api.get("/health/ready"));
  }

  // ---- token, health, errors ------------------------------------------------------------------

  @Test
  void tokenFileIsMadeOwnerOnlyAndEveryV1RequestNeedsIt() throws Exception {
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(
        alice.dataPath.resolve("api.token"))));
    assertTrue(api.token.length() >= 40, api.token);

    ApiClient.Answer none = api.send(HttpRequest.newBuilder(java.net.URI.create(api.base + "/v1/messages")).GET()
        .build());
    assertEquals(401, none.status(), none.toString());
    assertTrue(((String) none.json().get("error")).startsWith("no token"), none.toString());

    ApiClient.Answer wrong = api.send(HttpRequest.newBuilder(java.net.URI.create(api.base + "/v1/messages"))
        .header("Authorization", "Bearer " + api.token.substring(1) + "x").GET().build());
    assertEquals(401, wrong.status(), wrong.toString());
    assertTrue(((String) wrong.json().get("error")).startsWith("wrong token"), wrong.toString());

    ApiClient.Answer post = api.send(HttpRequest.newBuilder(java.net.URI.create(api.base + "/v1/messages"))
        .header("Authorization", "Basic " + api.token).POST(HttpRequest.BodyPublishers.ofString("{}")).build());
    assertEquals(401, post.status(), post.toString());
    assertFalse(post.body().contains(api.token));
  }

  @Test
  void healthAndMetricsNeedNoToken() {
    ApiClient.Answer alive = api.send(HttpRequest.newBuilder(java.net.URI.create(api.base + "/health/alive")).build());
    assertEquals(200, alive.status(), alive.toString());
    assertEquals("alive", alive.json().get("status"));
    ApiClient.Answer ready = api.send(HttpRequest.newBuilder(java.net.URI.create(api.base + "/health/ready")).build());
    assertEquals(200, ready.status(), ready.toString());
    ApiClient.Answer metrics = api.send(HttpRequest.newBuilder(java.net.URI.create(api.base + "/metrics")).build());
    assertEquals(200, metrics.status(), metrics.toString());
    assertTrue(metrics.body().contains("# TYPE danemsg_messages_delivered_total counter"), metrics.body());
    assertTrue(metrics.body().contains("jvm_memory_used_bytes{area=\"heap\"}"), metrics.body());
  }

  @Test
  void unknownPathsAndMethodsAreAnsweredInJson() {
    ApiClient.Answer missing = api.get("/v1/nothing-here");
    assertEquals(404, missing.status(), missing.toString());
    assertTrue(missing.json().get("error") instanceof String, missing.toString());
    ApiClient.Answer method = api.send(api.request("/v1/messages").DELETE().build());
    assertEquals(405, method.status(), method.toString());
    assertTrue(method.json().get("error") instanceof String, method.toString());
  }

  // ---- sending --------------------------------------------------------------------------------

  @Test
  void aSendIsAcceptedOnceTheBrokerHasItAndArrives() {
    ApiClient.Answer sent = api.sendMessage(bob.name, "hello bob, through the API");
    assertEquals(202, sent.status(), sent.toString());
    Map<String, Object> body = sent.json();
    assertEquals(bob.name.toString(), body.get("to"));
    assertTrue(((Number) body.get("bytes")).intValue() > 100, body.toString());
    assertEquals("native", body.get("profile"));
    bob.awaitDelivered("hello bob, through the API", WITHIN);
    Map<String, Object> received = bob.inbox().stream()
        .filter(m -> "hello bob, through the API".equals(m.get("text"))).findFirst().orElseThrow();
    assertEquals(alice.name.toString(), received.get("sender"));
    assertEquals(received.get("id"), body.get("id"), "the 202's id is the message's own, as the recipient sees it");
  }

  @Test
  void badRequestsAreRefusedWith400AndAReason() {
    Map<String, String> cases = new java.util.LinkedHashMap<>();
    cases.put("not json", "not the JSON object expected");
    cases.put("{\"to\": \"" + bob.name + "\", \"text\": \"a\",}", "not the JSON object expected");
    cases.put("{\"to\": \"" + bob.name + "\", \"text\": \"a\", \"text\": \"b\"}", "appears twice");
    cases.put("{\"to\": \"" + bob.name + "\", \"text\": 5}", "must be a string");
    cases.put("{\"to\": \"" + bob.name + "\", \"text\": \"a\", \"extra\": \"x\"}", "'extra' is not accepted");
    cases.put("{\"to\": \"" + bob.name + "\"}", "'text' is missing");
    cases.put("{\"to\": \"not a name!\", \"text\": \"a\"}", "not a DNS name");
    cases.put("{\"to\": \"bob\\u202e._device.example.test\", \"text\": \"a\"}", "not a DNS name");
    cases.put("{\"to\": \"" + bob.name + "\", \"text\": \"\"}", "'text' is empty");
    cases.put("{\"to\": \"" + bob.name + "\", \"text\": \"\\ud800 lone\"}", "lone UTF-16 surrogate");
    cases.put("{\"to\": \"" + bob.name + "\", \"text\": \"raw \u0001 control\"}", "control character");
    cases.put("{\"to\": \"" + bob.name + "\", \"text\": \"a\", \"profile\": \"fancy\"}", "'profile' must be");
    cases.put("{\"to\": \"" + bob.name + "\", \"text\": \"" + "x".repeat(9000) + "\"}", "larger than 8192 bytes");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      ApiClient.Answer answer = api.post("/v1/messages", c.getKey());
      assertEquals(400, answer.status(), c.getKey().substring(0, Math.min(80, c.getKey().length())) + " -> " + answer);
      String error = (String) answer.json().get("error");
      assertTrue(error.contains(c.getValue()), "expected '" + c.getValue() + "' in: " + error);
      assertFalse(answer.body().contains("Exception") || answer.body().contains("\tat "), answer.toString());
    }
    ApiClient.Answer notUtf8 = api.send(api.request("/v1/messages").POST(HttpRequest.BodyPublishers.ofByteArray(
        new byte[] {'{', '"', 't', 'o', '"', ':', '"', (byte) 0xff, '"', '}'})).build());
    assertEquals(400, notUtf8.status(), notUtf8.toString());
    assertTrue(notUtf8.json().get("error").toString().contains("not UTF-8"), notUtf8.toString());
  }

  @Test
  void aTextTooLargeOnceSealedIsRefusedWith400() {
    // Fits the body limit of a node with the default limit, but not MAX_MESSAGE_SIZE once sealed.
    TestDevice big = TestDevice.published(knot, broker, "big", KeyType.EC_P256);
    int bigPort = ApiClient.freePort();
    big.with("api.listen", "127.0.0.1:" + bigPort).with("max-message-size", 2048);
    try (Node bigNode = big.start()) {
      ApiClient bigApi = new ApiClient(bigPort, big.dataPath);
      ApiClient.Answer answer = bigApi.sendMessage(bob.name, "y".repeat(1500));
      assertEquals(400, answer.status(), answer.toString());
      assertTrue(answer.json().get("error").toString().contains("MAX_MESSAGE_SIZE"), answer.toString());
    }
  }

  @Test
  void aRecipientWithoutAValidatedKeyIsRefusedWith422AndTheReason() {
    TestDevice ghost = TestDevice.unpublished(knot, broker, "ghost", KeyType.EC_P256);
    ApiClient.Answer answer = api.sendMessage(ghost.name, "anyone there?");
    assertEquals(422, answer.status(), answer.toString());
    String error = (String) answer.json().get("error");
    assertTrue(error.startsWith(ghost.name.toString()) && error.contains("NXDOMAIN"), error);
  }

  @Test
  void anUnreachableBrokerIsAnswered503AndTheNodeIsNotReady() throws Exception {
    int deadBroker;
    try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      deadBroker = taken.getLocalPort(); // closed again below: nothing listens there
    }
    TestDevice lonely = TestDevice.published(knot, broker, "lonely", KeyType.EC_P256);
    int lonelyPort = ApiClient.freePort();
    lonely.with("api.listen", "127.0.0.1:" + lonelyPort).with("mqtt.port", deadBroker)
        .with("mqtt.connect-timeout", "2s");
    Node lonelyNode = lonely.startWith(NodeGuardian.StartHook.none());
    try {
      ApiClient lonelyApi = new ApiClient(lonelyPort, lonely.dataPath);
      ApiClient.Answer answer = lonelyApi.sendMessage(bob.name, "into the void");
      assertEquals(503, answer.status(), answer.toString());
      assertTrue(answer.json().get("error").toString().contains("cannot connect to the broker"), answer.toString());
      ApiClient.Answer ready = lonelyApi.get("/health/ready");
      assertEquals(503, ready.status(), ready.toString());
      assertTrue(ready.json().get("error").toString().contains("not subscribed"), ready.toString());
      assertEquals(200, lonelyApi.get("/health/alive").status());
    } finally {
      lonelyNode.stop();
    }
  }

  @Test
  void aThousandSendsFromEightClientsAllArrive() throws Exception {
    int total = 1000;
    ExecutorService clients = Executors.newFixedThreadPool(8);
    try {
      List<Future<ApiClient.Answer>> answers = new ArrayList<>();
      for (int i = 0; i < total; i++) {
        String text = "bulk " + i;
        answers.add(clients.submit(() -> api.sendMessage(bob.name, text)));
      }
      for (Future<ApiClient.Answer> answer : answers) {
        assertEquals(202, answer.get().status(), answer.get().toString());
      }
    } finally {
      clients.shutdownNow();
    }
    Poll.until(Duration.ofSeconds(60), () -> bob.inboxTexts().stream().filter(t -> t.startsWith("bulk ")).count()
        >= total, () -> "bob has " + bob.inboxTexts().stream().filter(t -> t.startsWith("bulk ")).count());
    Set<String> texts = new HashSet<>();
    for (String text : bob.inboxTexts()) {
      if (text.startsWith("bulk ")) {
        assertTrue(texts.add(text), "twice: " + text);
      }
    }
    assertEquals(total, texts.size());
  }

  // ---- reading --------------------------------------------------------------------------------

  @Test
  void receivedMessagesComeByCursorOldestFirst() throws Exception {
    long start = next(api.get("/v1/messages?after=0&limit=1000"));
    try (MessageSender fromBob = bob.sender()) {
      for (int i = 0; i < 3; i++) {
        fromBob.send(alice.name, "by cursor " + i, Profile.NATIVE);
      }
    }
    alice.awaitDelivered("by cursor 2", WITHIN);
    ApiClient.Answer first = api.get("/v1/messages?after=" + start + "&limit=2");
    assertEquals(200, first.status(), first.toString());
    List<Map<String, Object>> messages = messages(first);
    assertEquals(List.of("by cursor 0", "by cursor 1"), messages.stream().map(m -> m.get("text")).toList());
    Map<String, Object> m = messages.get(0);
    assertEquals(bob.name.toString(), m.get("sender"));
    assertEquals(alice.name.toString(), m.get("recipient"));
    assertEquals("native", m.get("profile"));
    assertEquals("validated", m.get("dnssec"));
    assertTrue(m.get("id") instanceof String && m.get("sent-at") instanceof String
        && m.get("received-at") instanceof String, m.toString());
    long cursor1 = ((Number) messages.get(1).get("cursor")).longValue();
    assertEquals(cursor1, next(first));
    ApiClient.Answer rest = api.get("/v1/messages?after=" + cursor1);
    assertEquals(List.of("by cursor 2"), messages(rest).stream().map(x -> x.get("text")).toList());
    ApiClient.Answer none = api.get("/v1/messages?after=" + next(rest));
    assertEquals(List.of(), messages(none));
    assertEquals(next(rest), next(none));
  }

  @Test
  void badQueriesAreRefusedWith400() {
    for (String query : List.of("after=-1", "after=abc", "after=99999999999999999999", "wait=61", "wait=1e3",
        "limit=0", "limit=1001", "cursor=5", "after=1&after=2")) {
      ApiClient.Answer answer = api.get("/v1/messages?" + query);
      assertEquals(400, answer.status(), query + " -> " + answer);
      assertTrue(answer.json().get("error") instanceof String, answer.toString());
    }
  }

  @Test
  void aLongPollAnswersAsSoonAsAMessageArrives() throws Exception {
    long start = next(api.get("/v1/messages?after=0&limit=1000"));
    long asked = System.nanoTime();
    CompletableFuture<ApiClient.Answer> waiting = CompletableFuture.supplyAsync(
        () -> api.get("/v1/messages?after=" + start + "&wait=60"));
    Thread.sleep(300); // the poll is waiting (not a condition one can see from outside)
    assertFalse(waiting.isDone(), "answered before anything arrived: " + (waiting.isDone() ? waiting.get() : ""));
    try (MessageSender fromBob = bob.sender()) {
      fromBob.send(alice.name, "wake up", Profile.NATIVE);
    }
    ApiClient.Answer answer = waiting.get(WITHIN.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(200, answer.status(), answer.toString());
    assertEquals(List.of("wake up"), messages(answer).stream().map(m -> m.get("text")).toList());
    assertTrue(Duration.ofNanos(System.nanoTime() - asked).toSeconds() < 60, "it waited out its wait instead");
  }

  @Test
  void aLongPollWithNothingToSayAnswersWhenItsWaitIsOver() {
    // Longer than Pekko HTTP's default request timeout (20 s), which would answer 503 instead.
    long start = next(api.get("/v1/messages?after=0&limit=1000"));
    long asked = System.nanoTime();
    ApiClient.Answer answer = api.get("/v1/messages?after=" + start + "&wait=22");
    assertEquals(200, answer.status(), answer.toString());
    assertEquals(List.of(), messages(answer));
    assertEquals(start, next(answer));
    assertTrue(Duration.ofNanos(System.nanoTime() - asked).toSeconds() >= 21, "answered before its wait was over");
    assertFalse(answer.toString().contains("pekko-http"));
  }

  @Test
  void theEventStreamDeliversEachMessageWithItsCursorAsId() throws Exception {
    long start = next(api.get("/v1/messages?after=0&limit=1000"));
    HttpResponse<InputStream> stream = api.http.send(api.request("/v1/messages/stream?after=" + start)
        .header("Accept", "text/event-stream").GET().build(), HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, stream.statusCode());
    assertTrue(stream.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
    try (BufferedReader lines = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8));
        MessageSender fromBob = bob.sender()) {
      fromBob.send(alice.name, "streamed 1", Profile.NATIVE);
      fromBob.send(alice.name, "streamed 2\nwith a newline", Profile.NATIVE);
      List<Map<String, Object>> events = new ArrayList<>();
      List<String> ids = new ArrayList<>();
      CompletableFuture<Void> read = CompletableFuture.runAsync(() -> {
        try {
          String line;
          while (ids.size() < 2 && (line = lines.readLine()) != null) {
            if (line.startsWith("data:")) {
              events.add(JsonUtil.parseJson(line.substring(5).strip()));
            } else if (line.startsWith("id:")) {
              ids.add(line.substring(3).strip());
            }
          }
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      read.get(WITHIN.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
      assertEquals(List.of("streamed 1", "streamed 2\nwith a newline"), events.stream().map(e -> e.get("text")).toList());
      assertEquals(events.stream().map(e -> String.valueOf(e.get("cursor"))).toList(), ids);
      assertTrue(Long.parseLong(ids.get(0)) > start);
    }
  }

  @Test
  void theCursorIsTheSameAfterARestart() throws Exception {
    try (MessageSender fromBob = bob.sender()) {
      fromBob.send(alice.name, "before the restart", Profile.NATIVE);
    }
    alice.awaitDelivered("before the restart", WITHIN);
    List<Map<String, Object>> before = messages(api.get("/v1/messages?after=0&limit=1000"));
    aliceNode.stop();
    aliceNode = alice.start();
    awaitReady();
    assertEquals(before, messages(api.get("/v1/messages?after=0&limit=1000")));
    long last = ((Number) before.get(before.size() - 1).get("cursor")).longValue();
    try (MessageSender fromBob = bob.sender()) {
      fromBob.send(alice.name, "after the restart", Profile.NATIVE);
    }
    ApiClient.Answer after = api.get("/v1/messages?after=" + last + "&wait=30");
    assertEquals(List.of("after the restart"), messages(after).stream().map(m -> m.get("text")).toList());
    assertTrue(((Number) messages(after).get(0).get("cursor")).longValue() > last);
  }

  @Test
  void metricsMoveWithTraffic() throws Exception {
    Map<String, Double> before = metrics();
    ApiClient.Answer sent = api.sendMessage(bob.name, "counted");
    assertEquals(202, sent.status(), sent.toString());
    assertEquals(400, api.post("/v1/messages", "{}").status());
    try (MessageSender fromBob = bob.sender()) {
      fromBob.send(alice.name, "counted too", Profile.NATIVE);
    }
    alice.awaitDelivered("counted too", WITHIN);
    Map<String, Double> after = metrics();
    assertEquals(1.0, after.get("danemsg_messages_delivered_total") - before.get("danemsg_messages_delivered_total"),
        after.toString());
    assertTrue(after.get("danemsg_messages_received_total") > before.get("danemsg_messages_received_total"));
    assertEquals(1.0, after.get("danemsg_api_sends_total{outcome=\"accepted\"}")
        - before.getOrDefault("danemsg_api_sends_total{outcome=\"accepted\"}", 0.0), after.toString());
    assertTrue(after.get("danemsg_api_sends_total{outcome=\"bad_request\"}")
        > before.getOrDefault("danemsg_api_sends_total{outcome=\"bad_request\"}", 0.0), after.toString());
    assertTrue(after.get("danemsg_api_publish_acks_total") > before.getOrDefault("danemsg_api_publish_acks_total", 0.0));
    assertEquals(1.0, after.get("danemsg_broker_subscribed"));
    assertEquals(1.0, after.get("danemsg_identity_published"));
    assertTrue(after.get("danemsg_dns_lookups_total{outcome=\"secure\"}") >= 1, after.toString());
    assertTrue(after.get("danemsg_dns_lookup_duration_seconds_count") >= 1, after.toString());
  }

  @Test
  void aTakenPortStopsTheNodeAtStartWithOneLine() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      TestDevice late = TestDevice.published(knot, broker, "late", KeyType.EC_P256)
          .with("api.listen", "127.0.0.1:" + taken.getLocalPort());
      SettingsException e = assertThrows(SettingsException.class, late::start);
      assertTrue(e.getMessage().startsWith("setting danemsg.api.listen (API_LISTEN) 127.0.0.1:"
          + taken.getLocalPort() + ": cannot listen there"), e.getMessage());
    }
  }

  @Test
  void withAKeyStoreTheApiSpeaksOnlyTls() throws Exception {
    java.nio.file.Path dir = Files.createTempDirectory("api-tls-");
    java.nio.file.Path store = dir.resolve("api.p12");
    Process keytool = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "keytool")
        .toString(), "-genkeypair", "-alias", "api", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
        "CN=localhost", "-ext", "SAN=ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12", "-keystore",
        store.toString(), "-storepass", "store-secret").redirectErrorStream(true).start();
    assertEquals(0, keytool.waitFor(), new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    java.nio.file.Path password = Files.writeString(dir.resolve("password"), "store-secret\n");
    TestDevice secure = TestDevice.published(knot, broker, "secure", KeyType.EC_P256);
    int securePort = ApiClient.freePort();
    secure.with("api.listen", "127.0.0.1:" + securePort).with("api.tls.key-store", store.toString())
        .with("api.tls.key-store-password-file", password.toString());
    try (Node secureNode = secure.start()) {
      java.security.KeyStore trusted = java.security.KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(store)) {
        trusted.load(in, "store-secret".toCharArray());
      }
      javax.net.ssl.TrustManagerFactory trust = javax.net.ssl.TrustManagerFactory.getInstance(
          javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
      trust.init(trusted);
      javax.net.ssl.SSLContext tls = javax.net.ssl.SSLContext.getInstance("TLS");
      tls.init(null, trust.getTrustManagers(), null);
      java.net.http.HttpClient https = java.net.http.HttpClient.newBuilder().sslContext(tls).build();
      HttpResponse<String> alive = https.send(HttpRequest.newBuilder(java.net.URI.create("https://127.0.0.1:"
          + securePort + "/health/alive")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, alive.statusCode(), alive.body());
      assertThrows(java.io.IOException.class, () -> java.net.http.HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + securePort + "/health/alive"))
              .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()));
    }
  }

  // ---- helpers --------------------------------------------------------------------------------

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> messages(ApiClient.Answer answer) {
    assertEquals(200, answer.status(), answer.toString());
    return (List<Map<String, Object>>) answer.json().get("messages");
  }

  private static long next(ApiClient.Answer answer) {
    assertEquals(200, answer.status(), answer.toString());
    return ((Number) answer.json().get("next")).longValue();
  }

  /** The samples of /metrics by name and labels. */
  private static Map<String, Double> metrics() {
    ApiClient.Answer answer = api.send(HttpRequest.newBuilder(java.net.URI.create(api.base + "/metrics")).build());
    assertEquals(200, answer.status(), answer.toString());
    Map<String, Double> samples = new java.util.HashMap<>();
    for (String line : answer.body().split("\n")) {
      if (!line.startsWith("#") && !line.isBlank()) {
        int space = line.lastIndexOf(' ');
        samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
      }
    }
    return samples;
  }
}
