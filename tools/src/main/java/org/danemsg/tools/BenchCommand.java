package org.danemsg.tools;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.dns.DnsServer;
import org.danemsg.protocol.dns.TsigKey;
import org.danemsg.tools.bench.Benchmark;
import org.danemsg.tools.bench.ReportFormat;
import org.danemsg.tools.bench.SendersJvm;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tools bench}: end-to-end throughput, latency, first-message latency and the receiving node's
 * memory, with a private knotd and mosquitto unless servers are given.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = {"Benchmark: sender streams publish signed and encrypted messages at QoS 1 to a receiving"
        + " node (its own JVM) through the broker; reports sent / delivered / lost / duplicated, messages/s,"
        + " latency percentiles, the first message to a new peer and the node's RSS and heap.",
        "Starts a private knotd and mosquitto on free 127.0.0.1 ports unless --broker and --dns are given."},
    footer = {"", "Progress every second on stderr, the table on stdout, the report as JSON in --json.",
        "Exit status: 0 every acknowledged message printed exactly once, 1 otherwise, 2 bad usage."})
final class BenchCommand implements Callable<Integer> {

  static final class Load {
    @Option(names = "--messages", paramLabel = "N", description = "Messages to send in the measured run"
        + " (default 10000).")
    Long messages;

    @Option(names = "--duration", paramLabel = "SECONDS", description = "Send for this long instead.")
    Integer seconds;
  }

  @ArgGroup(exclusive = true)
  Load load = new Load();

  @Option(names = "--rate", paramLabel = "MSG/S", defaultValue = "0",
      description = "Offered rate over all senders; 0 = flat out (default).")
  double rate;

  @Option(names = "--senders", paramLabel = "K", defaultValue = "2",
      description = "Sender streams, each its own identity and MQTT connection (default ${DEFAULT-VALUE}).")
  int senders;

  @Option(names = "--key", paramLabel = "ec|rsa", defaultValue = "ec",
      description = "Key type of all identities (default ${DEFAULT-VALUE}).")
  String key;

  @Option(names = "--size", paramLabel = "CHARS", defaultValue = "100",
      description = "Length of each message text (default ${DEFAULT-VALUE}).")
  int size;

  @Option(names = "--window", paramLabel = "N", defaultValue = "256",
      description = "Publishes each sender keeps awaiting their PUBACK (default ${DEFAULT-VALUE}).")
  int window;

  @Option(names = "--warmup", paramLabel = "N", defaultValue = "3000",
      description = "Messages sent first and not counted (default ${DEFAULT-VALUE}).")
  long warmup;

  @Option(names = "--first-probes", paramLabel = "N", defaultValue = "5",
      description = "First messages from new peers to time (default ${DEFAULT-VALUE}).")
  int firstProbes;

  @Option(names = "--drain-timeout", paramLabel = "SECONDS", defaultValue = "15",
      description = "Stop waiting for deliveries after this long without one (default ${DEFAULT-VALUE}).")
  int drainSeconds;

  @Option(names = "--broker", paramLabel = "HOST:PORT", description = "Use this MQTT broker (anonymous).")
  String broker;

  @Option(names = "--dns", paramLabel = "HOST:PORT", description = "Use this DNS server (needs --trust-anchor,"
      + " --tsig-key and --zone: the bench publishes its devices' TLSA records there).")
  String dns;

  @Option(names = "--trust-anchor", paramLabel = "FILE", description = "DS or DNSKEY anchor of --zone.")
  Path trustAnchor;

  @Option(names = "--tsig-key", paramLabel = "FILE|SPEC", description = "TSIG key allowed to update --zone.")
  String tsigKey;

  @Option(names = "--zone", paramLabel = "ZONE", description = "Signed zone to publish the bench devices in.")
  String zone;

  @Option(names = "--node-jar", paramLabel = "FILE",
      description = "The node to start (default: node.jar next to tools.jar, or node/target/node.jar).")
  Path nodeJar;

