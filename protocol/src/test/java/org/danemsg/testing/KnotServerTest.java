package org.danemsg.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.time.Duration;
import org.danemsg.protocol.TlsaRecord;
import org.danemsg.protocol.dns.DaneLookup;
import org.danemsg.protocol.dns.LookupResult;
import org.danemsg.testing.TestCertificates.Identity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class KnotServerTest {

  @RegisterExtension static final KnotServer knot = KnotServer.create();

  @Test
  void keepsRecordsKeysAndPortAcrossARestart() {
    Identity alice = TestCertificates.ec(knot.uniqueName("alice"));
    knot.publish(alice.name(), TlsaRecord.of(alice.certificate()));
    int port = knot.port();

    knot.restart();

    assertEquals(port, knot.port());
    LookupResult result = DaneLookup.create(knot.lookupSettings()).lookup(alice.name());
    assertInstanceOf(LookupResult.Secure.class, result, result.describe());
  }

  @Test
  void answersNothingWhilePaused() {
    DaneLookup lookup = DaneLookup.create(knot.lookupSettings().withTimeout(Duration.ofMillis(300)));
    knot.pause();
    try {
      LookupResult result = lookup.lookup(knot.nameWithoutTlsa());

      assertEquals(LookupResult.TransientFailure.Kind.TIMEOUT,
          assertInstanceOf(LookupResult.TransientFailure.class, result, result.describe()).kind());
    } finally {
      knot.resume();
    }
    assertInstanceOf(LookupResult.NoRecords.class, lookup.lookup(knot.nameWithoutTlsa()));
  }
}
