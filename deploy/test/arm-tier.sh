#!/usr/bin/env bash
# The ARM tier of the test command: the node and the tools on emulated arm64 and armhf (32-bit
# Raspberry Pi OS), Debian's own OpenJDK 17 for each run under qemu-user (no binfmt, no global
# set-up), against a real Knot DNS and Mosquitto on 127.0.0.1. For each architecture:
#   1. an x86 sender's message is received and printed by the ARM node;
#   2. `tools send` on ARM reaches the x86 node, which prints it.
# Both go through bin/danemsg-node and bin/danemsg-tools (JAVA= a qemu wrapper), as on a Pi.
# Needs root (apt-get, a tmpfs mount) and, on the first run, Debian's mirror: the JRE trees are then
# kept in $DANEMSG_ARM_CACHE (default /var/cache/danemsg-arm). DANEMSG_SKIP_ARM=1 skips it.
# Emulated timings are not performance figures (10-20x slower than a Pi).
set -euo pipefail
SCRIPT=arm-tier.sh
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
# shellcheck source=servers.sh
. deploy/test/servers.sh

if [ "${DANEMSG_SKIP_ARM:-0}" = 1 ]; then
  echo "$SCRIPT: SKIPPED: DANEMSG_SKIP_ARM=1 (the node and tools were NOT run on arm64/armhf)"
  exit 0
fi
ARCHES=(${DANEMSG_ARM_ARCHES:-arm64 armhf})
started=$SECONDS

[ "$(id -u)" = 0 ] || die "needs root (apt-get, and a tmpfs with 32-bit inode numbers for armhf); skip with DANEMSG_SKIP_ARM=1"
[ -f node/target/node.jar ] && [ -f tools/target/tools.jar ] || die "node/target/node.jar or tools/target/tools.jar missing: mvn -B package -DskipTests"
need_servers
if ! command -v qemu-aarch64-static >/dev/null || ! command -v qemu-arm-static >/dev/null || ! command -v mmdebstrap >/dev/null; then
  echo "$SCRIPT: installing qemu-user-static and mmdebstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static mmdebstrap >/dev/null
fi

