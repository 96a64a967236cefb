package org.danemsg.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.typed.ActorRef;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.DnsName;
import org.danemsg.protocol.IdentityFiles;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.dns.DnsServer;
import org.danemsg.protocol.dns.LookupResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestKitJUnit5Extension.class)
class IdentityKeeperTest {

  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final DnsServer SERVER = DnsServer.parse("127.0.0.1:53");
  private static final IdentityKeeper.Settings SETTINGS =
      new IdentityKeeper.Settings(Duration.ofHours(1), Duration.ofMillis(100));

  private final DnsName name = DnsName.parse("keeper._device.example.test");

  private IdentityFiles filesWith(DeviceIdentity identity) throws Exception {
    IdentityFiles files = new IdentityFiles(Files.createTempDirectory("keeper-"), name);
    files.write(identity, false);
    return files;
  }

  private TlsaResolver.Lookup expectLookup(TestProbe<TlsaResolver.Command> resolver) {
    TlsaResolver.Command command = resolver.expectMessageClass(TlsaResolver.Lookup.class);
    return (TlsaResolver.Lookup) command;
  }

  @Test
  void reportsAnUnpublishedKeyWithTheRecordToAdd() throws Exception {
    DeviceIdentity identity = DeviceIdentity.generate(name, KeyType.EC_P256, Duration.ofDays(1));
    TestProbe<TlsaResolver.Command> resolver = testKit.createTestProbe();
    ActorRef<IdentityKeeper.Command> keeper =
        testKit.spawn(IdentityKeeper.create(filesWith(identity), identity, resolver.ref(), SETTINGS));
    TlsaResolver.Lookup lookup = expectLookup(resolver);
    assertEquals(name, lookup.name());
    assertTrue(lookup.fresh(), "the check must not trust the cache");
    lookup.replyTo().tell(new LookupResult.NoRecords(SERVER, name, true));

    TestProbe<IdentityKeeper.Status> status = testKit.createTestProbe();
    keeper.tell(new IdentityKeeper.GetStatus(status.ref()));
    IdentityKeeper.Status reported = status.receiveMessage();
    assertTrue(reported instanceof IdentityKeeper.NotPublished, reported.toString());
    assertEquals(identity.tlsaRecord().zoneLine(name, 3600), ((IdentityKeeper.NotPublished) reported).tlsaLine());
  }

  @Test
  void reportsAPublishedKey() throws Exception {
    DeviceIdentity identity = DeviceIdentity.generate(name, KeyType.EC_P256, Duration.ofDays(1));
    TestProbe<TlsaResolver.Command> resolver = testKit.createTestProbe();
    ActorRef<IdentityKeeper.Command> keeper =
        testKit.spawn(IdentityKeeper.create(filesWith(identity), identity, resolver.ref(), SETTINGS));
    expectLookup(resolver).replyTo().tell(new LookupResult.Secure(SERVER, name, List.of(identity.tlsaRecord()),
        List.of(identity.publicKey()), List.of(), 60));
    TestProbe<IdentityKeeper.Status> status = testKit.createTestProbe();
    keeper.tell(new IdentityKeeper.GetStatus(status.ref()));
    assertTrue(status.receiveMessage() instanceof IdentityKeeper.Published);
  }

  @Test
  void rotatedKeyFilesAreReloadedAndTheOldKeyStillDecrypts() throws Exception {
    DeviceIdentity first = DeviceIdentity.generate(name, KeyType.EC_P256, Duration.ofDays(1));
    IdentityFiles files = filesWith(first);
    TestProbe<TlsaResolver.Command> resolver = testKit.createTestProbe();
    TestProbe<IdentityKeeper.Keys> subscriber = testKit.createTestProbe();
    ActorRef<IdentityKeeper.Command> keeper =
        testKit.spawn(IdentityKeeper.create(files, first, resolver.ref(), SETTINGS));
    keeper.tell(new IdentityKeeper.Subscribe(subscriber.ref()));
    assertEquals(List.of(first.fingerprint()), fingerprints(subscriber.receiveMessage()));

    DeviceIdentity second = DeviceIdentity.generate(name, KeyType.EC_P256, Duration.ofDays(1));
    Files.setLastModifiedTime(files.keyFile(), java.nio.file.attribute.FileTime.fromMillis(0));
    files.write(second, true);
    IdentityKeeper.Keys reloaded = subscriber.receiveMessage(Duration.ofSeconds(5));
    assertEquals(List.of(second.fingerprint(), first.fingerprint()), fingerprints(reloaded));
  }

  @Test
  void halfWrittenKeyFilesKeepTheCurrentKey() throws Exception {
    DeviceIdentity identity = DeviceIdentity.generate(name, KeyType.EC_P256, Duration.ofDays(1));
    IdentityFiles files = filesWith(identity);
    TestProbe<TlsaResolver.Command> resolver = testKit.createTestProbe();
    TestProbe<IdentityKeeper.Keys> subscriber = testKit.createTestProbe();
    ActorRef<IdentityKeeper.Command> keeper =
        testKit.spawn(IdentityKeeper.create(files, identity, resolver.ref(), SETTINGS));
    keeper.tell(new IdentityKeeper.Subscribe(subscriber.ref()));
    subscriber.receiveMessage();
    Files.writeString(files.keyFile(), "-----BEGIN PRIVATE KEY-----\ntrunc");
    Poll.until(Duration.ofSeconds(5), () -> !LogRecorder.linesWith("WARN",
        "identity files changed but do not load", identity.fingerprint()).isEmpty(), () -> "no warning");
    subscriber.expectNoMessage(Duration.ofMillis(300));
  }

