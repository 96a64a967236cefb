package org.danemsg.protocol.dns;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.TSIG;

/**
 * A resolver in front of another that passes every setting on to it (the validator asks for DNSSEC
 * records through {@code setEDNS}); subclasses say what happens to a query.
 */
abstract class ForwardingResolver implements Resolver {

  /** The resolver behind this one. */
  protected final Resolver server;

  ForwardingResolver(Resolver server) {
    this.server = server;
  }

  @Override
  public abstract CompletionStage<Message> sendAsync(Message query, Executor executor);

  @Override
  public CompletionStage<Message> sendAsync(Message query) {
    return sendAsync(query, Runnable::run);
  }

  @Override
  public void setPort(int port) {
    server.setPort(port);
  }

  @Override
  public void setTCP(boolean flag) {
    server.setTCP(flag);
  }

  @Override
  public void setIgnoreTruncation(boolean flag) {
    server.setIgnoreTruncation(flag);
  }

  @Override
  public void setEDNS(int version, int payloadSize, int flags, List<EDNSOption> options) {
    server.setEDNS(version, payloadSize, flags, options);
  }

  @Override
  public void setTSIGKey(TSIG key) {
    server.setTSIGKey(key);
  }

  @Override
  public void setTimeout(Duration timeout) {
    server.setTimeout(timeout);
  }

  @Override
  public Duration getTimeout() {
    return server.getTimeout();
  }
}
