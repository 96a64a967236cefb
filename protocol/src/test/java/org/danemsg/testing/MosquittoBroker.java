package org.danemsg.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.List;

/**
 * A real Mosquitto broker for tests on a free 127.0.0.1 port, from a temp folder, with persistence
 * (QoS 1 messages queued for offline persistent sessions survive {@link #restart()}).
 *
 * <pre>{@code
 * @RegisterExtension static final MosquittoBroker broker = MosquittoBroker.create();
 * ... MqttConnectionSettings.create(broker.uri(), clientId, new MemoryPersistence()) ...
 * }</pre>
 *
 * or {@link #startNow()}/{@link #close()} by hand. Stopped by PID at the end and by a JVM shutdown
 * hook. {@link #stop()}/{@link #restart()} keep the port and the persistence folder;
 * {@link #pause()}/{@link #resume()} freeze it with SIGSTOP/SIGCONT.
 */
public final class MosquittoBroker extends ServerFixture {

  private static final String MOSQUITTO = "/usr/sbin/mosquitto";
  private static final Duration READY_WITHIN = Duration.ofSeconds(15);

  private final Credentials secured;
  private final Accounts accounts;
  private int securePort;
  private BrokerCertificates.Written tls;

  /** A user name and password for the secured listener. */
  public record Credentials(String username, String password) {}

  /**
   * Broker accounts for the plain listener: the users, an ACL in mosquitto's {@code acl_file} syntax,
   * and whether the broker replaces each client's id by its user name ({@code use_username_as_clientid}).
   */
  public record Accounts(List<Credentials> users, String acl, boolean usernameAsClientId) {}

  private MosquittoBroker(Credentials secured, Accounts accounts) {
    this.secured = secured;
    this.accounts = accounts;
  }

  private MosquittoBroker() {
    this(null, null);
  }

  /**
   * A broker whose listener takes only {@code accounts}' users (no anonymous clients), each limited
   * by the ACL: the set-up deploy/compose ships.
   */
  public static MosquittoBroker withAccounts(Accounts accounts) {
    return new MosquittoBroker(null, accounts);
  }

  /**
   * A broker with, besides the plain listener, a second one on {@link #securePort()} that takes only
   * TLS (a server certificate for 127.0.0.1 signed by {@link #caFile()}) and only this user.
   */
  public static MosquittoBroker secured(String username, String password) {
    return new MosquittoBroker(new Credentials(username, password), null);
  }

  /** The TLS + password listener's port ({@link #secured} brokers only). */
  public int securePort() {
    requireSecured();
    return securePort;
  }

  /** PEM of the CA that signed the secure listener's certificate ({@link #secured} brokers only). */
  public Path caFile() {
    requireSecured();
    return tls.ca();
  }

  private void requireSecured() {
    if (secured == null) {
      throw new IllegalStateException("this broker has no secured listener: use MosquittoBroker.secured(...)");
    }
  }

  /** A broker that starts before the tests of the class that registers it. */
  public static MosquittoBroker create() {
    return new MosquittoBroker();
  }

  /** A broker started now; {@link #close()} stops it. */
  public static MosquittoBroker startNow() {
    MosquittoBroker broker = new MosquittoBroker();
    broker.start();
    return broker;
  }

  @Override
  String folderPrefix() {
    return "mosquitto-test-";
  }

  /** The secured listener's certificates and password file; the broker may read the folder. */
  @Override
  void prepare() throws IOException {
    if (secured != null) {
      securePort = ChildProcess.freePort();
      tls = BrokerCertificates.write(directory);
      writePasswordFile(directory.resolve("passwords"), List.of(secured));
    }
    if (accounts != null) {
      writePasswordFile(directory.resolve("accounts"), accounts.users());
      Files.writeString(directory.resolve("acl"), accounts.acl());
    }
    ownForMosquittoWhenRoot(directory);
  }

  /** {@code 127.0.0.1}. */
  public String host() {
    return "127.0.0.1";
  }

  /** {@code tcp://127.0.0.1:<port>}, the form Paho takes. */
  public String uri() {
    return "tcp://127.0.0.1:" + port;
  }

  @Override
  public String toString() {
    return "mosquitto on 127.0.0.1:" + port + " in " + directory;
  }

  private String securedListener() {
    if (secured == null) {
      return "";
    }
    return String.join("\n",
        "listener " + securePort + " 127.0.0.1",
        "cafile " + tls.ca(),
        "certfile " + tls.certificate(),
        "keyfile " + tls.key(),
        "allow_anonymous false",
        "password_file " + directory.resolve("passwords"),
        "");
  }

