#!/usr/bin/env bash
# build-base.sh ARCH OUT.tar: a Debian bookworm root file system with OpenJDK 17 (headless JRE),
# bash and coreutils for ARCH (amd64, arm64, armhf), as a tar to `ADD` into `FROM scratch`
# (base.Dockerfile): the danemsg image's base where no container registry is reachable, made from
# Debian's mirror alone. mmdebstrap --variant=extract unpacks the packages without running any of
# their scripts, so building an ARM base needs no emulation; the few things those scripts would do
# are done here (java on the PATH, CA certificates, the users).
set -euo pipefail
SCRIPT=build-base.sh
arch=${1:?usage: build-base.sh amd64|arm64|armhf OUT.tar}
out=${2:?usage: build-base.sh amd64|arm64|armhf OUT.tar}
command -v mmdebstrap >/dev/null || { echo "$SCRIPT: mmdebstrap is missing (apt-get install --no-install-recommends mmdebstrap)" >&2; exit 1; }
mirror=${DEBIAN_MIRROR:-$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -1 | tr -d ' ' || true)}
mirror=${mirror:-http://deb.debian.org/debian}
root=$(mktemp -d "${TMPDIR:-/tmp}/danemsg-base.XXXXXX")
trap 'rm -rf "$root"' EXIT
echo "$SCRIPT: Debian bookworm + openjdk-17-jre-headless for $arch from $mirror" >&2
# bookworm-security is left out: its armhf index failed every try here; bookworm-updates carries
# the point-release fixes.
mmdebstrap --quiet --variant=extract --architectures="$arch" \
  --include=openjdk-17-jre-headless,bash,coreutils,dash,base-files,base-passwd,tzdata \
  bookworm "$root" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
  || { echo "$SCRIPT: mmdebstrap failed for $arch (no network to $mirror?)" >&2; exit 1; }
jvm=$(cd "$root" && ls -d usr/lib/jvm/java-17-openjdk-*)
# What the packages' scripts would have done:
ln -sfn "/$jvm/bin/java" "$root/usr/bin/java"                       # update-alternatives
[ -e "$root/bin/sh" ] || ln -s dash "$root/bin/sh"                   # dash's postinst
cp "$root/usr/share/base-passwd/passwd.master" "$root/etc/passwd"   # base-passwd's postinst
cp "$root/usr/share/base-passwd/group.master" "$root/etc/group"
mkdir -p "$root/etc/ssl/certs/java"
cp /etc/ssl/certs/java/cacerts "$root/etc/ssl/certs/java/cacerts"    # ca-certificates-java's trigger
# The unprivileged user of the danemsg image (uid 10001, README "Running on Raspberry Pis").
echo "danemsg:x:10001:10001:danemsg:/data:/usr/sbin/nologin" >> "$root/etc/passwd"
echo "danemsg:x:10001:" >> "$root/etc/group"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"* "$root/usr/share/doc" "$root/usr/share/man"
chmod 1777 "$root/tmp"
tar --numeric-owner -C "$root" -cf "$out" .
echo "$SCRIPT: wrote $out ($(du -h "$out" | cut -f1))" >&2