  @Option(names = "--node-jvm-options", paramLabel = "OPTIONS", defaultValue = "-Xmx128m -Xms16m -XX:+UseSerialGC -XX:MetaspaceSize=64m -XX:+ExitOnOutOfMemoryError"
      + " -XX:TieredStopAtLevel=1",
      description = "JVM options of the receiving node (default ${DEFAULT-VALUE}: those of bin/danemsg-node on"
          + " x86-64 and aarch64).")
  String nodeJvmOptions;

  @Option(names = "--senders-jvm-options", paramLabel = "OPTIONS", defaultValue = SendersJvm.DEFAULT_OPTIONS,
      description = "The senders run in a JVM started with these options (default ${DEFAULT-VALUE}: short"
          + " collector pauses, which the latency would otherwise include); 'none' runs them in this JVM.")
  String sendersJvmOptions;

  @Option(names = "--profile", paramLabel = "PROFILE", defaultValue = "default",
      description = "default, or pi4: the receiving node as on a Raspberry Pi 4 (no AES instructions): pinned to"
          + " one core (taskset), AES and GHASH intrinsics off, Conscrypt off (Bouncy Castle), -Xmx64m; its JVM"
          + " options are added after --node-jvm-options. The senders are not limited.")
  String profile;

  @Option(names = "--json", paramLabel = "FILE", defaultValue = "bench-report.json",
      description = "Where to write the report (default ${DEFAULT-VALUE}).")
  Path json;

  @Option(names = "--work-dir", paramLabel = "DIR", description = "Folder for the run's files (default: a temp"
      + " folder).")
  Path workDir;

