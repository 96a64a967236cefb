package org.danemsg.tools.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.dns.DnsServer;
import org.danemsg.protocol.dns.TsigKey;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * A private Knot DNS server (one DNSSEC-signed zone, TSIG updates) and a Mosquitto broker on free
 * 127.0.0.1 ports, run from a temp folder for {@code tools bench}. The test tree has richer fixtures
 * for the same servers; this is the small launcher the shaded tools jar can run without them. Both
 * processes are stopped by PID on {@link #close()} and by a JVM shutdown hook.
 */
public final class LocalServers implements AutoCloseable {

  private static final String KNOTD = "/usr/sbin/knotd";
  private static final String MOSQUITTO = "/usr/sbin/mosquitto";
  private static final Duration READY_WITHIN = Duration.ofSeconds(15);

  /** The signed zone the bench publishes its devices in. */
  public static final DnsName ZONE = DnsName.parse("bench.test");

  private final Path directory;
  private final List<Process> processes = new ArrayList<>();
  private final Thread hook = new Thread(this::stopAll, "stop bench servers");
  private int dnsPort;
  private int mqttPort;
  private TsigKey tsigKey;
  private Path trustAnchor;

  private LocalServers(Path directory) {
    this.directory = directory;
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /**
   * Starts knotd and mosquitto in a folder of their own in the system's temp folder (not under a
   * deep work folder: knotd's control socket path must fit the 107 bytes of a Unix socket address).
   *
   * @throws IllegalStateException when a binary is missing or a server does not come up
   */
  public static LocalServers start() {
    for (String binary : List.of(KNOTD, MOSQUITTO)) {
      if (!Files.isExecutable(Path.of(binary))) {
        throw new IllegalStateException(binary + " is not installed: apt-get install -y knot mosquitto"
            + " (or give --dns/--trust-anchor/--tsig-key/--zone and --broker to use running servers)");
      }
    }
    LocalServers servers;
    try {
      servers = new LocalServers(Files.createTempDirectory("danemsg-servers-"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the servers' folder", e);
    }
    try {
      servers.startKnot();
      servers.startMosquitto();
      return servers;
    } catch (RuntimeException e) {
      servers.close();
      throw e;
    }
  }

  /** The DNS server, {@code 127.0.0.1:<port>}. */
  public DnsServer dns() {
    return new DnsServer("127.0.0.1", dnsPort);
  }

  /** The broker's port on 127.0.0.1. */
  public int mqttPort() {
    return mqttPort;
  }

  /** The key allowed to update {@link #ZONE}. */
  public TsigKey tsigKey() {
    return tsigKey;
  }

  /** The zone's DNSKEY records: the trust anchor. */
  public Path trustAnchor() {
    return trustAnchor;
  }

  /** knotd's and mosquitto's logs, for a failure report. */
  public Path directory() {
    return directory;
  }

  @Override
  public void close() {
    stopAll();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // the hook runs anyway
    }
    deleteTree(directory);
  }

  private synchronized void stopAll() {
    for (Process p : processes) {
      p.destroy();
    }
    for (Process p : processes) {
      try {
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
    processes.clear();
  }

  private void startKnot() {
    Path k = directory.resolve("knot");
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    tsigKey = TsigKey.of("hmac-sha256", "bench-update", secret);
    try {
      Files.createDirectories(k.resolve("run"));
      Files.createDirectories(k.resolve("storage"));
      Files.writeString(k.resolve(ZONE + ".zone"), String.join("\n",
          "$ORIGIN " + ZONE.absolute(), "$TTL 3600", "@   SOA ns1 hostmaster 1 60 60 3600 60", "@   NS  ns1",
          "ns1 A   127.0.0.1", ""));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare the Knot folder", e);
    }
    launchWithRetry(port -> {
      dnsPort = port;
      String conf = """
          server:
              listen: 127.0.0.1@%1$d
              rundir: "%2$s/run"
          log:
            - target: stderr
              any: notice
          database:
              storage: "%2$s/storage"
          key:
            - id: %3$s
              algorithm: hmac-sha256
              secret: %4$s
          acl:
            - id: update
              key: %3$s
              action: update
          policy:
            - id: ecdsa
              algorithm: ecdsap256sha256
              single-type-signing: on
              ksk-lifetime: 0
              zsk-lifetime: 0
          template:
            - id: default
              storage: "%2$s"
          zone:
            - domain: %5$s
              file: "%2$s/%5$s.zone"
              dnssec-signing: on
              dnssec-policy: ecdsa
              acl: update
              zonefile-sync: -1
              journal-content: all
          """.formatted(port, k, tsigKey.name(), tsigKey.toSpec().split(":")[2], ZONE);
      write(k.resolve("knot.conf"), conf);
      Process p = launch(List.of(KNOTD, "-c", k.resolve("knot.conf").toString()), k, k.resolve("knotd.log"));
      awaitDns(p, port, k);
    });
  }

  private void awaitDns(Process process, int port, Path folder) {
    SimpleResolver resolver = new SimpleResolver(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    resolver.setTimeout(Duration.ofMillis(200));
    resolver.setEDNS(0, 1232, Flags.DO, List.of());
    long deadline = System.nanoTime() + READY_WITHIN.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("knotd exited at start: " + tail(folder.resolve("knotd.log")));
      }
      try {
        Message answer = resolver.send(Message.newQuery(
            Record.newRecord(Name.fromString(ZONE.absolute()), Type.DNSKEY, DClass.IN)));
        StringBuilder keys = new StringBuilder();
        boolean signed = false;
        for (Record r : answer.getSection(Section.ANSWER)) {
          if (r.getType() == Type.DNSKEY) {
            keys.append(r).append('\n');
          }
          signed |= r.getType() == Type.RRSIG;
        }
        if (signed && keys.length() > 0) {
          trustAnchor = write(folder.resolve("anchor-dnskey.txt"), keys.toString());
          return;
        }
      } catch (IOException e) {
        // not up yet
      }
      pause();
    }
    throw new IllegalStateException("knotd not ready within " + READY_WITHIN.toSeconds() + " s: "
        + tail(folder.resolve("knotd.log")));
  }

  private void startMosquitto() {
    Path m = directory.resolve("mosquitto");
    try {
      Files.createDirectories(m);
      ownForMosquittoWhenRoot(m);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare the Mosquitto folder", e);
    }
    launchWithRetry(port -> {
      mqttPort = port;
      // max_inflight_messages: Mosquitto's default of 20 unacknowledged QoS 1 messages per
      // subscriber caps a node that acks after writing at 20 / (pipeline latency).
      // max_queued_messages: beyond it Mosquitto drops QoS 1 messages even for a connected client.
      String conf = """
          listener %1$d 127.0.0.1
          allow_anonymous true
          persistence false
          max_inflight_messages 1000
          max_queued_messages 1000000
          log_dest stderr
          log_type error
          log_type warning
          log_type notice
          """.formatted(port);
      write(m.resolve("mosquitto.conf"), conf);
      Process p = launch(List.of(MOSQUITTO, "-c", m.resolve("mosquitto.conf").toString()), m,
          m.resolve("mosquitto.log"));
      awaitMqtt(p, port, m);
    });
  }

  private void awaitMqtt(Process process, int port, Path folder) {
    long deadline = System.nanoTime() + READY_WITHIN.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("mosquitto exited at start: " + tail(folder.resolve("mosquitto.log")));
      }
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
        socket.setSoTimeout(500);
        OutputStream out = socket.getOutputStream();
        // CONNECT (MQTT 3.1.1, clean session, keep-alive 10 s, client id "ready"), then DISCONNECT
        out.write(new byte[] {0x10, 17, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 10, 0, 5, 'r', 'e', 'a', 'd', 'y'});
        out.write(new byte[] {(byte) 0xE0, 0});
        out.flush();
        InputStream in = socket.getInputStream();
        byte[] connack = in.readNBytes(4);
        if (connack.length == 4 && connack[0] == 0x20 && connack[3] == 0) {
          return;
        }
      } catch (IOException e) {
        // not up yet
      }
      pause();
    }
    throw new IllegalStateException("mosquitto not ready within " + READY_WITHIN.toSeconds() + " s: "
        + tail(folder.resolve("mosquitto.log")));
  }

  private interface Launch {
    void on(int port);
  }

  /** A free port may be taken before the server binds it: one retry on another port. */
  private void launchWithRetry(Launch launch) {
    try {
      launch.on(freePort());
    } catch (IllegalStateException first) {
      stopLast();
      launch.on(freePort());
    }
  }

  private synchronized Process launch(List<String> command, Path folder, Path log) {
    try {
      Process p = new ProcessBuilder(command).directory(folder.toFile()).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
      processes.add(p);
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
  }

  private synchronized void stopLast() {
    if (!processes.isEmpty()) {
      Process p = processes.remove(processes.size() - 1);
      p.destroyForcibly();
    }
  }

  private static void ownForMosquittoWhenRoot(Path folder) throws IOException {
    if (!"root".equals(System.getProperty("user.name"))) {
      return;
    }
    // Started as root, mosquitto switches to the user "mosquitto"
    UserPrincipalLookupService users = folder.getFileSystem().getUserPrincipalLookupService();
    PosixFileAttributeView view = Files.getFileAttributeView(folder, PosixFileAttributeView.class);
    try {
      view.setOwner(users.lookupPrincipalByName("mosquitto"));
      view.setGroup(users.lookupPrincipalByGroupName("mosquitto"));
    } catch (IOException e) {
      // without persistence the broker writes nothing there: not fatal
    }
  }

  static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port on 127.0.0.1", e);
    }
  }

  private static Path write(Path file, String text) {
    try {
      return Files.writeString(file, text, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String tail(Path log) {
    try {
      String text = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "(no log)";
      return text.length() > 2000 ? text.substring(text.length() - 2000) : text;
    } catch (IOException e) {
      return "(cannot read " + log + ")";
    }
  }

  private static void pause() {
    try {
      Thread.sleep(20); // poll interval, bounded by the caller's deadline
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  static void deleteTree(Path directory) {
    if (directory == null || !Files.exists(directory)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(directory)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      // a left-over temp folder is harmless
    }
  }
}
