package org.danemsg.node.api;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Source;
import org.danemsg.node.IdentityKeeper;
import org.danemsg.node.NodeGuardian;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.LegacyPeers;
import org.danemsg.protocol.Profile;
import org.danemsg.protocol.SafeText;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The API's HTTP routes. {@code /health/alive}, {@code /health/ready} and {@code /metrics} are open
 * (probes and scrapers have no token; they reveal counters, not messages); everything under
 * {@code /v1} needs {@code Authorization: Bearer <token>}:
 * <ul>
 *   <li>{@code POST /v1/messages} {@code {"to": NAME, "text": TEXT[, "profile": "native"|"legacy"]}}:
 *       202 once the broker acknowledged it; 400 bad request, 422 no usable key, 503 broker or DNS
 *       unreachable, or the publisher's queue full;
 *   <li>{@code GET /v1/messages?after=CURSOR&wait=SECONDS&limit=N}: delivered messages after the
 *       cursor, oldest first, waiting up to {@code wait} for the first when there are none;
 *   <li>{@code GET /v1/messages/stream?after=CURSOR}: the same as server-sent events, each with its
 *       cursor as the event id (a reconnecting {@code EventSource} resumes by {@code Last-Event-ID}).
 * </ul>
 * Every answer is JSON (but the metrics and the event stream); every refusal is
 * {@code {"error": ...}} with a reason a client can act on, never a stack trace.
 */
final class ApiRoutes extends AllDirectives {

  private static final Logger LOG = LoggerFactory.getLogger(ApiRoutes.class);

  /** The most messages one read returns. */
  static final int MAX_LIMIT = 1000;
  static final int DEFAULT_LIMIT = 100;
  /** How long an event stream waits on one read before it reads again (the heartbeat comes meanwhile). */
  private static final Duration STREAM_WAIT = Duration.ofSeconds(30);
  private static final Duration HEARTBEAT = Duration.ofSeconds(15);
  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration HEALTH_TIMEOUT = Duration.ofSeconds(7);
  private static final long BODY_READ_MILLIS = 10_000;

  /** What the routes work with. */
  record Services(ActorSystem<?> system, ApiToken token, ActorRef<NodeGuardian.Command> guardian,
      ActorRef<InboxReader.Command> inbox, InboxSignal signal, MessagePublisher publisher, NodeMetrics metrics,
      ApiSettings api, int maxMessageSize, LegacyPeers legacyPeers) {}

  private final Services s;

  ApiRoutes(Services services) {
    this.s = services;
  }

  /** The whole API, with JSON for every rejection and failure. */
  Route route() {
    return handleExceptions(failures(), () -> handleRejections(rejections(), () -> concat(
        path(segment("health").slash("alive"), () -> get(() -> completeWithFuture(alive()))),
        path(segment("health").slash("ready"), () -> get(() -> completeWithFuture(ready()))),
        path("metrics", () -> get(() -> completeWithFuture(metrics()))),
        pathPrefix("v1", () -> authenticated(() -> concat(
            path("messages", () -> concat(
                post(this::send),
                get(() -> query(Set.of("after", "wait", "limit"), this::list)))),
            path(segment("messages").slash("stream"), () -> get(() -> query(Set.of("after"), this::stream)))))))));
  }

  // ---- health and metrics ---------------------------------------------------------------------

  private CompletionStage<HttpResponse> alive() {
    return health().thenApply(answer -> {
      if (answer instanceof NodeGuardian.Health) {
        return json(200, Map.of("status", "alive"));
      }
      return json(503, status("not alive", whyUnknown(answer)));
    });
  }

  private CompletionStage<HttpResponse> ready() {
    return health().thenCombine(identity(), (answer, status) -> {
      List<String> not = new ArrayList<>();
      if (answer instanceof NodeGuardian.Health health) {
        if (!health.subscribed()) {
          not.add("not subscribed to the broker (see the node's log for the connection)");
        }
      } else {
        not.add(whyUnknown(answer));
      }
      String published = describe(status);
      if (!(status instanceof IdentityKeeper.Published)) {
        not.add(published);
      }
      if (not.isEmpty()) {
        return json(200, Map.of("status", "ready"));
      }
      return json(503, status("not ready", String.join("; ", not)));
    });
  }

