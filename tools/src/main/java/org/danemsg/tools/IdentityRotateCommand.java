package org.danemsg.tools;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Properties;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.IdentityException;
import org.danemsg.protocol.IdentityFiles;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.dns.DnsPublisher;
import org.danemsg.protocol.dns.PublishResult;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tools identity rotate}: a key rollover following RFC 7671 §8.1, in two steps.
 *
 * <ol>
 *   <li>Make the next key, keep it as the staged identity ({@code <name>.next.*}) and publish its TLSA
 *       record beside the current one. A running node loads the staged key at once and decrypts with
 *       either key, so peers that already see the new record can use it.
 *   <li>Once twice the TTL has passed (every cache then holds both records), make the staged key the
 *       current one (the node signs with it from then on; the old one stays as {@code <name>.old.*} for
 *       messages already encrypted to it) and remove the old record from DNS.
 * </ol>
 *
 * Without {@code --wait} each run does what is due and says when to run again; the step in progress is
 * remembered in {@code <dir>/<name>.rollover}.
 */
@Command(
    name = "rotate",
    mixinStandardHelpOptions = true,
    description = {"Replace this identity's key without losing messages (RFC 7671 §8.1 rollover):",
        "1) make the next key and publish its TLSA record beside the current one;",
        "2) after twice the TTL, switch to the next key (a running node picks it up) and remove the old record.",
        "Without --wait, run it again when it says; with --wait it does both steps in one go."})
final class IdentityRotateCommand implements Runnable {

  @Mixin IdentityOptions identity;
  @Mixin UpdateOptions update;

  @Option(names = "--wait", description = "Wait the two TTLs and finish the rollover in this run.")
  boolean waitForCaches;

  @Option(names = "--rsa", description = "Make the next key RSA-2048 (default: the current key's type).")
  boolean rsa;

  @Option(names = "--ec", description = "Make the next key EC P-256 (default: the current key's type).")
  boolean ec;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  private final Clock clock = Clock.systemUTC();

  @Override
  public void run() {
    if (rsa && ec) {
      throw CommandFailure.usage("--rsa and --ec exclude each other");
    }
    DnsName name = identity.name();
    DnsPublisher publisher = update.publisher(name);
    PrintWriter out = spec.commandLine().getOut();
    IdentityFiles files = identity.files();
    DeviceIdentity current = identity.load(spec.commandLine().getErr());
    Path stateFile = files.dir().resolve(name + ".rollover");

    Instant switchAt;
    if (!files.staged().exist()) {
      switchAt = stage(files, current, publisher, stateFile, out);
    } else {
      switchAt = readSwitchTime(stateFile, files);
      out.println("A rollover is in progress: next key " + loadStaged(files).fingerprint()
          + " published, switch due at " + switchAt);
    }

    Duration remaining = Duration.between(clock.instant(), switchAt);
    if (!remaining.isNegative() && !remaining.isZero()) {
      if (!waitForCaches) {
        out.println("Not yet: DNS caches may hold only the old record until " + switchAt + " (in "
            + remaining.toSeconds() + " s). Run this command again then, or with --wait.");
        return;
      }
      out.println("Waiting " + remaining.toSeconds() + " s (twice the TTL) for DNS caches to see both records…");
      out.flush();
      sleep(remaining);
    }
    finish(files, current, publisher, stateFile, out);
  }

