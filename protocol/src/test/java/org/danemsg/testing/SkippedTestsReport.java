package org.danemsg.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Makes every skipped test loud: at the end of a module's test run, one line {@code SKIPPED: <test> —
 * <reason>} per test or class that was disabled ({@code @Disabled}, {@code @EnabledIf…}) or aborted
 * (a failed {@code Assumptions.assume…}), so that a skip is read in the build's output rather than
 * only counted. Nothing is printed when nothing was skipped. Registered with the JUnit launcher
 * through {@code META-INF/services}, for every module whose tests have this test-jar.
 */
public final class SkippedTestsReport implements TestExecutionListener {

  private final List<String> skipped = new CopyOnWriteArrayList<>();

  @Override
  public void executionSkipped(TestIdentifier test, String reason) {
    skipped.add(name(test) + " — " + reason);
  }

  @Override
  public void executionFinished(TestIdentifier test, TestExecutionResult result) {
    if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
      skipped.add(name(test) + " — " + result.getThrowable().map(Throwable::getMessage).orElse("aborted"));
    }
  }

  @Override
  public void testPlanExecutionFinished(TestPlan plan) {
    // stderr: surefire shows it in the console whatever it does with the tests' stdout
    for (String line : skipped) {
      System.err.println("SKIPPED: " + line);
    }
    skipped.clear();
  }

  private static String name(TestIdentifier test) {
    String name = test.getSource().map(source -> {
      if (source instanceof MethodSource m) {
        return simpleName(m.getClassName()) + "." + m.getMethodName();
      }
      if (source instanceof ClassSource c) {
        return simpleName(c.getClassName());
      }
      return null;
    }).orElse(test.getDisplayName());
    // one run of a parameterized or repeated test: which one
    return test.getUniqueId().endsWith("]") && test.getUniqueId().contains("invocation:#")
        ? name + " " + test.getDisplayName() : name;
  }

  private static String simpleName(String className) {
    return className.substring(className.lastIndexOf('.') + 1);
  }
}