  /** {@code {"status": ..., "error": ...}} in that order. */
  private static Map<String, Object> status(String status, String error) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", status);
    body.put("error", error);
    return body;
  }

  private CompletionStage<HttpResponse> metrics() {
    return health().thenCombine(identity(), (answer, status) -> {
      if (answer instanceof NodeGuardian.Health health) {
        s.metrics().update(health);
      }
      s.metrics().update(status);
      return HttpResponse.create().withStatus(200).withEntity(
          ContentTypes.parse(s.metrics().contentType()), s.metrics().scrape());
    });
  }

  private CompletionStage<NodeGuardian.HealthAnswer> health() {
    return AskPattern.<NodeGuardian.Command, NodeGuardian.HealthAnswer>ask(s.guardian(), NodeGuardian.GetHealth::new,
        HEALTH_TIMEOUT, s.system().scheduler())
        .exceptionally(e -> new NodeGuardian.HealthUnknown(List.of("the node")));
  }

  private CompletionStage<IdentityKeeper.Status> identity() {
    return AskPattern.<NodeGuardian.Command, IdentityKeeper.Status>ask(s.guardian(),
        NodeGuardian.GetIdentityStatus::new, HEALTH_TIMEOUT, s.system().scheduler())
        .exceptionally(e -> new IdentityKeeper.Unknown("the identity keeper did not answer"));
  }

  private static String whyUnknown(NodeGuardian.HealthAnswer answer) {
    return answer instanceof NodeGuardian.HealthUnknown unknown
        ? String.join(", ", unknown.silent()) + " did not answer in time" : "no answer";
  }

  private static String describe(IdentityKeeper.Status status) {
    if (status instanceof IdentityKeeper.Published) {
      return "this node's TLSA record is published";
    } else if (status instanceof IdentityKeeper.NotPublished not) {
      return "DNS does not publish this node's key: " + not.reason();
    } else if (status instanceof IdentityKeeper.Unknown unknown) {
      return "this node's TLSA record could not be checked: " + unknown.reason();
    }
    return "this node's TLSA record has not been checked yet";
  }

  // ---- the token ------------------------------------------------------------------------------

  private Route authenticated(Supplier<Route> inner) {
    return optionalHeaderValueByName("Authorization", header -> {
      String presented = header.filter(h -> h.regionMatches(true, 0, "Bearer ", 0, 7))
          .map(h -> h.substring(7).strip()).orElse(null);
      if (s.token().matches(presented)) {
        return inner.get();
      }
      return complete(json(401, Map.of("error", header.isEmpty()
          ? "no token: send Authorization: Bearer <the token in DATA_PATH/api.token>"
          : "wrong token: send Authorization: Bearer <the token in DATA_PATH/api.token>")).addHeader(RawHeader.create("WWW-Authenticate", "Bearer realm=\"danemsg\"")));
    });
  }

  // ---- sending --------------------------------------------------------------------------------

  private Route send() {
    return extractRequestEntity(entity -> {
      long max = s.api().maxBodyBytes();
      if (entity.getContentLengthOption().isPresent() && entity.getContentLengthOption().getAsLong() > max) {
        return complete(badRequest("the body is larger than " + max + " bytes"));
      }
      CompletionStage<HttpResponse> answer = entity.toStrict(BODY_READ_MILLIS, max, s.system())
          .thenCompose(strict -> sendBody(strict.getData().asByteBuffer()))
          .exceptionally(e -> {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (cause instanceof org.apache.pekko.http.scaladsl.model.EntityStreamSizeException) {
              return badRequest("the body is larger than " + max + " bytes");
            }
            if (cause instanceof java.util.concurrent.TimeoutException) {
              return badRequest("the body did not arrive within " + BODY_READ_MILLIS / 1000 + " s");
            }
            LOG.error("API: a send failed unexpectedly: {}", SafeText.detail(String.valueOf(cause)));
            return json(500, Map.of("error", "internal error; the node's log says more"));
          });
      return completeWithFuture(answer);
    });
  }

  private CompletionStage<HttpResponse> sendBody(ByteBuffer body) {
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(body).toString();
    } catch (CharacterCodingException e) {
      return CompletableFuture.completedFuture(badRequest("the body is not UTF-8"));
    }
    RequestJson.Result parsed = RequestJson.parseObject(text);
    if (parsed instanceof RequestJson.Malformed malformed) {
      return CompletableFuture.completedFuture(badRequest("the body is not the JSON object expected ("
          + malformed.problem() + "); send {\"to\": NAME, \"text\": TEXT}"));
    }
    Map<String, String> members = ((RequestJson.Parsed) parsed).members();
    for (String name : members.keySet()) {
      if (!Set.of("to", "text", "profile").contains(name)) {
        return CompletableFuture.completedFuture(badRequest("member '" + name + "' is not accepted (to, text and"
            + " profile are)"));
      }
    }
    String to = members.get("to");
    String message = members.get("text");
    if (to == null || message == null) {
      return CompletableFuture.completedFuture(badRequest("member '" + (to == null ? "to" : "text")
          + "' is missing; send {\"to\": NAME, \"text\": TEXT}"));
    }
    String problem = DnsName.problemWith(to);
    if (problem != null) {
      return CompletableFuture.completedFuture(badRequest("'to' is not a DNS name: " + SafeText.detail(problem)));
    }
    if (SafeText.wellFormed(message) != message) {
      return CompletableFuture.completedFuture(badRequest("'text' holds a lone UTF-16 surrogate, which is not"
          + " text"));
    }
    if (message.isEmpty()) {
      return CompletableFuture.completedFuture(badRequest("'text' is empty"));
    }
    int bytes = message.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > s.maxMessageSize()) {
      return CompletableFuture.completedFuture(badRequest("'text' is " + bytes + " bytes; sealed, a message may be"
          + " at most " + s.maxMessageSize() + " bytes (MAX_MESSAGE_SIZE)"));
    }
    DnsName recipient = DnsName.parse(to);
    Profile profile;
    String asked = members.get("profile");
    if (asked == null) {
      profile = s.legacyPeers().allows(recipient) ? Profile.LEGACY : Profile.NATIVE;
    } else if (asked.equals("native") || asked.equals("legacy")) {
      profile = asked.equals("legacy") ? Profile.LEGACY : Profile.NATIVE;
    } else {
      return CompletableFuture.completedFuture(badRequest("'profile' must be \"native\" or \"legacy\""));
    }
    return s.publisher().send(new MessagePublisher.Send(recipient, message, profile)).thenApply(outcome -> {
      if (outcome instanceof MessagePublisher.Accepted sent) {
        s.metrics().send("accepted");
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("id", sent.id());
        answer.put("to", sent.to().toString());
        answer.put("bytes", sent.bytes());
        answer.put("profile", sent.profile().name().toLowerCase(java.util.Locale.ROOT));
        answer.put("dnssec", sent.dnssecValidated() ? "validated" : "off");
        return json(202, answer);
      }
      MessagePublisher.Refused refused = (MessagePublisher.Refused) outcome;
      s.metrics().send(switch (refused.status()) {
        case 400 -> "bad_request";
        case 422 -> "unusable_recipient";
        default -> "unavailable";
      });
      return json(refused.status(), Map.of("error", SafeText.detail(refused.error())));
    });
  }

  private HttpResponse badRequest(String error) {
    s.metrics().send("bad_request");
    return json(400, Map.of("error", error));
  }

  // ---- reading --------------------------------------------------------------------------------

  /** The query's parameters, each once and each one of {@code allowed}; else 400. */
  private Route query(Set<String> allowed, java.util.function.Function<Map<String, String>, Route> inner) {
    return parameterList(list -> {
      Map<String, String> params = new LinkedHashMap<>();
      for (Map.Entry<String, String> p : list) {
        if (!allowed.contains(p.getKey())) {
          return complete(json(400, Map.of("error", "query parameter '" + SafeText.detail(p.getKey())
              + "' is not accepted (" + String.join(", ", new java.util.TreeSet<>(allowed)) + " are)")));
        }
        if (params.put(p.getKey(), p.getValue()) != null) {
          return complete(json(400, Map.of("error", "query parameter '" + p.getKey() + "' is given twice")));
        }
      }
      return inner.apply(params);
    });
  }

  private Route list(Map<String, String> params) {
    long after;
    long wait;
    long limit;
    try {
      after = number(params, "after", 0, Long.MAX_VALUE, 0);
      wait = number(params, "wait", 0, s.api().maxWait().toSeconds(), 0);
      limit = number(params, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT);
    } catch (IllegalArgumentException e) {
      return complete(json(400, Map.of("error", e.getMessage())));
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(wait);
    return completeWithFuture(poll(after, (int) limit, deadline).thenApply(result -> {
      if (result instanceof InboxReader.Rows rows) {
        List<Object> messages = new ArrayList<>();
        long next = after;
        for (InboxReader.InboxMessage m : rows.messages()) {
          messages.add(member(m));
          next = m.cursor();
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("messages", messages);
        body.put("next", next);
        return json(200, body);
      }
      return json(503, Map.of("error", "the inbox cannot be read: " + ((InboxReader.Unreadable) result).reason()));
    }));
  }

  private Route stream(Map<String, String> params) {
    return optionalHeaderValueByName("Last-Event-ID", lastEventId -> {
      long after;
      try {
        Map<String, String> from = new LinkedHashMap<>(params);
        if (!from.containsKey("after") && lastEventId.isPresent()) {
          from.put("after", lastEventId.get().strip());
        }
        after = number(from, "after", 0, Long.MAX_VALUE, 0);
      } catch (IllegalArgumentException e) {
        return complete(json(400, Map.of("error", e.getMessage())));
      }
      Source<ServerSentEvent, NotUsed> events = Source.<Long, List<InboxReader.InboxMessage>>unfoldAsync(after,
          cursor -> poll(cursor, DEFAULT_LIMIT, System.nanoTime() + STREAM_WAIT.toNanos()).thenApply(result -> {
            if (!(result instanceof InboxReader.Rows rows)) {
              throw new IllegalStateException("the inbox cannot be read: " + ((InboxReader.Unreadable) result).reason());
            }
            long next = rows.messages().isEmpty() ? cursor : rows.messages().get(rows.messages().size() - 1).cursor();
            return Optional.of(Pair.create(next, rows.messages()));
          }))
          .mapConcat(messages -> messages)
          .map(m -> ServerSentEvent.create(ResponseJson.text(member(m)), "message", Long.toString(m.cursor())))
          .keepAlive(HEARTBEAT, ServerSentEvent::heartbeat);
      return completeOK(events, EventStreamMarshalling.toEventStream());
    });
  }

  /**
   * The inbox after {@code cursor}; when there is nothing yet and the deadline is ahead, waits for the
   * {@link InboxSignal} (taken before the read, so a commit in between is not missed) and reads again.
   */
  private CompletionStage<InboxReader.Result> poll(long cursor, int limit, long deadlineNanos) {
    CompletableFuture<Void> wake = s.signal().next();
    return AskPattern.<InboxReader.Command, InboxReader.Result>ask(s.inbox(),
        replyTo -> new InboxReader.Read(cursor, limit, replyTo), ASK_TIMEOUT, s.system().scheduler())
        .exceptionally(e -> new InboxReader.Unreadable("the inbox reader did not answer within "
            + ASK_TIMEOUT.toSeconds() + " s"))
        .thenCompose(result -> {
          long left = deadlineNanos - System.nanoTime();
          if (!(result instanceof InboxReader.Rows rows) || !rows.messages().isEmpty() || left <= 0) {
            return CompletableFuture.completedFuture(result);
          }
          return wake.copy().completeOnTimeout(null, left, TimeUnit.NANOSECONDS)
              .thenCompose(woken -> poll(cursor, limit, deadlineNanos));
        });
  }

  private static Map<String, Object> member(InboxReader.InboxMessage m) {
    Map<String, Object> member = new LinkedHashMap<>();
    member.put("cursor", m.cursor());
    member.put("id", m.id());
    member.put("sender", m.sender());
    member.put("recipient", m.recipient());
    member.put("text", m.text());
    member.put("sent-at", m.sentAt() == null ? null : m.sentAt().toString());
    member.put("received-at", m.receivedAt() == null ? null : m.receivedAt().toString());
    member.put("profile", m.profile());
    member.put("dnssec", m.dnssec());
    return member;
  }

  /** A whole-number parameter within {@code min..max}, or {@code fallback} when absent. */
  private static long number(Map<String, String> params, String name, long min, long max, long fallback) {
    String text = params.get(name);
    if (text == null) {
      return fallback;
    }
    if (!text.matches("[0-9]{1,18}")) {
      throw new IllegalArgumentException("'" + name + "' must be a whole number from " + min + " to " + max);
    }
    long value = Long.parseLong(text);
    if (value < min || value > max) {
      throw new IllegalArgumentException("'" + name + "' is " + value + ", outside " + min + " to " + max);
    }
    return value;
  }

  // ---- answers --------------------------------------------------------------------------------

  static HttpResponse json(int status, Object body) {
    return HttpResponse.create().withStatus(status)
        .withEntity(ContentTypes.APPLICATION_JSON, ResponseJson.bytes(body));
  }

  /** Pekko's rejections (no such path, wrong method, ...) with their text as {@code {"error": ...}}. */
  private RejectionHandler rejections() {
    return RejectionHandler.defaultHandler().mapRejectionResponse(response -> {
      if (response.entity() instanceof HttpEntity.Strict strict
          && !strict.getContentType().equals(ContentTypes.APPLICATION_JSON)) {
        String text = strict.getData().utf8String();
        return response.withEntity(ContentTypes.APPLICATION_JSON, ResponseJson.error(text));
      }
      return response;
    });
  }

  /** A bug in a route: logged, answered 500 with no detail. */
  private ExceptionHandler failures() {
    return ExceptionHandler.newBuilder().matchAny(e -> {
      LOG.error("API: a request failed: {}", SafeText.detail(String.valueOf(e)));
      return complete(json(500, Map.of("error", "internal error; the node's log says more")));
    }).build();
  }
}
