#!/usr/bin/env bash
# The .deb test of the test command: installs deploy/debian/target/danemsg_*_all.deb with dpkg and
# apt into a fresh Debian bookworm root (a chroot; the clean root is made once with mmdebstrap and
# kept in $DANEMSG_DEB_CACHE, default /var/cache/danemsg-deb), checks what it installed (user,
# folders, unit, launchers), then runs the unit's ExecStart line the way systemd would (as user
# danemsg, with the unit's EnvironmentFile; systemd itself cannot run here) against a real Knot and
# Mosquitto and sees a message sent from the host printed. DANEMSG_SKIP_DEB=1 skips it.
set -euo pipefail
SCRIPT=deb-test.sh
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
# shellcheck source=servers.sh
. deploy/test/servers.sh

if [ "${DANEMSG_SKIP_DEB:-0}" = 1 ]; then
  echo "$SCRIPT: SKIPPED: DANEMSG_SKIP_DEB=1 (the .deb was NOT installed or run)"
  exit 0
fi
started=$SECONDS
[ "$(id -u)" = 0 ] || die "needs root (chroot, mounts); skip with DANEMSG_SKIP_DEB=1"
debs=(deploy/debian/target/danemsg_*_all.deb)
[ -f "${debs[0]}" ] || die "no deploy/debian/target/danemsg_*_all.deb: build it with mvn -B package -DskipTests"
deb=${debs[0]}
need_servers
command -v mmdebstrap >/dev/null || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
}
CACHE=${DANEMSG_DEB_CACHE:-/var/cache/danemsg-deb}
mkdir -p "$CACHE"
clean=$CACHE/bookworm-amd64.tar
if [ ! -f "$clean" ]; then
  mirror=${DEBIAN_MIRROR:-$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -1 | tr -d ' ' || true)}
  mirror=${mirror:-http://deb.debian.org/debian}
  echo "$SCRIPT: making a clean Debian bookworm root with apt (once, ~1 min) into $clean" >&2
  # The runtime the package depends on is preinstalled so that each run is offline.
  mmdebstrap --quiet --variant=apt --include=openjdk-17-jre-headless,adduser,procps bookworm "${clean%.tar}.partial.tar" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" || die "mmdebstrap failed (no network to $mirror?)"
  mv "${clean%.tar}.partial.tar" "$clean"
fi

RUN=$(mktemp -d "${TMPDIR:-/tmp}/danemsg-deb.XXXXXX")
chmod 755 "$RUN"
CHROOT=$RUN/root
MOUNTS=()
NODE_PID=
cleanup() {
  local status=$?
  [ -z "$NODE_PID" ] || stop_pids "$NODE_PID"
  stop_servers
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}" || true; done
  if [ "$status" = 0 ]; then rm -rf "$RUN"; else echo "$SCRIPT: FAILED; logs kept in $RUN" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$CHROOT"
tar -C "$CHROOT" -xf "$clean"
for fs in proc dev sys; do mount --rbind "/$fs" "$CHROOT/$fs"; mount --make-rslave "$CHROOT/$fs"; MOUNTS+=("$CHROOT/$fs"); done
cp "$deb" "$CHROOT/tmp/danemsg.deb"
# apt, not only dpkg: what a user runs (it would fetch the Java runtime if it were missing).
chroot "$CHROOT" /bin/sh -c "cd /tmp && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ./danemsg.deb" > "$RUN/install.log" 2>&1 \
  || { cat "$RUN/install.log" >&2; die "apt-get install of $(basename "$deb") failed"; }
echo "$SCRIPT: installed $(basename "$deb"): $(chroot "$CHROOT" dpkg-query -W -f '${Package} ${Version} ${Status}' danemsg)"
# What the package promises.
chroot "$CHROOT" getent passwd danemsg > /dev/null || die "no user danemsg"
for path in /usr/bin/danemsg-node /usr/bin/danemsg-tools /lib/systemd/system/danemsg-node.service /etc/danemsg/node.env; do
  chroot "$CHROOT" test -e "$path" || die "$path was not installed"
done
[ "$(chroot "$CHROOT" stat -c %U:%a /var/lib/danemsg/identity)" = danemsg:700 ] || die "/var/lib/danemsg/identity is not danemsg's, mode 0700"
exec_start=$(sed -n 's/^ExecStart=//p' "$CHROOT/lib/systemd/system/danemsg-node.service")
[ "$exec_start" = /usr/bin/danemsg-node ] || die "unexpected ExecStart=$exec_start"

ZONE=deb.test
start_knot "$ZONE"
start_mosquitto
NAME=pi._device.$ZONE
cp "$ANCHOR_FILE" "$CHROOT/etc/danemsg/zone.ds"
# The operator's first steps (README, "Install on Raspberry Pi OS"), as user danemsg.
as_danemsg() { chroot --userspec=danemsg:danemsg "$CHROOT" env HOME=/var/lib/danemsg "$@"; }
as_danemsg danemsg-tools identity init --name "$NAME" --dir /var/lib/danemsg/identity > "$RUN/init.log" 2>&1 \
  || { cat "$RUN/init.log" >&2; die "danemsg-tools identity init failed in the chroot"; }
bin/danemsg-tools identity publish --name "$NAME" --dir "$CHROOT/var/lib/danemsg/identity" \
  --server "127.0.0.1:$DNS_PORT" --tsig-key "$TSIG_KEY_FILE" --ttl 60 > /dev/null
sed -i -e "s|^IDENTITY_NAME=.*|IDENTITY_NAME=$NAME|" -e "s|^MQTT_HOST=.*|MQTT_HOST=127.0.0.1\nMQTT_PORT=$MQTT_PORT|" \
  -e "s|^#DNS_SERVER=.*|DNS_SERVER=127.0.0.1:$DNS_PORT|" -e "s|^#DNSSEC_TRUST_ANCHOR=.*|DNSSEC_TRUST_ANCHOR=/etc/danemsg/zone.ds|" \
  "$CHROOT/etc/danemsg/node.env"
# systemd's EnvironmentFile= reads NAME=value lines; a shell reading them with set -a does the same here.
chroot --userspec=danemsg:danemsg "$CHROOT" /bin/sh -c 'set -a; . /etc/danemsg/node.env; set +a; exec '"$exec_start" \
  > "$RUN/stdout.txt" 2> "$RUN/node.log" &
NODE_PID=$!
wait_for 60 "the installed node to subscribe (log: $RUN/node.log)" grep -q "subscribed to" "$RUN/node.log"
java_pid=$(pgrep -P "$NODE_PID" java || echo "$NODE_PID")
[ "$(ps -o uid= -p "$java_pid" | tr -d ' ')" = "$(chroot "$CHROOT" id -u danemsg)" ] || die "the node does not run as user danemsg"
echo "$SCRIPT: running as danemsg: $(ps -o args= -p "$java_pid" | cut -c1-150)"

mkdir -p "$RUN/sender"
bin/danemsg-tools identity init --name "host._device.$ZONE" --dir "$RUN/sender" > /dev/null
bin/danemsg-tools identity publish --name "host._device.$ZONE" --dir "$RUN/sender" \
  --server "127.0.0.1:$DNS_PORT" --tsig-key "$TSIG_KEY_FILE" --ttl 60 > /dev/null
text="hello installed node $(date +%s)"
IDENTITY_NAME=host._device.$ZONE CRYPTO_PATH=$RUN/sender DNS_SERVER=127.0.0.1:$DNS_PORT DNSSEC_TRUST_ANCHOR=$ANCHOR_FILE \
  MQTT_HOST=127.0.0.1 MQTT_PORT=$MQTT_PORT bin/danemsg-tools send "$NAME" "$text" > /dev/null
wait_for 30 "the installed node to print the message" grep -qF "host._device.$ZONE says: $text" "$RUN/stdout.txt"
echo "$SCRIPT: the installed node printed: $(grep -F "$text" "$RUN/stdout.txt")"
echo "$SCRIPT: passed in $((SECONDS - started)) s"
