package org.danemsg.protocol.dns;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.UnaryOperator;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.SafeText;
import org.danemsg.protocol.TlsaRecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.ExtendedErrorCodeOption;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TLSARecord;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.WireParseException;
import org.xbill.DNS.dnssec.ValidatingResolver;

/** {@link DaneLookup} on dnsjava: a {@link ValidatingResolver} over a {@link SimpleResolver}. */
final class DnsjavaLookup implements DaneLookup {

  /** EDNS UDP payload we announce; larger answers come back truncated and are re-asked over TCP. */
  private static final int UDP_PAYLOAD = 1232;

  /**
   * What the validator says when the server's own answer was an error it cannot classify (e.g. the
   * server's SERVFAIL): that is the server's failure, not a validation failure.
   */
  private static final String UNCLASSIFIED_PREFIX = "Response subtype is";

  private final DaneLookup.Settings settings;
  private final Resolver resolver;
  /** The server without validation in front: for asking again why an answer did not validate. */
  private final Resolver upstream;

  DnsjavaLookup(DaneLookup.Settings settings) {
    this(settings, UnaryOperator.identity());
  }

  /** {@code upstream} may wrap the resolver that talks to the server (tests count queries this way). */
  DnsjavaLookup(DaneLookup.Settings settings, UnaryOperator<Resolver> upstream) {
    this.settings = settings;
    SimpleResolver simple = new SimpleResolver(socketAddress(settings.server()));
    simple.setTimeout(settings.timeout());
    simple.setIoClientFactory(new BlockingDnsTransport());
    // Truncated UDP answers (an RSA "3 0 0" record with its RRSIG rarely fits) are retried over TCP
    // by SimpleResolver itself: ignoreTruncation stays false.
    simple.setEDNS(0, UDP_PAYLOAD, 0, List.of());
    Resolver head = upstream.apply(simple);
    this.upstream = head;
    if (settings.dnssecOff()) {
      this.resolver = head;
    } else {
      ValidatingResolver validating = new ValidatingResolver(head);
      validating.setEDNS(0, UDP_PAYLOAD, 0, List.of());
      try {
        validating.loadTrustAnchors(settings.trustAnchors().asZoneFile());
      } catch (IOException e) {
        throw new UncheckedIOException("trust anchors from " + settings.trustAnchors().source()
            + " could not be loaded", e);
      }
      validating.setTimeout(settings.timeout());
      this.resolver = validating;
    }
  }

  @Override
  public int warmUp(DnsName name, int rounds, java.time.Duration atMost) {
    long deadline = System.nanoTime() + atMost.toNanos();
    RecordedAnswers answers = new RecordedAnswers();
    LookupResult result = new DnsjavaLookup(settings, answers::recording).lookup(name);
    return result instanceof LookupResult.Secure ? rehearse(name, answers, rounds, deadline) : 0;
  }

  /**
   * The lookup of {@code name} from {@code answers} up to {@code rounds} times or until {@code deadline},
   * with validators of their own (this lookup's caches are not touched): one for ten rounds, so that most
   * rounds find the zone's keys cached, as a new peer's lookup does, and some check them again.
   *
   * @return the rounds whose answer validated as secure
   */
  int rehearse(DnsName name, RecordedAnswers answers, int rounds, long deadline) {
    int secure = 0;
    DnsjavaLookup rehearsal = null;
    for (int i = 0; i < rounds && System.nanoTime() < deadline; i++) {
      if (i % 10 == 0) {
        rehearsal = new DnsjavaLookup(settings, server -> answers.replaying());
      }
      if (rehearsal.lookup(name) instanceof LookupResult.Secure) {
        secure++;
      }
    }
    return secure;
  }

  @Override
  public LookupResult lookup(DnsName name) {
    long deadline = System.nanoTime() + settings.timeout().toNanos();
    DnsServer server = settings.server();
    Message query;
    try {
      query = Message.newQuery(Record.newRecord(Name.fromString(name.absolute()), Type.TLSA, DClass.IN));
    } catch (TextParseException e) {
      throw new IllegalArgumentException("DnsName " + name + " is not a DNS name", e);
    }
    Message response;
    try {
      response = onThisThread(resolver, query, deadline);
    } catch (IOException | RuntimeException e) {
      return failure(server, name, e);
    }
    LookupResult result = interpret(server, name, response);
    if (result instanceof LookupResult.Bogus bogus) {
      return explainCnameLoop(bogus, query, deadline);
    }
    return result;
  }

