package org.danemsg.protocol;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.util.io.pem.PemObject;

/**
 * The two files of an identity in a folder, named as the Python original names them:
 * {@code <dir>/<name>.key.pem} (private key, PKCS#8 PEM, mode 0600) and {@code <dir>/<name>.crt.pem}
 * (the self-signed certificate, PEM). Reads PKCS#8 and the original's PKCS#1 ({@code BEGIN RSA
 * PRIVATE KEY}) and SEC1 ({@code BEGIN EC PRIVATE KEY}) keys; always writes PKCS#8.
 */
public final class IdentityFiles {

  private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> PUBLIC_READ = PosixFilePermissions.fromString("rw-r--r--");

  private static final String STAGED = ".next";
  private static final String RETIRED = ".old";

  private final Path dir;
  private final DnsName name;
  private final String role;

  /** The identity files of {@code name} in {@code dir}. */
  public IdentityFiles(Path dir, DnsName name) {
    this(dir, name, "");
  }

  private IdentityFiles(Path dir, DnsName name, String role) {
    this.dir = dir;
    this.name = name;
    this.role = role;
  }

  /**
   * The files of the next key during a key rollover ({@code <name>.next.key.pem} and
   * {@code <name>.next.crt.pem}): published beside the current key, used to decrypt but not yet to
   * sign, until {@link #promoteStaged()} makes it the current key.
   */
  public IdentityFiles staged() {
    return new IdentityFiles(dir, name, STAGED);
  }

  /**
   * The files of the previous key after a rollover ({@code <name>.old.key.pem} and
   * {@code <name>.old.crt.pem}): kept so messages already encrypted to it still open.
   */
  public IdentityFiles retired() {
    return new IdentityFiles(dir, name, RETIRED);
  }

  /**
   * Makes the staged key the current one and keeps the current one as the retired one. The current
   * files are replaced by atomic renames, so a reader always finds a complete file (it may briefly see
   * the new key beside the old certificate: {@link #load()} then reports a mismatch, and a reader should
   * try again).
   *
   * @throws IdentityException when there is no staged identity, or a file cannot be moved
   */
  public void promoteStaged() throws IdentityException {
    requireBase();
    IdentityFiles staged = staged();
    IdentityFiles retired = retired();
    staged.load();
    try {
      for (Path file : List.of(retired.keyFile(), retired.certificateFile())) {
        Files.deleteIfExists(file);
      }
      // The current files stay in place while their copies become the retired ones.
      linkOrCopy(keyFile(), retired.keyFile());
      linkOrCopy(certificateFile(), retired.certificateFile());
      moveReplacing(staged.keyFile(), keyFile());
      moveReplacing(staged.certificateFile(), certificateFile());
    } catch (IOException e) {
      throw new IdentityException("cannot promote " + staged.keyFile() + " to " + keyFile() + ": "
          + describe(e), e);
    }
  }

  private static void linkOrCopy(Path existing, Path link) throws IOException {
    try {
      Files.createLink(link, existing);
    } catch (UnsupportedOperationException | java.nio.file.FileSystemException e) {
      Files.copy(existing, link, StandardCopyOption.COPY_ATTRIBUTES);
    }
  }

  private void requireBase() {
    if (!role.isEmpty()) {
      throw new IllegalStateException("only the current identity's files can be promoted into");
    }
  }

  /** The folder. */
  public Path dir() {
    return dir;
  }

  /** The identity's name. */
  public DnsName name() {
    return name;
  }

  /** {@code <dir>/<name>.key.pem} (with {@code .next} or {@code .old} before {@code .key.pem} for a staged or retired key). */
  public Path keyFile() {
    return dir.resolve(name + role + ".key.pem");
  }

  /** {@code <dir>/<name>.crt.pem}. */
  public Path certificateFile() {
    return dir.resolve(name + role + ".crt.pem");
  }

  /** Whether either file exists. */
  public boolean exist() {
    return Files.exists(keyFile()) || Files.exists(certificateFile());
  }

