package org.danemsg.node.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Set;

/**
 * The API's bearer token: {@code DATA_PATH/api.token}, 32 random bytes in base64url (43 characters),
 * made at the first start with the API on (mode 0600, written to a temporary file and renamed, so a
 * reader never sees half of it) and kept. A program on the device reads it from the file; whoever can
 * read the file is trusted with the node's messages, like whoever can read its database.
 *
 * <p>A presented token is compared in constant time, as SHA-256 digests (so neither its content nor
 * its length shows in the time taken). The token itself is kept only as its digest and never logged.
 */
public final class ApiToken {

  /** The token file's name in {@code DATA_PATH}. */
  public static final String FILE = "api.token";

  private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

  private final byte[] digest;

  private ApiToken(String token) {
    this.digest = sha256(token);
  }

  /**
   * The token of the node whose data folder is {@code dataPath}: read from {@link #FILE}, made first
   * when there is none. A file others may read is narrowed to 0600.
   *
   * @throws IOException with a one-line message when the file cannot be made or read, or holds no token
   */
  public static ApiToken loadOrCreate(Path dataPath) throws IOException {
    Path file = dataPath.resolve(FILE);
    if (!Files.exists(file)) {
      create(file);
    }
    PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
    if (view != null && !OWNER_ONLY.containsAll(view.readAttributes().permissions())) {
      view.setPermissions(OWNER_ONLY);
    }
    String token = Files.readString(file, StandardCharsets.UTF_8).lines().findFirst().orElse("").strip();
    if (token.length() < 16 || token.length() > 512 || !token.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      throw new IOException(file + " holds no usable token (16 to 512 printable ASCII characters on its first"
          + " line); delete it and the node makes a new one");
    }
    return new ApiToken(token);
  }

  /** Whether {@code presented} is the token; constant time. */
  public boolean matches(String presented) {
    return presented != null && MessageDigest.isEqual(digest, sha256(presented));
  }

  private static void create(Path file) throws IOException {
    byte[] random = new byte[32];
    new SecureRandom().nextBytes(random);
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    Path temporary = Files.createTempFile(file.getParent(), ".api.token-", ".tmp",
        PosixFilePermissions.asFileAttribute(OWNER_ONLY));
    try {
      Files.writeString(temporary, token + "\n", StandardCharsets.US_ASCII);
      try {
        Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temporary, file);
      }
    } catch (FileAlreadyExistsException raced) {
      // made meanwhile: that one counts
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  private static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 missing from the JDK", e);
    }
  }
}