  /** Only the folder watch can notice changes in time: the periodic check is an hour away. */
  private static final IdentityKeeper.Settings WATCH_ONLY =
      new IdentityKeeper.Settings(Duration.ofHours(1), Duration.ofHours(1));

  @Test
  void aStagedKeyDecryptsAsSoonAsItsFilesAppear() throws Exception {
    DeviceIdentity current = DeviceIdentity.generate(name, KeyType.EC_P256, Duration.ofDays(1));
    IdentityFiles files = filesWith(current);
    TestProbe<IdentityKeeper.Keys> subscriber = testKit.createTestProbe();
    ActorRef<IdentityKeeper.Command> keeper = testKit.spawn(
        IdentityKeeper.create(files, current, testKit.<TlsaResolver.Command>createTestProbe().ref(), WATCH_ONLY));
    keeper.tell(new IdentityKeeper.Subscribe(subscriber.ref()));
    assertEquals(List.of(current.fingerprint()), fingerprints(subscriber.receiveMessage()));

    DeviceIdentity next = DeviceIdentity.generate(name, KeyType.EC_P256, Duration.ofDays(1));
    files.staged().write(next, false);
    assertEquals(List.of(current.fingerprint(), next.fingerprint()),
        fingerprints(subscriber.receiveMessage(Duration.ofSeconds(5))));
  }

  @Test
  void promotingTheStagedKeyMakesItCurrentAndKeepsTheOldOneWithoutWarnings() throws Exception {
    DeviceIdentity old = DeviceIdentity.generate(name, KeyType.EC_P256, Duration.ofDays(1));
    IdentityFiles files = filesWith(old);
    DeviceIdentity next = DeviceIdentity.generate(name, KeyType.EC_P256, Duration.ofDays(1));
    files.staged().write(next, false);
    TestProbe<IdentityKeeper.Keys> subscriber = testKit.createTestProbe();
    ActorRef<IdentityKeeper.Command> keeper = testKit.spawn(
        IdentityKeeper.create(files, old, testKit.<TlsaResolver.Command>createTestProbe().ref(), SETTINGS));
    keeper.tell(new IdentityKeeper.Subscribe(subscriber.ref()));
    assertEquals(List.of(old.fingerprint(), next.fingerprint()), fingerprints(subscriber.receiveMessage()),
        "a rollover under way at start");

    files.promoteStaged();
    assertEquals(List.of(next.fingerprint(), old.fingerprint()),
        fingerprints(subscriber.receiveMessage(Duration.ofSeconds(5))));
    subscriber.expectNoMessage(Duration.ofMillis(1500));
    assertEquals(List.of(), LogRecorder.linesWith("WARN", old.fingerprint()));
    assertEquals(List.of(), LogRecorder.linesWith("WARN", next.fingerprint()));
  }

  @Test
  void aKeyBesideTheOldCertificateKeepsTheKeysUntilTheCertificateFollows() throws Exception {
    DeviceIdentity old = DeviceIdentity.generate(name, KeyType.EC_P256, Duration.ofDays(1));
    IdentityFiles files = filesWith(old);
    TestProbe<IdentityKeeper.Keys> subscriber = testKit.createTestProbe();
    ActorRef<IdentityKeeper.Command> keeper = testKit.spawn(
        IdentityKeeper.create(files, old, testKit.<TlsaResolver.Command>createTestProbe().ref(), WATCH_ONLY));
    keeper.tell(new IdentityKeeper.Subscribe(subscriber.ref()));
    subscriber.receiveMessage();

    // The moment of promoteStaged() between its two renames, stretched.
    DeviceIdentity next = DeviceIdentity.generate(name, KeyType.EC_P256, Duration.ofDays(1));
    IdentityFiles elsewhere = new IdentityFiles(Files.createTempDirectory("keeper-next-"), name);
    elsewhere.write(next, false);
    Files.copy(elsewhere.keyFile(), files.keyFile(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Poll.until(Duration.ofSeconds(5), () -> LogRecorder.linesWith("WARN", "do not load", old.fingerprint()).size() == 1,
        () -> "no warning about the mismatched pair");
    subscriber.expectNoMessage(Duration.ofMillis(600));
    assertEquals(1, LogRecorder.linesWith("WARN", "do not load", old.fingerprint()).size(), "logged once");

    Files.copy(elsewhere.certificateFile(), files.certificateFile(),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertEquals(List.of(next.fingerprint(), old.fingerprint()),
        fingerprints(subscriber.receiveMessage(Duration.ofSeconds(5))));
  }

  @Test
  void aRolloverKeepsTheIdentityPublished() throws Exception {
    DeviceIdentity old = DeviceIdentity.generate(name, KeyType.EC_P256, Duration.ofDays(1));
    DeviceIdentity next = DeviceIdentity.generate(name, KeyType.EC_P256, Duration.ofDays(1));
    IdentityFiles files = filesWith(old);
    files.staged().write(next, false);
    files.promoteStaged();
    TestProbe<TlsaResolver.Command> resolver = testKit.createTestProbe();
    ActorRef<IdentityKeeper.Command> keeper =
        testKit.spawn(IdentityKeeper.create(files, next, resolver.ref(), SETTINGS));
    expectLookup(resolver).replyTo().tell(new LookupResult.Secure(SERVER, name,
        List.of(old.tlsaRecord(), next.tlsaRecord()), List.of(old.publicKey(), next.publicKey()), List.of(), 60));
    TestProbe<IdentityKeeper.Status> status = testKit.createTestProbe();
    keeper.tell(new IdentityKeeper.GetStatus(status.ref()));
    assertTrue(status.receiveMessage() instanceof IdentityKeeper.Published);
  }

  private static List<String> fingerprints(IdentityKeeper.Keys keys) {
    return keys.identities().stream().map(DeviceIdentity::fingerprint).toList();
  }

}
