package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The DNS pool's threads are there before the first new sender's lookup needs one. */
@ExtendWith(TestKitJUnit5Extension.class)
class DnsPoolThreadsTest {

  private static final String DNS = "danemsg.dns-dispatcher";

  // the node's own reference.conf: the DNS dispatcher as the node has it
  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder()
      .withCustomConfig(ConfigFactory.load()).build();

  @Test
  void theNodesDnsPoolStartsAllItsThreadsAtOnceAndRunsLaterLookupsOnThem() throws Exception {
    Config config = testKit.system().settings().config();
    int size = config.getInt(DNS + ".thread-pool-executor.fixed-pool-size");
    Executor dns = testKit.system().dispatchers().lookup(DispatcherSelector.fromConfig(DNS));
    assertEquals(Set.of(), dnsThreads(), "a pool starts its threads on demand");

    NodeGuardian.startThreads(dns, config, DNS);

    Poll.until(Duration.ofSeconds(10), () -> dnsThreads().size() == size,
        () -> "the DNS pool's threads: " + dnsThreads() + ", expected " + size);
    Set<String> started = dnsThreads();
    for (int i = 0; i < 3 * size; i++) {
      String ranOn = CompletableFuture.supplyAsync(() -> Thread.currentThread().getName(), dns)
          .get(10, TimeUnit.SECONDS);
      assertTrue(started.contains(ranOn), ranOn + " is not one of " + started);
    }
    assertEquals(started, dnsThreads());
  }

  @Test
  void onlyAThreadPoolOfAFixedSizeIsStartedSo() {
    AtomicInteger tasks = new AtomicInteger();
    Executor counting = task -> tasks.incrementAndGet();
    NodeGuardian.startThreads(counting, ConfigFactory.parseString(
        "d.executor = thread-pool-executor\nd.thread-pool-executor.fixed-pool-size = 3"), "d");
    assertEquals(3, tasks.getAndSet(0));
    // a fork-join pool (a user's choice) starts its threads as it does; no pool configured: nothing
    NodeGuardian.startThreads(counting, ConfigFactory.parseString(
        "d.executor = fork-join-executor\nd.thread-pool-executor.fixed-pool-size = 3"), "d");
    NodeGuardian.startThreads(counting, ConfigFactory.parseString("d.executor = thread-pool-executor"), "d");
    NodeGuardian.startThreads(counting, ConfigFactory.empty(), "d");
    assertEquals(0, tasks.get());
  }

  private Set<String> dnsThreads() {
    String prefix = testKit.system().name() + "-" + DNS + "-";
    return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
        .filter(name -> name.startsWith(prefix)).collect(Collectors.toSet());
  }
}
