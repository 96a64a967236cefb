package org.danemsg.protocol.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DnsServerTest {

  @TempDir Path folder;

  @Test
  void parsesHostAndPort() {
    assertEquals(new DnsServer("127.0.0.1", 5353), DnsServer.parse("127.0.0.1:5353"));
  }

  @Test
  void defaultsToPort53() {
    assertEquals(new DnsServer("ns1.example.test", 53), DnsServer.parse("ns1.example.test"));
  }

  @Test
  void parsesABracketedIpv6AddressWithPort() {
    DnsServer server = DnsServer.parse("[::1]:5353");

    assertEquals(new DnsServer("::1", 5353), server);
    assertEquals("[::1]:5353", server.toString());
  }

  @Test
  void takesABareIpv6AddressAsPort53() {
    assertEquals(new DnsServer("2001:db8::53", 53), DnsServer.parse("2001:db8::53"));
  }

  @Test
  void rejectsAPortThatIsNotANumber() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DnsServer.parse("127.0.0.1:dns"));

    assertTrue(e.getMessage().contains("'127.0.0.1:dns'") && e.getMessage().contains("not a number"), e.getMessage());
  }

  @Test
  void rejectsAPortOutOfRange() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DnsServer.parse("127.0.0.1:70000"));

    assertTrue(e.getMessage().contains("out of range"), e.getMessage());
  }

  @Test
  void rejectsAnEmptyHost() {
    assertThrows(IllegalArgumentException.class, () -> DnsServer.parse(":53"));
    assertThrows(IllegalArgumentException.class, () -> DnsServer.parse(" "));
  }

  @Test
  void rejectsAnUnclosedBracket() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DnsServer.parse("[::1:53"));

    assertTrue(e.getMessage().contains("']'"), e.getMessage());
  }

  @Test
  void readsTheFirstNameserverOfResolvConf() throws IOException {
    Path conf = Files.writeString(folder.resolve("resolv.conf"),
        "# generated\nsearch example.test\nnameserver 10.0.0.53\nnameserver 10.0.0.54\n");

    assertEquals(new DnsServer("10.0.0.53", 53), DnsServer.fromResolvConf(conf));
  }

  @Test
  void explainsAResolvConfWithoutNameserver() throws IOException {
    Path conf = Files.writeString(folder.resolve("resolv.conf"), "search example.test\n");

    IllegalStateException e = assertThrows(IllegalStateException.class, () -> DnsServer.fromResolvConf(conf));

    assertTrue(e.getMessage().contains(conf.toString()) && e.getMessage().contains("nameserver"), e.getMessage());
  }

  @Test
  void explainsAMissingResolvConf() {
    Path missing = folder.resolve("absent.conf");

    IllegalStateException e = assertThrows(IllegalStateException.class, () -> DnsServer.fromResolvConf(missing));

    assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
  }
}
