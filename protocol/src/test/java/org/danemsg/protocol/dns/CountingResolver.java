package org.danemsg.protocol.dns;

import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import org.xbill.DNS.Message;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.Type;

/** A resolver that counts the TLSA queries it passes on (the validator's own DNSKEY/DS queries are not counted). */
final class CountingResolver extends ForwardingResolver {

  private final AtomicInteger tlsaQueries;

  CountingResolver(Resolver inner, AtomicInteger tlsaQueries) {
    super(inner);
    this.tlsaQueries = tlsaQueries;
  }

  @Override
  public CompletionStage<Message> sendAsync(Message query, Executor executor) {
    if (query.getQuestion().getType() == Type.TLSA) {
      tlsaQueries.incrementAndGet();
    }
    return server.sendAsync(query, executor);
  }
}
