package org.danemsg.node;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The node's files hold plaintext messages and its data folder says whom it talks to: files are
 * created 0600 and folders 0700, and ones an older node (or a user's umask) made wider are narrowed.
 * On file systems without POSIX permissions nothing is done.
 */
final class OwnerOnly {

  static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");
  static final Set<PosixFilePermission> FOLDER = PosixFilePermissions.fromString("rwx------");

  private OwnerOnly() {}

  /** The attribute that creates a file readable and writable by its owner only. */
  static FileAttribute<Set<PosixFilePermission>> fileAttribute() {
    return PosixFilePermissions.asFileAttribute(FILE);
  }

  /** Narrows a file to 0600; true when it was wider. */
  static boolean narrowFile(Path file) throws IOException {
    return narrow(file, FILE);
  }

  /** Narrows a folder to 0700; true when it was wider. */
  static boolean narrowFolder(Path folder) throws IOException {
    return narrow(folder, FOLDER);
  }

  private static boolean narrow(Path path, Set<PosixFilePermission> wanted) throws IOException {
    PosixFileAttributeView view = java.nio.file.Files.getFileAttributeView(path, PosixFileAttributeView.class);
    if (view == null || wanted.containsAll(view.readAttributes().permissions())) {
      return false;
    }
    view.setPermissions(wanted);
    return true;
  }
}
