package org.danemsg.testing;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.sift.AbstractDiscriminator;

/**
 * Files a log line under the test that logged it, for the SiftingAppender of {@code
 * danemsg-test-logs.xml}: the MDC's {@value TestLogs#KEY} on the test's own thread, else (an actor's,
 * a client's or a server reader's thread) the test running now.
 */
public final class CurrentTestDiscriminator extends AbstractDiscriminator<ILoggingEvent> {

  @Override
  public String getDiscriminatingValue(ILoggingEvent event) {
    String test = event.getMDCPropertyMap().get(TestLogs.KEY);
    return test != null ? test : TestLogs.current();
  }

  @Override
  public String getKey() {
    return TestLogs.KEY;
  }
}