  private Instant stage(IdentityFiles files, DeviceIdentity current, DnsPublisher publisher, Path stateFile,
      PrintWriter out) {
    KeyType type = rsa ? KeyType.RSA : ec ? KeyType.EC_P256 : current.keyType();
    DeviceIdentity next = DeviceIdentity.generate(current.name(), type, DeviceIdentity.DEFAULT_VALIDITY);
    try {
      files.staged().write(next, false);
    } catch (IdentityException e) {
      throw CommandFailure.failed(e.getMessage(), e);
    }
    PublishResult added = publisher.add(current.name(), next.tlsaRecord());
    if (added instanceof PublishResult.Failed failed) {
      deleteQuietly(files.staged());
      throw CommandFailure.failed("the next key's record was not published, nothing changed: " + failed.describe());
    }
    Instant switchAt = clock.instant().plus(update.ttl().multipliedBy(2));
    Properties state = new Properties();
    state.setProperty("switch-at", switchAt.toString());
    state.setProperty("ttl", Long.toString(update.ttl().toSeconds()));
    try (var writer = Files.newBufferedWriter(stateFile, StandardCharsets.UTF_8)) {
      state.store(writer, "danemsg key rollover of " + current.name() + ": the next key is "
          + files.staged().keyFile().getFileName());
    } catch (IOException e) {
      throw CommandFailure.failed("cannot write " + stateFile + ": " + e.getMessage(), e);
    }
    out.println("Step 1 of 2: next " + KeyType.describe(next.publicKey()) + " key " + next.fingerprint()
        + " staged in " + files.staged().keyFile() + " and its TLSA record published beside the current one.");
    out.println("  " + next.tlsaRecord().zoneLine(current.name(), update.ttl().toSeconds()));
    out.println("  A running node decrypts with both keys from now on.");
    return switchAt;
  }

  private void finish(IdentityFiles files, DeviceIdentity current, DnsPublisher publisher, Path stateFile,
      PrintWriter out) {
    DeviceIdentity next = loadStaged(files);
    try {
      files.promoteStaged();
    } catch (IdentityException e) {
      throw CommandFailure.failed(e.getMessage(), e);
    }
    out.println("Step 2 of 2: " + files.keyFile() + " is now the next key " + next.fingerprint()
        + "; the old one is kept as " + files.retired().keyFile() + " for messages already encrypted to it.");
    PublishResult removed = publisher.remove(current.name(), current.tlsaRecord());
    if (removed instanceof PublishResult.Failed failed) {
      throw CommandFailure.failed("switched to the next key, but the old record is still published: "
          + failed.describe() + "; remove it with: tools identity publish --remove --dir " + files.retired().dir()
          + " … (or by hand: " + current.tlsaRecord().zoneLine(current.name(), update.ttl().toSeconds()) + ")");
    }
    try {
      Files.deleteIfExists(stateFile);
    } catch (IOException e) {
      out.println("note: could not delete " + stateFile + ": " + e.getMessage());
    }
    out.println("  Old record removed from DNS. Rollover of " + current.name() + " complete.");
  }

  private static DeviceIdentity loadStaged(IdentityFiles files) {
    try {
      return files.staged().load();
    } catch (IdentityException e) {
      throw CommandFailure.failed("a rollover was started but its next key is unusable: " + e.getMessage()
          + "; delete " + files.staged().keyFile() + " and " + files.staged().certificateFile()
          + " and start again", e);
    }
  }

  private Instant readSwitchTime(Path stateFile, IdentityFiles files) {
    Properties state = new Properties();
    try (var reader = Files.newBufferedReader(stateFile, StandardCharsets.UTF_8)) {
      state.load(reader);
      return Instant.parse(state.getProperty("switch-at"));
    } catch (IOException | RuntimeException e) {
      // No state: the staged key was made by hand. Count from its file, with this run's TTL.
      try {
        return Files.getLastModifiedTime(files.staged().certificateFile()).toInstant()
            .plus(update.ttl().multipliedBy(2));
      } catch (IOException io) {
        throw CommandFailure.failed("cannot read " + stateFile + " or " + files.staged().certificateFile(), io);
      }
    }
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis() + 1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw CommandFailure.failed("interrupted while waiting; run the command again to finish the rollover");
    }
  }

  private static void deleteQuietly(IdentityFiles files) {
    try {
      Files.deleteIfExists(files.keyFile());
      Files.deleteIfExists(files.certificateFile());
    } catch (IOException e) {
      // the next run reports the leftover staged files
    }
  }
}
