#!/usr/bin/env bash
# arm-jre.sh ARCH (arm64 | armhf): prints the folder of a Debian bookworm root holding
# openjdk-17-jre-headless for ARCH, made once with mmdebstrap (--variant=extract, no emulation
# needed) and kept in the cache folder ($DANEMSG_ARM_CACHE, default /var/cache/danemsg-arm) so later
# runs need no network. Run it under qemu-user: qemu-aarch64-static -L DIR DIR/usr/lib/jvm/…/bin/java
set -euo pipefail
SCRIPT=arm-jre.sh
arch=${1:?usage: arm-jre.sh arm64|armhf}
case "$arch" in arm64|armhf) ;; *) echo "$SCRIPT: unknown architecture '$arch' (arm64 or armhf)" >&2; exit 2 ;; esac
cache=${DANEMSG_ARM_CACHE:-/var/cache/danemsg-arm}
tree=$cache/jre-$arch
if [ -f "$tree/.complete" ]; then echo "$tree"; exit 0; fi

command -v mmdebstrap >/dev/null || { echo "$SCRIPT: mmdebstrap is missing (apt-get install --no-install-recommends mmdebstrap)" >&2; exit 1; }
# The mirror apt already uses here, unless DEBIAN_MIRROR says otherwise.
mirror=${DEBIAN_MIRROR:-$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -1 | tr -d ' ' || true)}
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$cache"
partial=$(mktemp -d "$cache/.jre-$arch.XXXXXX")
trap 'rm -rf "$partial"' EXIT
# Without bookworm-security: its armhf index failed every try here (mirror sync); bookworm-updates
# carries the point-release fixes.
echo "$SCRIPT: fetching Debian's openjdk-17-jre-headless for $arch from $mirror into $tree (once, ~15 s)" >&2
if ! mmdebstrap --quiet --variant=extract --architectures="$arch" --include=openjdk-17-jre-headless \
      bookworm "$partial" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" >"$partial.log" 2>&1; then
  tail -5 "$partial.log" >&2
  echo "$SCRIPT: mmdebstrap failed for $arch (no network to $mirror? see above; offline: DANEMSG_SKIP_ARM=1)" >&2
  rm -f "$partial.log"
  exit 1
fi
rm -f "$partial.log"
# Under qemu-user -L, an absolute symlink inside the tree resolves on the host (java.security and
# jvm.cfg would be read from the host's JDK): make each one relative to the tree.
while IFS= read -r -d '' link; do
  target=$(readlink "$link")
  case "$target" in
    /*) ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$partial$target")" "$link" ;;
  esac
done < <(find "$partial" -type l -print0)
# The extract variant runs no maintainer scripts, so there is no cacerts: take the host's.
jvm=$(ls -d "$partial"/usr/lib/jvm/java-17-openjdk-*)
[ -x "$jvm/bin/java" ] || { echo "$SCRIPT: no java in the $arch tree ($jvm)" >&2; exit 1; }
mkdir -p "$partial/etc/ssl/certs/java"
[ -f /etc/ssl/certs/java/cacerts ] && cp /etc/ssl/certs/java/cacerts "$partial/etc/ssl/certs/java/cacerts"
touch "$partial/.complete"
rm -rf "$tree"
mv "$partial" "$tree"
trap - EXIT
echo "$tree"