  /**
   * {@code query} through {@code through}, every step on this thread: the queries by the
   * {@link BlockingDnsTransport} (each ending by {@code deadline}), the parsing and the validation by
   * a direct executor. No other thread is woken for a lookup.
   */
  private static Message onThisThread(Resolver through, Message query, long deadline) throws IOException {
    CompletableFuture<Message> answer = BlockingDnsTransport.withDeadline(deadline,
        () -> through.sendAsync(query, Runnable::run).toCompletableFuture());
    try {
      // Done by now: every stage ran on this thread. The wait is a guard should dnsjava ever hand a
      // stage to another thread.
      return answer.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() instanceof java.util.concurrent.CompletionException c && c.getCause() != null
          ? c.getCause() : e.getCause();
      if (cause instanceof IOException io) {
        throw io;
      }
      throw new IOException(cause);
    } catch (TimeoutException e) {
      answer.cancel(false);
      throw new IOException("timed out waiting for the answer to " + query.getQuestion().getName(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for DNS", e);
    }
  }

  /**
   * A CNAME loop reaches the validator as an answer without the record asked for and without a
   * proof that there is none, so it says only "failed to prove NODATA" and drops the records. Asks
   * the server once more, unvalidated and within what is left of the timeout, whether the name's
   * CNAMEs lead back to themselves, so that the reason names what to fix in the zone.
   */
  private LookupResult explainCnameLoop(LookupResult.Bogus bogus, Message query, long deadline) {
    long remaining = deadline - System.nanoTime();
    if (remaining <= 0) {
      return bogus;
    }
    Message unvalidated = Message.newQuery(query.getQuestion());
    unvalidated.getHeader().setFlag(Flags.CD); // a validating recursive resolver would SERVFAIL it
    Message raw;
    try {
      raw = onThisThread(upstream, unvalidated, deadline);
    } catch (IOException | RuntimeException e) {
      return bogus;
    }
    List<Name> loop = cnameLoop(query.getQuestion().getName(), raw);
    if (loop.isEmpty()) {
      return bogus;
    }
    StringBuilder chain = new StringBuilder();
    for (Name n : loop) {
      chain.append(chain.length() == 0 ? "" : " -> ").append(n);
    }
    // The names come from an unvalidated answer: anyone on the path may have made them long.
    return new LookupResult.Bogus(bogus.server(), bogus.name(), "CNAME loop " + SafeText.detail(chain.toString())
        + ": the zone's CNAMEs lead back to themselves, so no TLSA record can be reached"
        + " (validator: " + bogus.validatorReason() + ")");
  }

  /** The CNAME chain from {@code start} in {@code response}'s answer if it loops, else empty. */
  static List<Name> cnameLoop(Name start, Message response) {
    Map<Name, Name> targets = new HashMap<>();
    for (Record r : response.getSection(Section.ANSWER)) {
      if (r instanceof CNAMERecord cname) {
        targets.put(cname.getName(), cname.getTarget());
      }
    }
    List<Name> chain = new ArrayList<>(List.of(start));
    Name current = start;
    while (targets.containsKey(current)) {
      current = targets.get(current);
      boolean seen = chain.contains(current);
      chain.add(current);
      if (seen) {
        return chain;
      }
    }
    return List.of();
  }

  private LookupResult interpret(DnsServer server, DnsName name, Message response) {
    int rcode = response.getRcode();
    boolean authenticated = !settings.dnssecOff() && response.getHeader().getFlag(Flags.AD);
    String reason = settings.dnssecOff() ? null : validationReason(response);
    switch (rcode) {
      case Rcode.NXDOMAIN:
        return new LookupResult.NoSuchName(server, name, authenticated);
      case Rcode.NOERROR:
        return answer(server, name, response, authenticated, reason);
      case Rcode.SERVFAIL:
        if (reason != null && !reason.startsWith(UNCLASSIFIED_PREFIX)) {
          return new LookupResult.Bogus(server, name, reason);
        }
        return new LookupResult.TransientFailure(server, name,
            LookupResult.TransientFailure.Kind.SERVFAIL,
            "the server answered SERVFAIL (it could not resolve the name)");
      case Rcode.REFUSED:
        return new LookupResult.TransientFailure(server, name,
            LookupResult.TransientFailure.Kind.REFUSED,
            "the server refused the query: it neither serves nor resolves this name for us");
      default:
        return new LookupResult.TransientFailure(server, name,
            LookupResult.TransientFailure.Kind.BAD_RESPONSE,
            "unexpected response code " + Rcode.string(rcode));
    }
  }

  private LookupResult answer(DnsServer server, DnsName name, Message response,
      boolean authenticated, String reason) {
    List<TlsaRecord> records = new ArrayList<>();
    List<PublicKey> keys = new ArrayList<>();
    List<String> unusable = new ArrayList<>();
    long ttl = Long.MAX_VALUE;
    int notExamined = 0;
    for (Record r : response.getSection(Section.ANSWER)) {
      if (!(r instanceof TLSARecord tlsa)) {
        continue; // CNAMEs on the way; validated with the rest
      }
      ttl = Math.min(ttl, r.getTTL());
      TlsaRecord record;
      try {
        record = new TlsaRecord(tlsa.getCertificateUsage(), tlsa.getSelector(),
            tlsa.getMatchingType(), tlsa.getCertificateAssociationData());
      } catch (IllegalArgumentException e) {
        unusable.add("record '" + SafeText.detail(tlsa.rdataToString()) + "': " + SafeText.detail(e.getMessage()));
        continue;
      }
      records.add(record);
      if (keys.size() == MAX_KEYS_PER_NAME) {
        notExamined++; // not even parsed: a zone must not be able to make lookups or messages costly
        continue;
      }
      TlsaRecord.KeyExtraction extraction = record.publicKey();
      if (extraction instanceof TlsaRecord.UsableKey usable) {
        keys.add(usable.key());
      } else if (extraction instanceof TlsaRecord.UnusableRecord bad) {
        unusable.add("record " + record + ": " + bad.reason());
      }
    }
    if (notExamined > 0) {
      unusable.add(notExamined + " more record(s) not examined: too many records, only the first "
          + MAX_KEYS_PER_NAME + " usable keys of a name are used");
    }
    if (records.isEmpty() && unusable.isEmpty()) {
      return new LookupResult.NoRecords(server, name, authenticated);
    }
    if (settings.dnssecOff()) {
      return keys.isEmpty()
          ? new LookupResult.NoUsableKey(server, name, records, unusable, false, ttl)
          : new LookupResult.Unauthenticated(server, name, records, keys, unusable, ttl);
    }
    if (!authenticated) {
      return new LookupResult.Insecure(server, name, records, reason != null ? reason
          : "the answer is not DNSSEC-signed under the trust anchors for "
              + settings.trustAnchors().zones() + " (" + settings.trustAnchors().source() + ")");
    }
    return keys.isEmpty()
        ? new LookupResult.NoUsableKey(server, name, records, unusable, true, ttl)
        : new LookupResult.Secure(server, name, records, keys, unusable, ttl);
  }

  /**
   * The validator's reason: the TXT record it adds in class 65280, else the extended DNS error text;
   * made safe, because it quotes names and may pass on text from the answer.
   */
  private static String validationReason(Message response) {
    String reason = rawValidationReason(response);
    return reason == null ? null : SafeText.detail(reason);
  }

  private static String rawValidationReason(Message response) {
    for (Record r : response.getSection(Section.ADDITIONAL)) {
      if (r.getDClass() == ValidatingResolver.VALIDATION_REASON_QCLASS && r instanceof TXTRecord txt) {
        return String.join("", txt.getStrings());
      }
    }
    OPTRecord opt = response.getOPT();
    if (opt != null) {
      for (EDNSOption option : opt.getOptions(EDNSOption.Code.EDNS_EXTENDED_ERROR)) {
        if (option instanceof ExtendedErrorCodeOption ede) {
          String text = ede.getText();
          return ExtendedErrorCodeOption.text(ede.getErrorCode())
              + (text == null || text.isEmpty() ? "" : ": " + text);
        }
      }
    }
    return null;
  }

  private static LookupResult failure(DnsServer server, DnsName name, Throwable error) {
    LookupResult.TransientFailure.Kind kind = LookupResult.TransientFailure.Kind.NETWORK;
    for (Throwable t = error; t != null; t = t.getCause()) {
      String message = t.getMessage() == null ? "" : t.getMessage().toLowerCase(Locale.ROOT);
      if (t instanceof SocketTimeoutException || t instanceof TimeoutException
          || message.contains("timed out") || message.contains("timeout")) {
        kind = LookupResult.TransientFailure.Kind.TIMEOUT;
        break;
      }
      if (t instanceof WireParseException) {
        kind = LookupResult.TransientFailure.Kind.BAD_RESPONSE;
        break;
      }
    }
    String detail;
    if (kind == LookupResult.TransientFailure.Kind.TIMEOUT) {
      detail = "no answer within the timeout";
    } else if (causedBy(error, ConnectException.class)) {
      // Queries go over UDP; TCP is only tried after a truncated UDP answer
      detail = "the UDP answer was truncated and " + server + " refused the TCP connection needed for"
          + " the whole answer (the server, or a firewall, must allow DNS over TCP)";
    } else if (causedBy(error, PortUnreachableException.class)) {
      detail = "nothing answers DNS at " + server + " (UDP port unreachable)";
    } else if (kind == LookupResult.TransientFailure.Kind.BAD_RESPONSE) {
      detail = "the reply is not a valid DNS answer to the query: " + rootMessage(error);
    } else {
      detail = describe(error);
    }
    return new LookupResult.TransientFailure(server, name, kind, detail);
  }

  private static boolean causedBy(Throwable error, Class<? extends Throwable> type) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  /** The root cause's class and message; the message may quote what the server sent. */
  private static String describe(Throwable error) {
    Throwable root = root(error);
    String message = root.getMessage();
    return root.getClass().getSimpleName() + (message == null ? "" : ": " + SafeText.detail(message));
  }

  private static String rootMessage(Throwable error) {
    Throwable root = root(error);
    return root.getMessage() == null ? root.getClass().getSimpleName() : SafeText.detail(root.getMessage());
  }

  private static Throwable root(Throwable error) {
    Throwable root = error;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root;
  }

  static InetSocketAddress socketAddress(DnsServer server) {
    try {
      return new InetSocketAddress(InetAddress.getByName(server.host()), server.port());
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("DNS server host '" + server.host()
          + "' cannot be resolved to an address: " + e.getMessage());
    }
  }
}
