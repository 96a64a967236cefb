package org.danemsg.node;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Keeps every log line of the test JVM so tests can check what operators would read. */
public final class LogRecorder extends AppenderBase<ILoggingEvent> {

  private static final List<String> LINES = new CopyOnWriteArrayList<>();

  @Override
  protected void append(ILoggingEvent event) {
    LINES.add(event.getLevel() + " " + event.getFormattedMessage());
  }

  /** The lines logged so far that contain every one of {@code parts}. */
  public static List<String> linesWith(String... parts) {
    return LINES.stream().filter(line -> {
      for (String part : parts) {
        if (!line.contains(part)) {
          return false;
        }
      }
      return true;
    }).toList();
  }
}
