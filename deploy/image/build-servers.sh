#!/usr/bin/env bash
# build-servers.sh OUT.tar: a Debian bookworm root file system with Knot DNS (knot, knot-dnsutils)
# and Mosquitto (mosquitto, mosquitto-clients), as a tar for servers.Dockerfile: the image of the
# compose demo's knot, accounts and mosquitto services where no container registry is reachable
# (in place of cznic/knot and eclipse-mosquitto:2), made from Debian's mirror alone. The packages'
# scripts run (they create the users knot and mosquitto), so this is for the build machine's own
# architecture. Like eclipse-mosquitto's image it has /mosquitto/{config,data,log} and an entry point
# that gives /mosquitto to the mosquitto user and runs its arguments (servers.Dockerfile: the broker).
set -euo pipefail
SCRIPT=build-servers.sh
out=${1:?usage: build-servers.sh OUT.tar}
command -v mmdebstrap >/dev/null || { echo "$SCRIPT: mmdebstrap is missing (apt-get install --no-install-recommends mmdebstrap)" >&2; exit 1; }
mirror=${DEBIAN_MIRROR:-$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -1 | tr -d ' ' || true)}
mirror=${mirror:-http://deb.debian.org/debian}
echo "$SCRIPT: Debian bookworm + knot, knot-dnsutils, mosquitto, mosquitto-clients from $mirror" >&2
entrypoint=$(cd "$(dirname "$0")" && pwd)/servers-entrypoint.sh
mmdebstrap --quiet --variant=essential \
  --include=knot,knot-dnsutils,mosquitto,mosquitto-clients \
  --customize-hook='mkdir -p "$1/mosquitto/config" "$1/mosquitto/data" "$1/mosquitto/log" "$1/rundir" "$1/storage"' \
  --customize-hook='chroot "$1" chown -R mosquitto:mosquitto /mosquitto' \
  --customize-hook="install -m 0755 '$entrypoint' \"\$1/docker-entrypoint.sh\"" \
  --customize-hook='rm -rf "$1/var/cache/apt/archives/"*.deb "$1/var/lib/apt/lists/"* "$1/usr/share/doc" "$1/usr/share/man"' \
  bookworm "$out" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
  || { echo "$SCRIPT: mmdebstrap failed (no network to $mirror?)" >&2; exit 1; }
echo "$SCRIPT: wrote $out ($(du -h "$out" | cut -f1))" >&2