  /**
   * Reads and checks both files.
   *
   * @throws IdentityException naming the file, when one is missing, unreadable, not PEM, of the wrong
   *     kind, when key and certificate are not a pair or the certificate is not for this name
   */
  public DeviceIdentity load() throws IdentityException {
    PrivateKey key = readPrivateKey(keyFile());
    X509Certificate certificate = readCertificate(certificateFile());
    return DeviceIdentity.of(name, key, certificate,
        keyFile() + " and " + certificateFile());
  }

  /**
   * Warnings about the files that do not stop them from being used: a key file that others may read.
   */
  public List<String> warnings() {
    List<String> warnings = new ArrayList<>();
    Path key = keyFile();
    try {
      PosixFileAttributeView view = Files.getFileAttributeView(key, PosixFileAttributeView.class);
      if (view != null && Files.exists(key)) {
        Set<PosixFilePermission> perms = view.readAttributes().permissions();
        if (perms.stream().anyMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"))) {
          warnings.add("private key file " + key + " has mode " + PosixFilePermissions.toString(perms)
              + ": others may read it; run: chmod 600 " + key);
        }
      }
    } catch (IOException e) {
      warnings.add("cannot read the permissions of " + key + ": " + e.getMessage());
    }
    return warnings;
  }

  /**
   * Writes {@code identity}'s key (mode 0600) and certificate atomically, creating the folder (mode
   * 0700) if needed.
   *
   * @param overwrite replace existing files; without it, existing files are an error
   * @throws IdentityException when the files exist (and {@code overwrite} is false) or cannot be written
   */
  public void write(DeviceIdentity identity, boolean overwrite) throws IdentityException {
    if (!identity.name().equals(name)) {
      throw new IllegalArgumentException("identity " + identity.name() + " written as " + name);
    }
    if (!overwrite) {
      for (Path file : List.of(keyFile(), certificateFile())) {
        if (Files.exists(file)) {
          throw new IdentityException(file + " already exists; use --force to replace this identity"
              + " (the old key is then lost)");
        }
      }
    }
    try {
      if (!Files.isDirectory(dir)) {
        createPrivateDirectory(dir);
      }
    } catch (IOException e) {
      throw new IdentityException("cannot create the folder " + dir + ": " + describe(e), e);
    }
    // PKCS#8 written as is: BC's PEM generator would turn a key object into PKCS#1 / SEC1.
    writeAtomically(keyFile(), pemOf(new PemObject("PRIVATE KEY", identity.privateKey().getEncoded())),
        OWNER_ONLY, overwrite);
    writeAtomically(certificateFile(), pem(identity.certificate()), PUBLIC_READ, overwrite);
  }

  /** PEM of a certificate. */
  public static String pem(X509Certificate certificate) {
    return pemOf(certificate);
  }

  /** Reads a private key file: PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted. */
  public static PrivateKey readPrivateKey(Path file) throws IdentityException {
    Object object = readSinglePem(file, "private key");
    try {
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter()
          .setProvider(CryptoProviders.bouncyCastle());
      PrivateKey key;
      if (object instanceof PrivateKeyInfo info) {
        key = converter.getPrivateKey(info);
      } else if (object instanceof PEMKeyPair pair) {
        key = converter.getPrivateKey(pair.getPrivateKeyInfo());
      } else if (object instanceof PKCS8EncryptedPrivateKeyInfo || object instanceof PEMEncryptedKeyPair) {
        throw new IdentityException(file + ": the private key is encrypted with a passphrase;"
            + " this tool needs an unencrypted key (openssl pkey -in FILE -out FILE)");
      } else {
        throw new IdentityException(file + ": expected a private key, found " + kindOf(object));
      }
      return toJdkKey(key);
    } catch (IOException | RuntimeException e) {
      throw new IdentityException(file + ": the private key cannot be decoded: " + describe(e), e);
    }
  }

  /** Reads a PEM certificate file. */
  public static X509Certificate readCertificate(Path file) throws IdentityException {
    Object object = readSinglePem(file, "certificate");
    if (!(object instanceof X509CertificateHolder holder)) {
      throw new IdentityException(file + ": expected a certificate, found " + kindOf(object));
    }
    try {
      return new JcaX509CertificateConverter().getCertificate(holder);
    } catch (CertificateException e) {
      throw new IdentityException(file + ": the certificate cannot be decoded: " + describe(e), e);
    }
  }

