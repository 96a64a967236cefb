package org.danemsg.protocol;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.Provider;
import java.security.Security;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CryptoProvidersTest {

  private final List<Provider> before = List.of(Security.getProviders());

  @AfterEach
  void restoreCryptoProviders() {
    for (Provider p : Security.getProviders()) {
      Security.removeProvider(p.getName());
    }
    for (Provider p : before) {
      Security.addProvider(p);
    }
  }

  @Test
  void putsBouncyCastleFirstOnceHoweverOftenCalled() {
    Provider first = CryptoProviders.bouncyCastleFirst();
    Provider again = CryptoProviders.bouncyCastleFirst();

    assertSame(first, again);
    assertSame(first, Security.getProviders()[0]);
    assertEquals(1, List.of(Security.getProviders()).stream().filter(p -> p.getName().equals("BC")).count());
  }

  @Test
  void movesAnAlreadyRegisteredBouncyCastleToTheFront() {
    Security.removeProvider("BC");
    Provider registered = new org.bouncycastle.jce.provider.BouncyCastleProvider();
    Security.addProvider(registered);
    assertEquals(Security.getProviders().length - 1, List.of(Security.getProviders()).indexOf(registered));

    assertSame(registered, CryptoProviders.bouncyCastleFirst());
    assertSame(registered, Security.getProviders()[0]);
  }

  /**
   * With Bouncy Castle first, {@code new SecureRandom()} is its DRBG (about 19 µs for 16 bytes, and jose4j
   * seeded a new one for every initialization vector): message ids, IVs and content keys come from
   * BoringSSL where Conscrypt loads, else from the JDK's DRBG, never from whichever provider is first.
   */
  @Test
  void perMessageRandomnessComesFromANamedSourceWhateverProviderIsFirst() {
    CryptoProviders.bouncyCastleFirst();
    assertEquals("BC", new java.security.SecureRandom().getProvider().getName(), "the premise");
    java.security.SecureRandom random = CryptoProviders.random();
    assertEquals(CryptoProviders.conscrypt().isPresent() ? "Conscrypt" : "SUN", random.getProvider().getName());
    assertSame(random, CryptoProviders.random(), "one source, thread-safe");
    byte[] a = new byte[16];
    byte[] b = new byte[16];
    random.nextBytes(a);
    random.nextBytes(b);
    assertTrue(!java.util.Arrays.equals(a, b) && !java.util.Arrays.equals(a, new byte[16]));
  }

  @Test
  void sealedMessagesOpenWithBouncyCastleFirstAsInTheNode() {
    // Bouncy Castle first once encoded received ephemeral keys with explicit curve parameters,
    // which Conscrypt refuses: every message was rejected as DECRYPTION_FAILED.
    CryptoProviders.bouncyCastleFirst();
    DnsName alice = DnsName.parse("alice._device.example.test");
    DnsName bob = DnsName.parse("bob._device.example.test");
    DeviceIdentity sender = DeviceIdentity.generate(alice, KeyType.EC_P256, DeviceIdentity.DEFAULT_VALIDITY);
    DeviceIdentity recipient = DeviceIdentity.generate(bob, KeyType.EC_P256, DeviceIdentity.DEFAULT_VALIDITY);
    Envelope envelope = new Envelope();

    byte[] payload = assertDoesNotThrow(() -> envelope.seal("hello", sender, bob, recipient.publicKey()));
    Envelope.OpenResult opened = envelope.open(payload, bob, List.of(recipient),
        name -> new Envelope.SenderKeys.Found(List.of(sender.publicKey())));

    assertInstanceOf(Envelope.Opened.class, opened, opened.toString());
    assertEquals("hello", ((Envelope.Opened) opened).message().text());
  }

  @Test
  void rebuildsAnRsaPrivateKeyAsAConscryptKeyOnceWhereConscryptIsUsed() {
    java.security.PrivateKey key = TestIdentities.of("alice._device.example.test", KeyType.RSA).privateKey();

    java.security.PrivateKey rebuilt = CryptoProviders.conscryptRsaKey(key);

    assertSame(rebuilt, CryptoProviders.conscryptRsaKey(key));
    if (CryptoProviders.conscrypt().isPresent()) {
      assertTrue(rebuilt.getClass().getName().startsWith("org.conscrypt."), rebuilt.getClass().getName());
      assertEquals(((java.security.interfaces.RSAKey) key).getModulus(),
          ((java.security.interfaces.RSAKey) rebuilt).getModulus());
    } else {
      assertSame(key, rebuilt);
    }
  }

  @Test
  void rebuildsAnRsaPublicKeyAsAConscryptKeyOnceWhereConscryptIsUsed() {
    java.security.PublicKey key = TestIdentities.of("alice._device.example.test", KeyType.RSA).publicKey();

    java.security.PublicKey rebuilt = CryptoProviders.conscryptRsaKey(key);

    assertSame(rebuilt, CryptoProviders.conscryptRsaKey(key));
    if (CryptoProviders.conscrypt().isPresent()) {
      assertTrue(rebuilt.getClass().getName().startsWith("org.conscrypt."), rebuilt.getClass().getName());
      assertEquals(key, rebuilt);
    } else {
      assertSame(key, rebuilt);
    }
  }

  @Test
  void leavesEcKeysAsTheyAre() {
    java.security.PrivateKey key = TestIdentities.of("alice._device.example.test", KeyType.EC_P256).privateKey();
    assertSame(key, CryptoProviders.conscryptRsaKey(key));
  }

  @Test
  void ecOperationsUseConscryptOnlyWhereItIsAllowedAndLoads() {
    boolean allowed = !"false".equals(System.getProperty(CryptoProviders.CONSCRYPT_PROPERTY));
    boolean shipped = System.getProperty("os.name").equals("Linux")
        && List.of("amd64", "x86_64", "aarch64").contains(System.getProperty("os.arch"));
    if (allowed && shipped) {
      // The uber jar carries the native library for this platform: it must load.
      assertTrue(CryptoProviders.conscrypt().isPresent(), "Conscrypt did not load on " + System.getProperty("os.arch"));
    }
    if (!allowed) {
      assertEquals(java.util.Optional.empty(), CryptoProviders.conscrypt());
      assertSame(CryptoProviders.bouncyCastle(), CryptoProviders.fastEc());
    } else if (CryptoProviders.conscrypt().isPresent()) {
      assertSame(CryptoProviders.conscrypt().get(), CryptoProviders.fastEc());
    } else {
      assertSame(CryptoProviders.bouncyCastle(), CryptoProviders.fastEc());
    }
  }

  @Test
  void rsaPrivateOperationsUseTheCorrettoProviderOnlyWhereItIsAllowedAndLoads() {
    boolean allowed = !"false".equals(System.getProperty(CryptoProviders.ACCP_PROPERTY));
    boolean shipped = System.getProperty("os.name").equals("Linux")
        && List.of("amd64", "x86_64").contains(System.getProperty("os.arch"));
    if (allowed && shipped) {
      // The jar carries the native library for this platform: it must load.
      assertTrue(CryptoProviders.accp().isPresent(), "the Amazon Corretto Crypto Provider did not load");
    }
    if (CryptoProviders.accp().isPresent()) {
      assertSame(CryptoProviders.accp().get(), CryptoProviders.fastRsaPrivate().get());
    } else {
      assertEquals(CryptoProviders.conscrypt(), CryptoProviders.fastRsaPrivate());
    }
    if (!allowed) {
      assertEquals(java.util.Optional.empty(), CryptoProviders.accp());
    }
  }

  @Test
  void rebuildsAnRsaPrivateKeyAsTheRsaProvidersKeyOnce() {
    java.security.PrivateKey key = TestIdentities.of("alice._device.example.test", KeyType.RSA).privateKey();
    java.util.Optional<Provider> provider = CryptoProviders.fastRsaPrivate();
    if (provider.isEmpty()) {
      // no native provider here: the JCA's order takes the key as it is
      assertSame(key, CryptoProviders.providerKey(key, CryptoProviders.bouncyCastle()));
      return;
    }

    java.security.PrivateKey rebuilt = CryptoProviders.providerKey(key, provider.get());

    assertSame(rebuilt, CryptoProviders.providerKey(key, provider.get()));
    assertEquals(provider.get().getClass().getPackageName(), rebuilt.getClass().getPackageName());
    assertEquals(((java.security.interfaces.RSAKey) key).getModulus(),
        ((java.security.interfaces.RSAKey) rebuilt).getModulus());
    assertSame(rebuilt, CryptoProviders.providerKey(rebuilt, provider.get()), "a provider's own key is kept");
  }

  @Test
  void installAllPutsBouncyCastleFirstAndRegistersTheNamedProvidersOnceHoweverOftenCalled() {
    CryptoProviders.installAll();
    List<Provider> once = List.of(Security.getProviders());
    CryptoProviders.installAll();

    assertEquals(once, List.of(Security.getProviders()));
    assertEquals("BC", Security.getProviders()[0].getName());
    assertEquals(1, once.stream().filter(p -> p.getName().equals(P256KeyPairProvider.NAME)).count());
    assertEquals(CryptoProviders.conscrypt().isPresent(),
        once.stream().anyMatch(p -> p.getName().equals("Conscrypt")));
  }
}
