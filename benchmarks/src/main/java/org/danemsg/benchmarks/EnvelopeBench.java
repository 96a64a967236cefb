package org.danemsg.benchmarks;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.danemsg.protocol.DeviceIdentity;
import org.danemsg.protocol.Envelope;
import org.danemsg.protocol.KeyType;
import org.danemsg.protocol.Profile;
import org.danemsg.protocol.SealException;
import org.danemsg.protocol.TestIdentities;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Sealing (sign + encrypt) and opening (decrypt + verify) one short message, per profile and key
 * types, with the JDK's or Bouncy Castle's EC implementation. The sender's key is handed over
 * directly: DNS is not part of this measurement (see {@link LookupBench}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class EnvelopeBench {

  /** Profile, sender key type and recipient key type. */
  public enum Combination {
    NATIVE_EC_TO_EC(Profile.NATIVE, KeyType.EC_P256, KeyType.EC_P256),
    NATIVE_RSA_TO_RSA(Profile.NATIVE, KeyType.RSA, KeyType.RSA),
    NATIVE_EC_TO_RSA(Profile.NATIVE, KeyType.EC_P256, KeyType.RSA),
    LEGACY_RSA_TO_RSA(Profile.LEGACY, KeyType.RSA, KeyType.RSA);

    final Profile profile;
    final KeyType sender;
    final KeyType recipient;

    Combination(Profile profile, KeyType sender, KeyType recipient) {
      this.profile = profile;
      this.sender = sender;
      this.recipient = recipient;
    }
  }

  @Param({"NATIVE_EC_TO_EC", "NATIVE_RSA_TO_RSA", "NATIVE_EC_TO_RSA", "LEGACY_RSA_TO_RSA"})
  public Combination combination;

  /** {@link Envelope.Settings#bouncyCastleForEc()}: the fast provider (Conscrypt, else Bouncy Castle) or the JDK's. */
  @Param({"true", "false"})
  public boolean bouncyCastleForEc;

  private static final String TEXT = "benchmark message: the quick brown fox jumps over the lazy dog";

  private Envelope envelope;
  private DeviceIdentity alice;
  private DeviceIdentity bob;
  private List<DeviceIdentity> bobsKeys;
  private Envelope.SenderKeySource alicesKeys;
  private byte[] sealed;

  @Setup
  public void setUp() throws SealException {
    // A long lifetime: the payload sealed here is opened for the whole trial and must not expire
    envelope = new Envelope(Envelope.Settings.defaults()
        .withBouncyCastleForEc(bouncyCastleForEc)
        .withLifetime(Duration.ofHours(2)));
    alice = TestIdentities.of("alice._device.example.test", combination.sender);
    bob = TestIdentities.of("bob._device.example.test", combination.recipient);
    bobsKeys = List.of(bob);
    Envelope.SenderKeys.Found found = new Envelope.SenderKeys.Found(List.of(alice.publicKey()));
    alicesKeys = sender -> found;
    sealed = seal();
    Envelope.OpenResult opened = open();
    if (!(opened instanceof Envelope.Opened)) {
      throw new IllegalStateException("the benchmark's own message does not open: " + opened);
    }
  }

  @Benchmark
  public byte[] seal() throws SealException {
    return envelope.seal(TEXT, alice, bob.name(), bob.publicKey(), combination.profile);
  }

  @Benchmark
  public Envelope.OpenResult open() {
    return envelope.open(sealed, bob.name(), bobsKeys, alicesKeys);
  }
}
