package org.danemsg.protocol.dns;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.Type;

/** A resolver that counts the TLSA queries it passes on (the validator's own DNSKEY/DS queries are not counted). */
final class CountingResolver implements Resolver {

  private final Resolver inner;
  private final AtomicInteger tlsaQueries;

  CountingResolver(Resolver inner, AtomicInteger tlsaQueries) {
    this.inner = inner;
    this.tlsaQueries = tlsaQueries;
  }

  @Override
  public CompletionStage<Message> sendAsync(Message query, Executor executor) {
    if (query.getQuestion().getType() == Type.TLSA) {
      tlsaQueries.incrementAndGet();
    }
    return inner.sendAsync(query, executor);
  }

  @Override
  public CompletionStage<Message> sendAsync(Message query) {
    return sendAsync(query, java.util.concurrent.ForkJoinPool.commonPool());
  }

  @Override
  public void setPort(int port) {
    inner.setPort(port);
  }

  @Override
  public void setTCP(boolean flag) {
    inner.setTCP(flag);
  }

  @Override
  public void setIgnoreTruncation(boolean flag) {
    inner.setIgnoreTruncation(flag);
  }

  @Override
  public void setEDNS(int version, int payloadSize, int flags, List<EDNSOption> options) {
    inner.setEDNS(version, payloadSize, flags, options);
  }

  @Override
  public void setTSIGKey(TSIG key) {
    inner.setTSIGKey(key);
  }

  @Override
  public void setTimeout(Duration timeout) {
    inner.setTimeout(timeout);
  }

  @Override
  public Duration getTimeout() {
    return inner.getTimeout();
  }
}
