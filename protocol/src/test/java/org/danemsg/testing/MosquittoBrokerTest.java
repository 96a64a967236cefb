package org.danemsg.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class MosquittoBrokerTest {

  @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();

  @Test
  void keepsAnOfflineSessionsQueuedMessageAcrossARestart() throws Exception {
    // a persistent session subscribes once, then goes away
    run("/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", Integer.toString(broker.port()),
        "-c", "-i", "durable-sub", "-q", "1", "-t", "alice", "-E");
    run("/usr/bin/mosquitto_pub", "-h", "127.0.0.1", "-p", Integer.toString(broker.port()),
        "-q", "1", "-t", "alice", "-m", "hello");

    broker.restart();

    String received = run("/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", Integer.toString(broker.port()),
        "-c", "-i", "durable-sub", "-q", "1", "-t", "alice", "-C", "1", "-W", "5");
    assertEquals("hello", received.strip());
    assertTrue(Files.exists(broker.directory().resolve("mosquitto.db")), broker.log());
  }

  private static String run(String... command) throws Exception {
    Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(10, TimeUnit.SECONDS), String.join(" ", command));
    assertEquals(0, p.exitValue(), String.join(" ", command) + ": " + out);
    return out;
  }
}
