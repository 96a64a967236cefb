package org.danemsg.tools;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import org.danemsg.client.ClientSettings;
import org.danemsg.client.MessageSender;
import org.danemsg.client.SendException;
import org.danemsg.client.SettingsException;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.IdentityException;
import org.danemsg.protocol.Profile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code tools send RECIPIENT [MESSAGE | --stdin] [--legacy]}: signs a message as this device, encrypts
 * it to the recipient's DNSSEC-validated key and publishes it at QoS 1, returning once the broker has
 * acknowledged it. Identity, DNS and broker come from the node's settings (environment or --config).
 */
@Command(name = "send", mixinStandardHelpOptions = true,
    description = {"Send a signed and encrypted message to a device.",
        "Identity, DNS and broker settings are the node's: IDENTITY_NAME, CRYPTO_PATH, MQTT_HOST, MQTT_PORT,"
            + " DNS_SERVER, DNSSEC_TRUST_ANCHOR, ... or --config FILE.",
        "With API_LISTEN set (or --via-node), the running node sends it through its local API instead (its"
            + " token: DATA_PATH/api.token)."},
    footer = {"", "Exit status: 0 sent (the broker acknowledged it), 1 not sent, 2 bad usage."})
final class SendCommand implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "RECIPIENT", description = "The recipient's DNS name.")
  String recipient;

  @Parameters(index = "1", arity = "0..1", paramLabel = "MESSAGE", description = "The text to send.")
  String message;

  @Option(names = "--stdin", description = "Read the text from standard input instead.")
  boolean stdin;

  @Option(names = "--legacy", description = "Use the Python original's format (RSA identities on both sides);"
      + " the default for recipients listed in the legacy-peers setting (LEGACY_PEERS).")
  boolean legacy;

  @Option(names = "--config", paramLabel = "FILE", description = "The node's configuration file (HOCON).")
  Path config;

  @Option(names = "--via-node", arity = "0..1", paramLabel = "HOST:PORT", fallbackValue = "",
      description = "Send through the running node's local API (HOST:PORT, default API_LISTEN, else "
          + NodeApi.DEFAULT_ADDRESS + "): the node looks up, seals and publishes on its broker connection."
          + " The default when API_LISTEN is set.")
  String viaNode;

  @Option(names = "--direct", description = "Send with a broker connection of its own, even when API_LISTEN is set.")
  boolean direct;

  @Option(names = "--data", paramLabel = "DIR",
      description = "With the node's API: the node's data folder, which holds api.token (default: DATA_PATH).")
  Path data;

  @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "10",
      description = "How long connecting and the broker's acknowledgement may take (default: ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    if ((message == null) == !stdin) {
      throw CommandFailure.usage(message == null
          ? "give the MESSAGE to send, or --stdin to read it" : "give either MESSAGE or --stdin, not both");
    }
    String problem = DnsName.problemWith(recipient);
    if (problem != null) {
      throw CommandFailure.usage("RECIPIENT '" + recipient + "' is not a DNS name: " + problem);
    }
    if (timeoutSeconds < 1) {
      throw CommandFailure.usage("--timeout must be at least 1 second");
    }
    DnsName to = DnsName.parse(recipient);
    String viaApi = NodeApi.address(viaNode, direct);
    if (viaApi != null) {
      return sendViaNode(NodeApi.at(viaApi, data), to);
    }
    ClientSettings settings;
    DeviceIdentity identity;
    try {
      settings = ClientSettings.from(ClientSettings.config(config));
      identity = settings.identityFiles().load();
    } catch (SettingsException e) {
      throw CommandFailure.failed(e.getMessage());
    } catch (IdentityException e) {
      throw CommandFailure.failed("identity: " + e.getMessage().replaceAll("\\s*\\R\\s*", " "), e);
    }
    String text = stdin ? readStdin() : message;
    try (MessageSender sender = MessageSender.create(settings, identity, Duration.ofSeconds(timeoutSeconds))) {
      boolean legacyPeer = legacy || settings.legacyPeers().allows(to);
      MessageSender.Sent sent = sender.send(to, text, legacyPeer ? Profile.LEGACY : Profile.NATIVE);
      spec.commandLine().getOut().println("sent to " + sent.recipient() + " (" + sent.bytes() + " bytes, "
          + sent.profile().name().toLowerCase(java.util.Locale.ROOT)
          + (sent.dnssecValidated() ? "" : ", recipient key NOT DNSSEC-validated") + ")");
      spec.commandLine().getOut().flush();
      return 0;
    } catch (SendException e) {
      throw CommandFailure.failed(e.getMessage(), e);
    }
  }

  /** The node seals and publishes; its answer is printed as a direct send's would be. */
  private int sendViaNode(NodeApi api, DnsName to) {
    String text = stdin ? readStdin() : message;
    Map<String, Object> sent = api.send(to.toString(), text, legacy, Duration.ofSeconds(timeoutSeconds + 5L));
    spec.commandLine().getOut().println("sent to " + sent.get("to") + " (" + sent.get("bytes") + " bytes, "
        + sent.get("profile") + ("validated".equals(sent.get("dnssec")) ? "" : ", recipient key NOT DNSSEC-validated")
        + ") through the node at " + api.where());
    spec.commandLine().getOut().flush();
    return 0;
  }

  private static String readStdin() {
    try {
      String text = new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
      return text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
    } catch (IOException e) {
      throw CommandFailure.failed("cannot read the message from standard input: " + e.getMessage(), e);
    }
  }
}