  private static Object readSinglePem(Path file, String what) throws IdentityException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (NoSuchFileException e) {
      throw new IdentityException(file + ": " + what + " file not found"
          + " (create an identity with: tools identity init --name NAME)");
    } catch (AccessDeniedException e) {
      throw new IdentityException(file + ": " + what + " file is not readable by this user");
    } catch (IOException e) {
      throw new IdentityException(file + ": cannot read the " + what + " file: " + describe(e), e);
    }
    if (!text.contains("-----BEGIN ")) {
      throw new IdentityException(file + ": not a PEM file (no -----BEGIN line); expected a " + what);
    }
    try (Reader reader = new StringReader(text); PEMParser parser = new PEMParser(reader)) {
      Object object = parser.readObject();
      if (object == null) {
        throw new IdentityException(file + ": no PEM object could be read; expected a " + what);
      }
      return object;
    } catch (IOException | RuntimeException e) {
      throw new IdentityException(file + ": damaged PEM (" + describe(e) + "); expected a " + what, e);
    }
  }

  private static PrivateKey toJdkKey(PrivateKey key) {
    // Keys from the BC converter are BC objects; re-encoding through the JDK's KeyFactory makes them
    // usable with any provider (jose4j checks key classes by JDK interfaces).
    try {
      return java.security.KeyFactory.getInstance(key.getAlgorithm().startsWith("EC") ? "EC" : key.getAlgorithm())
          .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(key.getEncoded()));
    } catch (java.security.GeneralSecurityException e) {
      return key;
    }
  }

  private static String kindOf(Object object) {
    if (object instanceof X509CertificateHolder) {
      return "a certificate";
    }
    if (object instanceof PrivateKeyInfo || object instanceof PEMKeyPair) {
      return "a private key";
    }
    if (object instanceof org.bouncycastle.asn1.x509.SubjectPublicKeyInfo) {
      return "a public key";
    }
    return "a PEM object of another kind (" + object.getClass().getSimpleName() + ")";
  }

  private static String pemOf(Object object) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(object);
    } catch (IOException e) {
      throw new IllegalStateException("PEM encoding failed", e);
    }
    return out.toString();
  }

  private static void createPrivateDirectory(Path dir) throws IOException {
    try {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(
          PosixFilePermissions.fromString("rwx------")));
    } catch (UnsupportedOperationException e) {
      Files.createDirectories(dir);
    }
  }

  private static void writeAtomically(Path target, String content, Set<PosixFilePermission> mode,
      boolean overwrite) throws IdentityException {
    Path temp = null;
    try {
      Path parent = target.toAbsolutePath().getParent();
      try {
        // Created with its final mode: the key is never on disk readable by others, not even briefly.
        temp = Files.createTempFile(parent, "." + target.getFileName(), ".tmp",
            PosixFilePermissions.asFileAttribute(OWNER_ONLY));
      } catch (UnsupportedOperationException e) {
        temp = Files.createTempFile(parent, "." + target.getFileName(), ".tmp");
      }
      Files.writeString(temp, content, StandardCharsets.US_ASCII);
      try (var channel = java.nio.channels.FileChannel.open(temp, java.nio.file.StandardOpenOption.WRITE)) {
        channel.force(true);
      }
      if (Files.getFileAttributeView(temp, PosixFileAttributeView.class) != null) {
        Files.setPosixFilePermissions(temp, mode);
      }
      if (overwrite) {
        moveReplacing(temp, target);
      } else {
        // A file appearing meanwhile must not be replaced.
        Files.createLink(target, temp);
        Files.delete(temp);
      }
      temp = null;
    } catch (FileAlreadyExistsException e) {
      throw new IdentityException(target + " already exists; use --force to replace this identity");
    } catch (AccessDeniedException e) {
      throw new IdentityException("cannot write " + target + ": permission denied");
    } catch (IOException e) {
      throw new IdentityException("cannot write " + target + ": " + describe(e), e);
    } finally {
      if (temp != null) {
        try {
          Files.deleteIfExists(temp);
        } catch (IOException ignored) {
          // best effort: the temp file holds nothing the target does not
        }
      }
    }
  }

  private static void moveReplacing(Path temp, Path target) throws IOException {
    try {
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static String describe(Throwable e) {
    String message = e.getMessage();
    return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
  }
}
