package org.danemsg.node;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.jose4j.json.JsonUtil;
import org.jose4j.lang.JoseException;

/** A test's HTTP client of a node's local API: plain java.net.http, as any program on the device would use. */
final class ApiClient {

  /** A status and body. */
  record Answer(int status, String body) {
    Map<String, Object> json() {
      try {
        return JsonUtil.parseJson(body);
      } catch (JoseException e) {
        throw new AssertionError("not JSON (" + status + "): " + body, e);
      }
    }

    @Override
    public String toString() {
      return status + " " + body;
    }
  }

  final String base;
  final String token;
  final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  ApiClient(int port, Path dataPath) {
    this.base = "http://127.0.0.1:" + port;
    try {
      this.token = Files.readString(dataPath.resolve("api.token"), StandardCharsets.US_ASCII).strip();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A free port on 127.0.0.1 (bound, read, closed). */
  static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(90))
        .header("Authorization", "Bearer " + token);
  }

  Answer get(String path) {
    return send(request(path).GET().build());
  }

  Answer post(String path, String body) {
    return send(request(path).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build());
  }

  /** {@code POST /v1/messages} with {@code {"to": to, "text": text}} (the text JSON-escaped). */
  Answer sendMessage(Object to, String text) {
    return post("/v1/messages", "{\"to\":" + quoted(String.valueOf(to)) + ",\"text\":" + quoted(text) + "}");
  }

  static String quoted(String text) {
    String json = JsonUtil.toJson(Map.of("x", text));
    return json.substring(5, json.length() - 1);
  }

  Answer send(HttpRequest request) {
    try {
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      return new Answer(response.statusCode(), response.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
