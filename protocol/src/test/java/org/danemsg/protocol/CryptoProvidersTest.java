package org.danemsg.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

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
}
