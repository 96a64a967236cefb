package org.danemsg.testing;

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
import java.util.Base64;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * A private Knot DNS server (a DNSSEC-signed zone, TSIG updates) and a Mosquitto broker on free
 * 127.0.0.1 ports, run from a temp folder for {@code tools bench}, from the templates of
 * {@link ServerTemplates}. The test fixtures (protocol's test tree) start the same servers from the same
 * templates. Both processes are stopped by PID on {@link #close()} and by a JVM shutdown hook.
 */
public final class LocalServers implements AutoCloseable {

  private static final String KNOTD = "/usr/sbin/knotd";
  private static final String MOSQUITTO = "/usr/sbin/mosquitto";
  private static final Duration READY_WITHIN = Duration.ofSeconds(15);
  /** The template's second zone, unused by the bench. */
  private static final String UNSIGNED_ZONE = "unsigned.test";

  /** The TSIG key's name. */
  public static final String TSIG_KEY_NAME = "bench-update";

  private final Path directory;
  private final String zone;
  private final List<Process> processes = new ArrayList<>();
  private final Thread hook = new Thread(this::stopAll, "stop bench servers");
  private int dnsPort;
  private int mqttPort;
  private String tsigSecret;
  private Path trustAnchor;

  private LocalServers(Path directory, String zone) {
    this.directory = directory;
    this.zone = zone;
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /**
   * Starts knotd (serving {@code zone}, signed) and mosquitto in a folder of their own in the system's temp folder (not under a
   * deep work folder: knotd's control socket path must fit the 107 bytes of a Unix socket address).
   *
   * @throws IllegalStateException when a binary is missing or a server does not come up
   */
  public static LocalServers start(String zone) {
    for (String binary : List.of(KNOTD, MOSQUITTO)) {
      if (!Files.isExecutable(Path.of(binary))) {
        throw new IllegalStateException(binary + " is not installed: apt-get install -y knot mosquitto"
            + " (or give --dns/--trust-anchor/--tsig-key/--zone and --broker to use running servers)");
      }
    }
    LocalServers servers;
    try {
      servers = new LocalServers(Files.createTempDirectory("danemsg-servers-"), zone);
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

  /** The DNS server's port on 127.0.0.1. */
  public int dnsPort() {
    return dnsPort;
  }

  /** The broker's port on 127.0.0.1. */
  public int mqttPort() {
    return mqttPort;
  }

  /** The secret (base64, HMAC-SHA256) of the key {@value #TSIG_KEY_NAME} allowed to update the zone. */
  public String tsigSecret() {
    return tsigSecret;
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
    ChildProcess.deleteTree(directory);
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
    tsigSecret = Base64.getEncoder().encodeToString(secret);
    try {
      Files.createDirectories(k.resolve("run"));
      Files.createDirectories(k.resolve("storage"));
      Files.writeString(k.resolve(zone + ".zone"), ServerTemplates.zoneFile(zone, 3600));
      Files.writeString(k.resolve(UNSIGNED_ZONE + ".zone"), ServerTemplates.zoneFile(UNSIGNED_ZONE, 3600));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare the Knot folder", e);
    }
    launchWithRetry(port -> {
      dnsPort = port;
      String conf = ServerTemplates.knotConf(port, k, TSIG_KEY_NAME, tsigSecret, zone, UNSIGNED_ZONE, "notice");
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
            Record.newRecord(Name.fromString(zone + "."), Type.DNSKEY, DClass.IN)));
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
      String conf = ServerTemplates.mosquittoConf(port, m, "allow_anonymous true", false, 1000, 1_000_000);
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

  public static int freePort() {
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

  public static String tail(Path log) {
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


}