  private static void writePasswordFile(Path file, List<Credentials> users) throws IOException {
    try {
      boolean first = true;
      for (Credentials credentials : users) {
        List<String> command = new java.util.ArrayList<>(List.of("/usr/bin/mosquitto_passwd", "-b"));
        if (first) {
          command.add("-c");
        }
        command.addAll(List.of(file.toString(), credentials.username(), credentials.password()));
        first = false;
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
          throw new IOException("mosquitto_passwd failed: " + out);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  private String accountSettings() {
    if (accounts == null) {
      return "allow_anonymous true";
    }
    return String.join("\n",
        "allow_anonymous false",
        "password_file " + directory.resolve("accounts"),
        "acl_file " + directory.resolve("acl"),
        "use_username_as_clientid " + accounts.usernameAsClientId());
  }

  @Override
  void launch() {
    Path config = directory.resolve("mosquitto.conf");
    // With a secured listener, each listener has its own access settings; the plain one stays
    // anonymous (it is also the readiness probe).
    String conf = (secured == null ? "" : "per_listener_settings true\n")
        + ServerTemplates.mosquittoConf(port, directory, accountSettings(), true, 20, 100_000) + securedListener();
    try {
      Files.writeString(config, conf);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    process = ChildProcess.start("mosquitto", List.of(MOSQUITTO, "-c", config.toString()), directory,
        directory.resolve("mosquitto.log"));
    awaitReady();
  }

  /** Polls with an MQTT 3.1.1 CONNECT until a CONNACK comes back, within a deadline. */
  private void awaitReady() {
    long deadline = System.nanoTime() + READY_WITHIN.toNanos();
    String last = "no answer yet";
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("mosquitto exited at start (port " + port + "): " + process.log());
      }
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
        socket.setSoTimeout(500);
        OutputStream out = socket.getOutputStream();
        // CONNECT, clean session, keep-alive 10 s, client id "ready-probe"
        byte[] id = "ready-probe".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] connect = new byte[14 + id.length];
        int i = 0;
        connect[i++] = 0x10;
        connect[i++] = (byte) (12 + id.length);
        for (byte b : new byte[] {0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 10, 0, (byte) id.length}) {
          connect[i++] = b;
        }
        System.arraycopy(id, 0, connect, i, id.length);
        out.write(connect);
        out.write(new byte[] {(byte) 0xE0, 0}); // DISCONNECT
        out.flush();
        InputStream in = socket.getInputStream();
        byte[] connack = in.readNBytes(4);
        // With accounts, the anonymous probe is refused (return code 5): the broker answers, it is up.
        if (connack.length == 4 && connack[0] == 0x20 && (connack[3] == 0 || (accounts != null && connack[3] == 5))) {
          return;
        }
        last = "unexpected reply to CONNECT";
      } catch (IOException e) {
        last = e.toString();
      }
      try {
        Thread.sleep(20); // poll interval, bounded by the deadline
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for mosquitto", e);
      }
    }
    throw new IllegalStateException("mosquitto on port " + port + " not ready within " + READY_WITHIN
        + " (" + last + "): " + process.log());
  }

  /**
   * Started as root, mosquitto switches to the user "mosquitto", which must be able to write the
   * persistence folder; otherwise every save fails with only "Permission denied" in the log.
   */
  private static void ownForMosquittoWhenRoot(Path folder) throws IOException {
    if (!"root".equals(System.getProperty("user.name"))) {
      return;
    }
    if (Files.isDirectory(folder)) {
      try (var files = Files.list(folder)) {
        for (Path file : files.toList()) {
          ownForMosquittoWhenRoot(file);
        }
      }
    }
    UserPrincipalLookupService users = folder.getFileSystem().getUserPrincipalLookupService();
    PosixFileAttributeView view = Files.getFileAttributeView(folder, PosixFileAttributeView.class);
    try {
      view.setOwner(users.lookupPrincipalByName("mosquitto"));
      GroupPrincipal group = users.lookupPrincipalByGroupName("mosquitto");
      view.setGroup(group);
    } catch (IOException e) {
      throw new IOException("running as root, but the 'mosquitto' user/group the broker switches to"
          + " is missing (" + e.getMessage() + "): install the mosquitto package", e);
    }
  }
}
