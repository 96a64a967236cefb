package org.danemsg.node;

import com.typesafe.config.Config;
import java.nio.file.Path;
import org.danemsg.client.SettingsException;
import org.danemsg.protocol.CryptoProviders;
import sun.misc.Signal;

/**
 * {@code java -jar node.jar [--config FILE]}: runs a node until SIGTERM or SIGINT, then finishes the
 * messages in flight (up to {@code drain-timeout}) and exits 0. A bad setting or identity stops it at
 * start with one line on stderr and exit status 1; bad usage exits 2.
 */
public final class Main {

  static {
    // Pekko's Java API hands out Scala futures converted to CompletableFuture, whose callbacks run
    // asynchronously on the common pool (ask, pipeToSelf of an ask, the MQTT connector's acks). With
    // fewer than three cores the common pool has a parallelism of 1, and CompletableFuture then starts
    // a new thread for every such callback: several per message, which on 2 cores cost more CPU than
    // the cryptography (JFR: 78,000 threads started for 13,000 messages). Two is enough to use a pool.
    String parallelism = "java.util.concurrent.ForkJoinPool.common.parallelism";
    if (System.getProperty(parallelism) == null && Runtime.getRuntime().availableProcessors() < 3) {
      System.setProperty(parallelism, "2");
    }
  }

  private Main() {}

  public static void main(String[] args) {
    CryptoProviders.installAll(); // before anything asks for an algorithm: the order is the JVM's from then on
    Path configFile = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--config" -> {
          if (i + 1 >= args.length) {
            usage("--config needs a file");
          }
          configFile = Path.of(args[++i]);
        }
        case "-h", "--help" -> {
          System.out.println("usage: java -jar node.jar [--config FILE]\n"
              + "Settings: see reference.conf in the jar; environment: IDENTITY_NAME, CRYPTO_PATH, MQTT_HOST,"
              + " MQTT_PORT, MAX_MESSAGE_SIZE, DNS_SERVER, DNSSEC_TRUST_ANCHOR, DNSSEC_OFF, DATA_PATH,"
              + " MQTT_USERNAME, MQTT_PASSWORD, MQTT_PASSWORD_FILE, MQTT_TLS, MQTT_CA_FILE, MQTT_CLIENT_ID,"
              + " LEGACY_PEERS, DNS_ALLOWED_ZONES, MESSAGE_LIFETIME, HEALTH_INTERVAL, INBOX_MAX_BYTES,"
              + " INBOX_MAX_AGE, QUARANTINE_MAX_BYTES, QUARANTINE_MAX_AGE, API_LISTEN, API_ALLOW_REMOTE,"
              + " API_TLS_KEY_STORE, API_TLS_KEY_STORE_PASSWORD_FILE, API_MQTT_USERNAME, API_MQTT_PASSWORD_FILE.\n"
              + "Received and refused messages: java -jar tools.jar inbox|quarantine --data DATA_PATH [--json].");
          System.exit(0);
        }
        default -> usage("unknown argument '" + args[i] + "'");
      }
    }
    Node node;
    try {
      Config config = NodeSettings.config(configFile);
      node = Node.start(config);
    } catch (SettingsException e) {
      System.err.println("danemsg node: " + e.getMessage());
      System.exit(1);
      return;
    }
    // Handle the signals ourselves: the JVM's default handler would exit with 143 after the hooks.
    sun.misc.SignalHandler stop = signal -> new Thread(() -> {
      node.stop();
      System.exit(0);
    }, "shutdown").start();
    Signal.handle(new Signal("TERM"), stop);
    Signal.handle(new Signal("INT"), stop);
    node.awaitStopped();
    String failure = node.failure();
    if (failure != null) {
      System.err.println("danemsg node: stopped: " + failure);
      System.exit(1);
    }
    System.exit(0);
  }

  private static void usage(String message) {
    System.err.println("danemsg node: " + message + " (usage: java -jar node.jar [--config FILE])");
    System.exit(2);
  }
}
