package org.danemsg.testing;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.sift.SiftingAppender;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Deque;
import java.util.Iterator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Names the running test for the logs, so that each test's log lines land in a file of their own:
 * {@code target/test-logs/<TestClass>/<method>.log} ({@code <method>[n].log} for the n-th run of a
 * parameterized test), and what runs around the methods (servers and nodes started for the whole
 * class) in {@code <TestClass>/class.log}. A child process a test starts can keep its output next to
 * them ({@link #path}). The class's folder is emptied when the class starts, so a folder holds one run.
 *
 * <p>Registered for every test of every module whose tests have this test-jar (JUnit's extension
 * autodetection, see {@code junit-platform.properties}); each module's {@code logback-test.xml}
 * includes {@code danemsg-test-logs.xml}, whose appender sorts lines with {@link
 * CurrentTestDiscriminator}.
 *
 * <p>The test's thread carries the name in the MDC ({@value #KEY}). Lines logged on other threads
 * (actors, DNS, MQTT, servers' readers) carry none: they are filed under the test running at the
 * time, which is right because a test JVM runs one test at a time (surefire's fork runs classes in
 * sequence; JUnit's parallel execution is not enabled). A line a thread logs after its test ended
 * lands in the next test's file.
 */
public final class TestLogs implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback, AfterAllCallback {

  /** The MDC key and the name {@code danemsg-test-logs.xml} uses for the test: {@code Class/method}. */
  public static final String KEY = "test";
  /** The key of lines logged while no test class runs (a JVM's start and end). */
  static final String OUTSIDE = "outside-tests";
  /** The folder of all test logs: {@code -Ddanemsg.test.logs} (set by the build), else target/test-logs. */
  static final String ROOT_PROPERTY = "danemsg.test.logs";

  private static final Pattern INVOCATION = Pattern.compile("\\[test-template-invocation:#(\\d+)]$");
  /** Class keys and, on top while a method runs, the method's key. */
  private static final Deque<String> RUNNING = new ArrayDeque<>();
  private static volatile String current = OUTSIDE;

  @Override
  public void beforeAll(ExtensionContext context) {
    String testClass = className(context);
    deleteTree(root().resolve(testClass));
    enter(testClass + "/class");
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    enter(className(context) + "/" + testName(context));
  }

  @Override
  public void afterEach(ExtensionContext context) {
    leave();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    leave();
  }

  /** The key of the test running now ({@code Class/method}, {@code Class/class} or {@value #OUTSIDE}). */
  public static String current() {
    return current;
  }

  /**
   * A path next to the running test's log file: {@code <TestClass>/<method>.<suffix>} (or {@code
   * class.<suffix>} outside the methods), its folder created. For what a test's child processes write.
   */
  public static Path path(String suffix) {
    Path path = root().resolve(current + "." + suffix);
    try {
      Files.createDirectories(path.getParent());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the test log folder " + path.getParent(), e);
    }
    return path;
  }

  /** The folder of all test logs. */
  public static Path root() {
    return Path.of(System.getProperty(ROOT_PROPERTY, "target/test-logs")).toAbsolutePath();
  }

  private static synchronized void enter(String key) {
    RUNNING.push(key);
    current = key;
    MDC.put(KEY, key);
  }

  private static synchronized void leave() {
    String ended = RUNNING.poll();
    if (RUNNING.isEmpty()) {
      current = OUTSIDE;
      MDC.remove(KEY);
    } else {
      current = RUNNING.peek();
      MDC.put(KEY, current);
    }
    if (ended != null) {
      closeLogFile(ended);
    }
  }

  /** Lets Logback close the file of a test that ended (after a linger of 10 s, for late lines). */
  private static void closeLogFile(String key) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext logback)) {
      return;
    }
    Iterator<Appender<ILoggingEvent>> appenders = logback.getLogger(Logger.ROOT_LOGGER_NAME).iteratorForAppenders();
    while (appenders.hasNext()) {
      if (appenders.next() instanceof SiftingAppender sift) {
        synchronized (sift) { // the lock SiftingAppender appends under: its tracker is not thread-safe
          sift.getAppenderTracker().endOfLife(key);
        }
      }
    }
  }

  /** The class's name without its package ({@code Outer$Inner} for a nested class). */
  private static String className(ExtensionContext context) {
    Class<?> testClass = context.getRequiredTestClass();
    return testClass.getName().substring(testClass.getPackageName().isEmpty() ? 0 : testClass.getPackageName().length() + 1);
  }

  private static String testName(ExtensionContext context) {
    String method = context.getRequiredTestMethod().getName();
    Matcher invocation = INVOCATION.matcher(context.getUniqueId());
    return invocation.find() ? method + "[" + invocation.group(1) + "]" : method;
  }

  private static void deleteTree(Path folder) {
    if (!Files.isDirectory(folder)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(folder)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot empty the test log folder " + folder, e);
    }
  }
}