RUN=$(mktemp -d "${TMPDIR:-/tmp}/danemsg-arm.XXXXXX")
chmod 755 "$RUN"
NODE_PIDS=()
MOUNTS=()
cleanup() {
  local status=$?
  stop_pids "${NODE_PIDS[@]}"
  stop_servers
  local m
  for m in "${MOUNTS[@]}"; do
    # The armhf node's folder is on the tmpfs: keep its logs before it goes.
    [ "$status" = 0 ] || cp -r "$m/armhf" "$RUN/armhf-from-tmpfs" 2>/dev/null || true
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done
  if [ "$status" = 0 ]; then rm -rf "$RUN"; else echo "$SCRIPT: FAILED; logs kept in $RUN" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ZONE=arm.test
start_knot "$ZONE"
start_mosquitto
export DNS_SERVER=127.0.0.1:$DNS_PORT DNSSEC_TRUST_ANCHOR=$ANCHOR_FILE MQTT_HOST=127.0.0.1 MQTT_PORT
echo "$SCRIPT: knotd on 127.0.0.1:$DNS_PORT (zone $ZONE, signed), mosquitto on 127.0.0.1:$MQTT_PORT"

# Identities are made and published on x86 (key generation under emulation takes 10-25 s and
# proves nothing more); each ARM side then uses its own with its own JVM.
X86_NODE=x86-node._device.$ZONE
X86_SENDER=x86-sender._device.$ZONE
make_identity() { # make_identity NAME DIR
  bin/danemsg-tools identity init --name "$1" --dir "$2" > /dev/null
  bin/danemsg-tools identity publish --name "$1" --dir "$2" --server "$DNS_SERVER" --tsig-key "$TSIG_KEY_FILE" --ttl 60 > /dev/null
}
make_identity "$X86_NODE" "$RUN/x86-node/identity"
make_identity "$X86_SENDER" "$RUN/x86-sender/identity"
for arch in "${ARCHES[@]}"; do make_identity "$arch-pi._device.$ZONE" "$RUN/$arch/identity"; done

start_node() { # start_node FOLDER NAME [java wrapper]: node stdout/stderr in FOLDER
  local dir=$1 name=$2 java=${3:-}
  # API_LISTEN: several nodes share this host; each local API on a free port of its own.
  IDENTITY_NAME=$name CRYPTO_PATH=$dir/identity DATA_PATH=$dir/data JAVA=$java API_LISTEN=127.0.0.1:0 \
    bin/danemsg-node > "$dir/stdout.txt" 2> "$dir/node.log" &
  NODE_PIDS+=($!)
  LAST_NODE_PID=$!
}
says() { # says FILE SENDER TEXT: the node printed TEXT from SENDER
  grep -qF "$2 says: $3" "$1" 2>/dev/null
}

start_node "$RUN/x86-node" "$X86_NODE"
wait_for 60 "the x86 node to subscribe" grep -q "subscribed to" "$RUN/x86-node/node.log"

for arch in "${ARCHES[@]}"; do
  arch_started=$SECONDS
  case "$arch" in
    arm64) qemu=qemu-aarch64-static ;;
    armhf) qemu=qemu-arm-static ;;
    *) die "unknown architecture '$arch' in DANEMSG_ARM_ARCHES (arm64, armhf)" ;;
  esac
  tree=$(deploy/test/arm-jre.sh "$arch")
  dir=$RUN/$arch
  if [ "$arch" = armhf ]; then
    # 32-bit ARM under qemu-user gets EOVERFLOW listing folders with 64-bit inode numbers: the JCE
    # then reads no policy and knows no AES-GCM. A Pi on ext4 has no such problem. Everything this
    # JVM reads or lists goes on a tmpfs with 32-bit inode numbers.
    mkdir -p "$RUN/inode32"
    mount -t tmpfs -o size=768m,inode32 danemsg-arm-inode32 "$RUN/inode32"
    MOUNTS+=("$RUN/inode32")
    cp -a "$tree" "$RUN/inode32/jre"
    tree=$RUN/inode32/jre
    mkdir -p "$RUN/inode32/home"
    cp -a "$ROOT/bin" "$RUN/inode32/home/bin"
    cp "$ROOT/node/target/node.jar" "$ROOT/tools/target/tools.jar" "$RUN/inode32/home/"
    cp -a "$dir" "$RUN/inode32/$arch"
    cp "$ANCHOR_FILE" "$RUN/inode32/anchor.ds"
    dir=$RUN/inode32/$arch
    launchers=$RUN/inode32/home/bin
    anchor=$RUN/inode32/anchor.ds
  else
    launchers=$ROOT/bin
    anchor=$ANCHOR_FILE
  fi
  mkdir -p "$dir/tmp"
  java=$dir/java
  jvm=$(ls -d "$tree"/usr/lib/jvm/java-17-openjdk-*)
  printf '#!/bin/sh\n# Debian %s java under qemu-user\nexec %s -L %s %s/bin/java -Djava.io.tmpdir=%s "$@"\n' \
    "$arch" "$qemu" "$tree" "$jvm" "$dir/tmp" > "$java"
  chmod 755 "$java"
  echo "$SCRIPT: [$arch] $("$java" -version 2>&1 | sed -n 2p) ($qemu)"

  name=$arch-pi._device.$ZONE
  # SQLite's JDBC driver picks its native library by `uname -m`; under qemu-user the JVM cannot start
  # a process (its spawn helper is an ARM binary and there is no binfmt), so it is told (a Pi is not).
  arch_opts=""
  [ "$arch" = armhf ] && arch_opts="-Dorg.sqlite.osinfo.architecture=armv7"
  IDENTITY_NAME=$name CRYPTO_PATH=$dir/identity DATA_PATH=$dir/data JAVA=$java DNSSEC_TRUST_ANCHOR=$anchor \
    API_LISTEN=127.0.0.1:0 JAVA_OPTS="$arch_opts" "$launchers/danemsg-node" > "$dir/stdout.txt" 2> "$dir/node.log" &
  NODE_PIDS+=($!)
  arm_node=$!
  wait_for 300 "the $arch node to subscribe (log: $dir/node.log)" grep -q "subscribed to" "$dir/node.log"
  echo "$SCRIPT: [$arch] node $name subscribed after $((SECONDS - arch_started)) s"

  text="hello $arch from x86 $(date +%s%N)"
  IDENTITY_NAME=$X86_SENDER CRYPTO_PATH=$RUN/x86-sender/identity bin/danemsg-tools send "$name" "$text" > /dev/null
  wait_for 300 "the $arch node to print the x86 message (log: $dir/node.log)" says "$dir/stdout.txt" "$X86_SENDER" "$text"
  echo "$SCRIPT: [$arch] node printed: $(grep -F "$text" "$dir/stdout.txt")"

  text="hello x86 from $arch $(date +%s%N)"
  IDENTITY_NAME=$name CRYPTO_PATH=$dir/identity JAVA=$java DNSSEC_TRUST_ANCHOR=$anchor \
    "$launchers/danemsg-tools" send "$X86_NODE" "$text" > "$dir/send.txt" 2>&1 \
    || { cat "$dir/send.txt" >&2; die "[$arch] tools send failed"; }
  wait_for 120 "the x86 node to print the $arch message" says "$RUN/x86-node/stdout.txt" "$name" "$text"
  echo "$SCRIPT: [$arch] x86 node printed: $(grep -F "$text" "$RUN/x86-node/stdout.txt")"

  stop_pids "$arm_node"
  if grep -q "DECRYPTION_FAILED\|rejected message" "$dir/node.log" "$RUN/x86-node/node.log"; then
    die "[$arch] a message was rejected: see $dir/node.log"
  fi
  echo "$SCRIPT: [$arch] passed in $((SECONDS - arch_started)) s"
done
echo "$SCRIPT: passed (${ARCHES[*]}) in $((SECONDS - started)) s"
