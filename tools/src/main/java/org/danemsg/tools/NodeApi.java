package org.danemsg.tools;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.danemsg.protocol.SafeText;
import org.jose4j.json.JsonUtil;
import org.jose4j.lang.JoseException;

/**
 * A running node's local API, as the tools use it (plain {@code java.net.http}; the tools do not
 * depend on the node): its address from {@code --via-node} or {@code API_LISTEN}, its bearer token
 * from {@code DATA_PATH/api.token} (or {@code --data}). Every failure is a {@link CommandFailure}
 * with the node's own reason ({@code {"error": ...}}) or what kept the request from reaching it.
 */
final class NodeApi {

  /** The address a node listens on by default. */
  static final String DEFAULT_ADDRESS = "127.0.0.1:8710";

  private final URI base;
  private final String token;
  private final HttpClient http;

  private NodeApi(URI base, String token) {
    this.base = base;
    this.token = token;
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
  }

  /**
   * The address to use: {@code viaNode} when given ({@code ""}: {@code API_LISTEN}, else the
   * default), else {@code API_LISTEN} when set and not {@code off}; {@code null} to send directly.
   */
  static String address(String viaNode, boolean direct) {
    String env = System.getenv("API_LISTEN");
    boolean envSet = env != null && !env.isBlank() && !env.strip().equalsIgnoreCase("off");
    if (viaNode != null) {
      if (direct) {
        throw CommandFailure.usage("give either --via-node or --direct, not both");
      }
      return !viaNode.isBlank() ? viaNode.strip() : envSet ? env.strip() : DEFAULT_ADDRESS;
    }
    return direct || !envSet ? null : env.strip();
  }

  /** The API at {@code address} ({@code host:port} or an http(s) URL), with the token in {@code data}'s api.token. */
  static NodeApi at(String address, Path data) {
    URI base;
    try {
      String url = address.startsWith("http://") || address.startsWith("https://") ? address : "http://" + address;
      base = URI.create(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
      if (base.getHost() == null || base.getPort() < 0 && !address.startsWith("http")) {
        throw new IllegalArgumentException("no host and port");
      }
      if (base.getHost().equals("0.0.0.0") || base.getHost().equals("[::]")) {
        base = new URI(base.getScheme(), null, "127.0.0.1", base.getPort(), null, null, null); // all interfaces: ask locally
      }
    } catch (IllegalArgumentException | java.net.URISyntaxException e) {
      throw CommandFailure.usage("the node's API address '" + SafeText.detail(address) + "' is not host:port"
          + " (as API_LISTEN) or an http(s) URL");
    }
    Path folder = data;
    if (folder == null) {
      String env = System.getenv("DATA_PATH");
      if (env == null || env.isBlank()) {
        throw CommandFailure.usage("no data folder for the node's api.token: give --data DIR or set DATA_PATH");
      }
      folder = Path.of(env);
    }
    Path file = folder.resolve("api.token");
    String token;
    try {
      token = Files.readString(file, StandardCharsets.UTF_8).lines().findFirst().orElse("").strip();
    } catch (IOException e) {
      throw CommandFailure.failed("cannot read the node's API token " + file + ": " + e.getMessage()
          + " (run as the node's user; the node makes it at start)", e);
    }
    if (token.isEmpty()) {
      throw CommandFailure.failed("the node's API token file " + file + " is empty");
    }
    return new NodeApi(base, token);
  }

  /** {@code POST /v1/messages}: the node's answer (202) as its members. */
  Map<String, Object> send(String to, String text, boolean legacy, Duration timeout) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("to", to);
    body.put("text", text);
    if (legacy) {
      body.put("profile", "legacy");
    }
    HttpRequest request = request("/v1/messages", timeout).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(JsonUtil.toJson(body), StandardCharsets.UTF_8)).build();
    return answer(request, 202);
  }

  /** {@code GET /v1/messages}: the messages after {@code cursor} (waiting up to {@code wait} s) and the next cursor. */
  Map<String, Object> messages(long cursor, int wait, int limit) {
    HttpRequest request = request("/v1/messages?after=" + cursor + "&wait=" + wait + "&limit=" + limit,
        Duration.ofSeconds(wait + 30L)).GET().build();
    return answer(request, 200);
  }

  /** The messages of a {@link #messages} answer. */
  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> list(Map<String, Object> page) {
    return (List<Map<String, Object>>) page.get("messages");
  }

  /** Where the API is, for messages. */
  String where() {
    return base.getHost() + ":" + base.getPort();
  }

  private HttpRequest.Builder request(String path, Duration timeout) {
    return HttpRequest.newBuilder(base.resolve(path)).timeout(timeout).header("Authorization", "Bearer " + token);
  }

  private Map<String, Object> answer(HttpRequest request, int expected) {
    HttpResponse<String> response;
    try {
      response = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (ConnectException e) {
      throw CommandFailure.failed("cannot reach the node's API at " + base + ": connection refused (is the node"
          + " running with API_LISTEN=" + where() + "? --direct sends without it)", e);
    } catch (HttpTimeoutException e) {
      throw CommandFailure.failed("the node's API at " + base + " did not answer within the timeout", e);
    } catch (IOException e) {
      throw CommandFailure.failed("cannot reach the node's API at " + base + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw CommandFailure.failed("interrupted");
    }
    Map<String, Object> body;
    try {
      body = JsonUtil.parseJson(response.body());
    } catch (JoseException | RuntimeException e) {
      throw CommandFailure.failed("the node's API at " + base + " answered " + response.statusCode()
          + " with something that is not JSON", e);
    }
    if (response.statusCode() != expected) {
      Object error = body.get("error");
      throw CommandFailure.failed("the node (" + response.statusCode() + "): "
          + SafeText.detail(error == null ? response.body() : String.valueOf(error)));
    }
    return body;
  }
}
