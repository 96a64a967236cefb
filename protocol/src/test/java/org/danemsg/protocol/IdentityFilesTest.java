package org.danemsg.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.interfaces.RSAPrivateKey;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdentityFilesTest {

  private static final DnsName NAME = DnsName.parse("carol._device.example.test");

  @TempDir Path dir;

  @Test
  void writesAnEcIdentityThatLoadsBack() throws Exception {
    DeviceIdentity created = DeviceIdentity.generate(NAME, KeyType.EC_P256, Duration.ofDays(365));
    IdentityFiles files = new IdentityFiles(dir, NAME);
    files.write(created, false);

    DeviceIdentity loaded = files.load();
    assertEquals(KeyType.EC_P256, loaded.keyType());
    assertEquals(created.fingerprint(), loaded.fingerprint());
    assertEquals(created.certificate(), loaded.certificate());
    assertEquals(dir.resolve("carol._device.example.test.key.pem"), files.keyFile());
    assertEquals(dir.resolve("carol._device.example.test.crt.pem"), files.certificateFile());
    assertTrue(Files.readString(files.keyFile()).startsWith("-----BEGIN PRIVATE KEY-----"));
  }

  @Test
  void certificateNamesTheIdentityInCnAndSanWithSha256() throws Exception {
    DeviceIdentity created = DeviceIdentity.generate(NAME, KeyType.RSA, Duration.ofDays(30));
    assertEquals("CN=" + NAME, created.certificate().getSubjectX500Principal().getName());
    assertEquals(List.of(NAME.canonical(), NAME.canonical()), DeviceIdentity.namesOf(created.certificate()));
    assertEquals("1.2.840.113549.1.1.11", created.certificate().getSigAlgOID()); // sha256WithRSAEncryption
    assertEquals(3, created.certificate().getVersion());
    long days = Duration.between(created.certificate().getNotBefore().toInstant(),
        created.certificate().getNotAfter().toInstant()).toDays();
    assertEquals(30, days);
    assertEquals(2048, ((RSAPrivateKey) created.privateKey()).getModulus().bitLength());
  }

  @Test
  void keyFileIsOwnerOnlyAndNoTempFilesRemain() throws Exception {
    IdentityFiles files = new IdentityFiles(dir, NAME);
    files.write(DeviceIdentity.generate(NAME, KeyType.EC_P256, Duration.ofDays(1)), false);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(files.keyFile())));
    assertTrue(files.warnings().isEmpty());
    try (var listing = Files.list(dir)) {
      assertEquals(2, listing.count());
    }
  }

  @Test
  void createsAMissingFolderPrivately() throws Exception {
    Path nested = dir.resolve("a/b");
    new IdentityFiles(nested, NAME).write(DeviceIdentity.generate(NAME, KeyType.EC_P256, Duration.ofDays(1)), false);
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(nested)));
  }

  @Test
  void neverOverwritesWithoutForce() throws Exception {
    IdentityFiles files = new IdentityFiles(dir, NAME);
    DeviceIdentity first = DeviceIdentity.generate(NAME, KeyType.EC_P256, Duration.ofDays(1));
    files.write(first, false);
    IdentityException e = assertThrows(IdentityException.class,
        () -> files.write(DeviceIdentity.generate(NAME, KeyType.EC_P256, Duration.ofDays(1)), false));
    assertTrue(e.getMessage().contains("already exists"), e.getMessage());
    assertTrue(e.getMessage().contains("--force"), e.getMessage());
    assertEquals(first.fingerprint(), files.load().fingerprint());

    DeviceIdentity second = DeviceIdentity.generate(NAME, KeyType.EC_P256, Duration.ofDays(1));
    files.write(second, true);
    assertNotEquals(first.fingerprint(), files.load().fingerprint());
  }

  @Test
  void warnsWhenOthersMayReadTheKey() throws Exception {
    IdentityFiles files = new IdentityFiles(dir, NAME);
    files.write(DeviceIdentity.generate(NAME, KeyType.EC_P256, Duration.ofDays(1)), false);
    Files.setPosixFilePermissions(files.keyFile(), PosixFilePermissions.fromString("rw-r--r--"));
    List<String> warnings = files.warnings();
    assertEquals(1, warnings.size());
    assertTrue(warnings.get(0).contains("chmod 600 " + files.keyFile()), warnings.get(0));
  }

  @Test
  void loadsTheOriginalsPkcs1RsaKey() throws Exception {
    DeviceIdentity bob = new IdentityFiles(LegacyVectors.dir(), LegacyVectors.BOB).load();
    assertEquals(KeyType.RSA, bob.keyType());
    assertTrue(LegacyVectors.text("bob._device.example.test.key.pem").startsWith("-----BEGIN RSA PRIVATE KEY-----"));
  }

  @Test
  void reportsAMissingFileByName() {
    IdentityFiles files = new IdentityFiles(dir, NAME);
    IdentityException e = assertThrows(IdentityException.class, files::load);
    assertTrue(e.getMessage().startsWith(files.keyFile().toString()), e.getMessage());
    assertTrue(e.getMessage().contains("not found"), e.getMessage());
  }

  @Test
  void reportsANonPemKeyFile() throws Exception {
    IdentityFiles files = writeThenReplaceKey("this is not a key\n");
    IdentityException e = assertThrows(IdentityException.class, files::load);
    assertTrue(e.getMessage().contains(files.keyFile().toString()), e.getMessage());
    assertTrue(e.getMessage().contains("not a PEM file"), e.getMessage());
  }

  @Test
  void reportsACertificateWhereAKeyShouldBe() throws Exception {
    IdentityFiles files = new IdentityFiles(dir, NAME);
    files.write(DeviceIdentity.generate(NAME, KeyType.EC_P256, Duration.ofDays(1)), false);
    Files.copy(files.certificateFile(), files.keyFile(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    IdentityException e = assertThrows(IdentityException.class, files::load);
    assertTrue(e.getMessage().contains("expected a private key, found a certificate"), e.getMessage());
  }

  @Test
  void reportsDamagedPem() throws Exception {
    IdentityFiles files = writeThenReplaceKey(
        "-----BEGIN PRIVATE KEY-----\nAAAA!!!!\n-----END PRIVATE KEY-----\n");
    IdentityException e = assertThrows(IdentityException.class, files::load);
    assertTrue(e.getMessage().contains(files.keyFile().toString()), e.getMessage());
  }

  @Test
  void reportsAKeyThatDoesNotMatchTheCertificate() throws Exception {
    IdentityFiles files = new IdentityFiles(dir, NAME);
    files.write(DeviceIdentity.generate(NAME, KeyType.EC_P256, Duration.ofDays(1)), false);
    IdentityFiles other = new IdentityFiles(dir.resolve("other"), NAME);
    other.write(DeviceIdentity.generate(NAME, KeyType.EC_P256, Duration.ofDays(1)), false);
    Files.copy(other.keyFile(), files.keyFile(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    IdentityException e = assertThrows(IdentityException.class, files::load);
    assertTrue(e.getMessage().contains("does not match"), e.getMessage());
  }

  @Test
  void reportsAKeyOfTheWrongType() throws Exception {
    IdentityFiles files = new IdentityFiles(dir, NAME);
    files.write(DeviceIdentity.generate(NAME, KeyType.EC_P256, Duration.ofDays(1)), false);
    IdentityFiles rsa = new IdentityFiles(dir.resolve("rsa"), NAME);
    rsa.write(DeviceIdentity.generate(NAME, KeyType.RSA, Duration.ofDays(1)), false);
    Files.copy(rsa.keyFile(), files.keyFile(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    IdentityException e = assertThrows(IdentityException.class, files::load);
    assertTrue(e.getMessage().contains("private key is RSA"), e.getMessage());
  }

  @Test
  void reportsACertificateForAnotherName() throws Exception {
    DnsName other = DnsName.parse("dave._device.example.test");
    IdentityFiles files = new IdentityFiles(dir, other);
    files.write(DeviceIdentity.generate(other, KeyType.EC_P256, Duration.ofDays(1)), false);
    IdentityFiles renamed = new IdentityFiles(dir, NAME);
    Files.copy(files.keyFile(), renamed.keyFile());
    Files.copy(files.certificateFile(), renamed.certificateFile());
    IdentityException e = assertThrows(IdentityException.class, renamed::load);
    assertTrue(e.getMessage().contains("not for " + NAME), e.getMessage());
  }

  @Test
  void reportsAnUnreadableFile() throws Exception {
    IdentityFiles files = new IdentityFiles(dir, NAME);
    files.write(DeviceIdentity.generate(NAME, KeyType.EC_P256, Duration.ofDays(1)), false);
    Files.delete(files.keyFile());
    Files.createDirectory(files.keyFile());
    IdentityException e = assertThrows(IdentityException.class, files::load);
    assertTrue(e.getMessage().startsWith(files.keyFile().toString()), e.getMessage());
    assertFalse(e.getMessage().contains("Exception"), e.getMessage());
  }

  @Test
  void promotingAStagedKeyRetiresTheCurrentOne() throws Exception {
    IdentityFiles files = new IdentityFiles(dir, NAME);
    DeviceIdentity current = DeviceIdentity.generate(NAME, KeyType.EC_P256, Duration.ofDays(1));
    DeviceIdentity next = DeviceIdentity.generate(NAME, KeyType.EC_P256, Duration.ofDays(1));
    files.write(current, false);
    files.staged().write(next, false);
    assertEquals(dir.resolve("carol._device.example.test.next.key.pem"), files.staged().keyFile());

    files.promoteStaged();

    assertEquals(next.fingerprint(), files.load().fingerprint());
    assertEquals(current.fingerprint(), files.retired().load().fingerprint());
    assertFalse(files.staged().exist());
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(files.keyFile())));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(files.retired().keyFile())));
  }

  @Test
  void promotingWithoutAStagedKeyIsAnErrorAndChangesNothing() throws Exception {
    IdentityFiles files = new IdentityFiles(dir, NAME);
    DeviceIdentity current = DeviceIdentity.generate(NAME, KeyType.EC_P256, Duration.ofDays(1));
    files.write(current, false);
    IdentityException e = assertThrows(IdentityException.class, files::promoteStaged);
    assertTrue(e.getMessage().contains(".next.key.pem"), e.getMessage());
    assertEquals(current.fingerprint(), files.load().fingerprint());
    assertFalse(files.retired().exist());
  }

  private IdentityFiles writeThenReplaceKey(String keyText) throws Exception {
    IdentityFiles files = new IdentityFiles(dir, NAME);
    files.write(DeviceIdentity.generate(NAME, KeyType.EC_P256, Duration.ofDays(1)), false);
    Files.writeString(files.keyFile(), keyText);
    return files;
  }
}