  @Option(names = "--keep", description = "Keep the run's files (node log, inbox, server logs).")
  boolean keep;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    if (senders < 1 || senders > 64) {
      throw CommandFailure.usage("--senders must be 1 to 64");
    }
    if (rate < 0) {
      throw CommandFailure.usage("--rate must not be negative");
    }
    if (size < 32 || size > 60_000) {
      throw CommandFailure.usage("--size must be 32 to 60000 characters");
    }
    if (window < 1 || window > 900) {
      throw CommandFailure.usage("--window must be 1 to 900 (the MQTT client allows 1000 in flight)");
    }
    long messages = load.messages != null ? load.messages : 10_000;
    Duration duration = load.seconds != null ? Duration.ofSeconds(load.seconds) : null;
    if (duration == null && messages < 1 || duration != null && duration.isZero()) {
      throw CommandFailure.usage("--messages and --duration must be positive");
    }
    KeyType keyType = switch (key.toLowerCase(java.util.Locale.ROOT)) {
      case "ec" -> KeyType.EC_P256;
      case "rsa" -> KeyType.RSA;
      default -> throw CommandFailure.usage("--key must be ec or rsa");
    };
    if (!sendersJvmOptions.isBlank() && !sendersJvmOptions.trim().equalsIgnoreCase("none")
        && !SendersJvm.isSendersJvm()) {
      try {
        return SendersJvm.run(List.of(sendersJvmOptions.trim().split("\\s+")),
            spec.commandLine().getParseResult().originalArgs(), spec.commandLine().getOut(),
            spec.commandLine().getErr());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw CommandFailure.failed("interrupted");
      }
    }
    Benchmark.Servers servers = servers();
    Path node = (nodeJar != null ? nodeJar : defaultNodeJar()).toAbsolutePath().normalize();
    if (!Files.isReadable(node)) {
      throw CommandFailure.failed("the node jar " + node + " is missing: build it (mvn -B package -DskipTests)"
          + " or give --node-jar");
    }
    List<String> jvm = new ArrayList<>(
        Arrays.stream(nodeJvmOptions.trim().split("\\s+")).filter(s -> !s.isEmpty()).toList());
    List<String> nodePrefix = List.of();
    switch (profile) {
      case "default" -> { }
      case "pi4" -> {
        // A Pi 4's Cortex-A72 has no AES or PMULL instructions, and the 32-bit OS gets no Conscrypt:
        // the node's AES-GCM then runs in Java, which is what this profile measures. One core, so that
        // the node's CPU per message is not spread over an x86 machine's cores.
        // Tiered compilation back (a later option wins): the launcher keeps it where the crypto is Java code.
        jvm.addAll(List.of("-Xmx64m", "-XX:TieredStopAtLevel=4", "-XX:+UnlockDiagnosticVMOptions", "-XX:-UseAES", "-XX:-UseAESIntrinsics",
            "-XX:-UseGHASHIntrinsics", "-XX:ActiveProcessorCount=1", "-Ddanemsg.crypto.conscrypt=false"));
        nodePrefix = List.of("taskset", "-c", "0");
      }
      default -> throw CommandFailure.usage("--profile must be default or pi4");
    }
    Benchmark.Options options = new Benchmark.Options(messages, duration, rate, senders, keyType, size, window,
        warmup, firstProbes, Duration.ofSeconds(drainSeconds), servers, node, List.copyOf(jvm), nodePrefix, workDir,
        keep, json);
    Map<String, Object> report;
    try {
      report = Benchmark.run(options, spec.commandLine().getErr(), spec.commandLine().getErr());
    } catch (IllegalStateException | java.io.UncheckedIOException e) {
      throw CommandFailure.failed(e.getMessage(), e);
    }
    Files.writeString(json, ReportFormat.json(report));
    spec.commandLine().getOut().print(ReportFormat.table(report));
    spec.commandLine().getOut().println("report written to " + json);
    spec.commandLine().getOut().flush();
    @SuppressWarnings("unchecked")
    Map<String, Object> result = (Map<String, Object>) report.get("result");
    boolean exact = (Long) result.get("lost") == 0 && (Long) result.get("duplicated") == 0
        && (Long) result.get("sent") > 0;
    return exact ? 0 : CommandFailure.FAILURE;
  }

  private Benchmark.Servers servers() {
    if (broker == null && dns == null) {
      if (trustAnchor != null || tsigKey != null || zone != null) {
        throw CommandFailure.usage("--trust-anchor, --tsig-key and --zone go with --dns");
      }
      return Benchmark.Servers.startLocal();
    }
    if (broker == null || dns == null || trustAnchor == null || tsigKey == null || zone == null) {
      throw CommandFailure.usage("to use given servers, give all of --broker, --dns, --trust-anchor, --tsig-key"
          + " and --zone (or none of them to start private ones)");
    }
    int colon = broker.lastIndexOf(':');
    if (colon < 1) {
      throw CommandFailure.usage("--broker must be HOST:PORT, got '" + broker + "'");
    }
    int port;
    try {
      port = Integer.parseInt(broker.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw CommandFailure.usage("--broker must be HOST:PORT, got '" + broker + "'");
    }
    DnsServer server;
    TsigKey tsig;
    try {
      server = DnsServer.parse(dns);
      tsig = Files.isReadable(Path.of(tsigKey)) ? TsigKey.fromFile(Path.of(tsigKey)) : TsigKey.parse(tsigKey);
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage(e.getMessage());
    }
    String problem = DnsName.problemWith(zone);
    if (problem != null) {
      throw CommandFailure.usage("--zone '" + zone + "' is not a DNS name: " + problem);
    }
    if (!Files.isReadable(trustAnchor)) {
      throw CommandFailure.usage("--trust-anchor " + trustAnchor + " is not readable");
    }
    return new Benchmark.Servers(false, broker.substring(0, colon), port, server, trustAnchor, tsig,
        DnsName.parse(zone));
  }

  /** node.jar next to tools.jar (an installation), else node/target/node.jar of a checkout. */
  private static Path defaultNodeJar() {
    try {
      Path self = Path.of(BenchCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      Path dir = Files.isDirectory(self) ? self : self.getParent(); // tools/target/classes or tools.jar's folder
      for (Path candidate : List.of(dir.resolve("node.jar"), dir.resolve("../../node/target/node.jar"),
          dir.resolve("../../../node/target/node.jar"))) {
        if (Files.isReadable(candidate)) {
          return candidate.normalize();
        }
      }
    } catch (URISyntaxException | SecurityException | NullPointerException e) {
      // fall through
    }
    return Path.of("node/target/node.jar");
  }
}
