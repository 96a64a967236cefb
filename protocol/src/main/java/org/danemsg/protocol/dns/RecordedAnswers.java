package org.danemsg.protocol.dns;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.TSIG;

/**
 * The answers a lookup got from its DNS server, kept so that the same lookup can be validated again
 * without the server ({@link DaneLookup#warmUp}): {@link #recording} passes queries on and keeps each
 * answer by its question; {@link #replaying} answers from what was kept (a question never asked fails).
 */
final class RecordedAnswers {

  private final Map<String, byte[]> answers = new ConcurrentHashMap<>();

  /** {@code server}, keeping a copy of each answer it gives; its settings go to {@code server}. */
  Resolver recording(Resolver server) {
    return new ForwardingResolver(server) {
      @Override
      public CompletionStage<Message> sendAsync(Message query, Executor executor) {
        return server.sendAsync(query, executor).thenApply(answer -> {
          answers.put(question(query), answer.toWire());
          return answer;
        });
      }
    };
  }

  /** A resolver that answers only from the kept answers, never over the network. */
  Resolver replaying() {
    return new Answering() {
      @Override
      public CompletionStage<Message> sendAsync(Message query, Executor executor) {
        byte[] wire = answers.get(question(query));
        if (wire == null) {
          return CompletableFuture.failedFuture(new IOException("no recorded answer for " + question(query)));
        }
        try {
          Message answer = new Message(wire);
          answer.getHeader().setID(query.getHeader().getID());
          return CompletableFuture.completedFuture(answer);
        } catch (IOException e) {
          return CompletableFuture.failedFuture(e);
        }
      }
    };
  }

  /** How many answers are kept. */
  int size() {
    return answers.size();
  }

  private static String question(Message query) {
    Record q = query.getQuestion();
    return q == null ? "" : q.getName() + " " + q.getType() + " " + q.getDClass();
  }

  /** A resolver whose settings are not used (replaying: the answers are as they were recorded). */
  private abstract static class Answering implements Resolver {
    @Override
    public CompletionStage<Message> sendAsync(Message query) {
      return sendAsync(query, Runnable::run);
    }

    @Override
    public void setPort(int port) {
      // the server's resolver has its port
    }

    @Override
    public void setTCP(boolean flag) {
      // as the server's resolver does
    }

    @Override
    public void setIgnoreTruncation(boolean flag) {
      // as the server's resolver does
    }

    @Override
    public void setEDNS(int version, int payloadSize, int flags, List<EDNSOption> options) {
      // as the server's resolver does
    }

    @Override
    public void setTSIGKey(TSIG key) {
      // lookups are not signed
    }

    @Override
    public void setTimeout(Duration timeout) {
      // as the server's resolver does
    }
  }
}
