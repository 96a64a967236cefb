#!/usr/bin/env bash
# The image test of the test command: builds the danemsg node image for amd64, arm64 and arm/v7 with podman
# from a Debian bookworm JRE base made from Debian's mirror (deploy/image/build-base.sh; no container
# registry needed), writes docker-archive tars a Pi can `docker load` to deploy/image/target/, then
# starts two amd64 containers (alice, bob) from the image next to a real Knot and Mosquitto and sees
# `tools send` in alice's container reach bob's node, and bob's HEALTHCHECK pass.
# Needs root (apt-get, podman's storage). Base tars and podman's storage are kept in
# $DANEMSG_IMAGE_CACHE (default /var/cache/danemsg-images). DANEMSG_SKIP_IMAGES=1 skips it.
set -euo pipefail
SCRIPT=image-test.sh
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
# shellcheck source=servers.sh
. deploy/test/servers.sh

if [ "${DANEMSG_SKIP_IMAGES:-0}" = 1 ]; then
  echo "$SCRIPT: SKIPPED: DANEMSG_SKIP_IMAGES=1 (no image was built or run)"
  exit 0
fi
started=$SECONDS
[ "$(id -u)" = 0 ] || die "needs root (apt-get, podman's storage); skip with DANEMSG_SKIP_IMAGES=1"
need_servers
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v mmdebstrap >/dev/null; then
  echo "$SCRIPT: installing podman, runc and mmdebstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman buildah runc mmdebstrap >/dev/null
fi
CACHE=${DANEMSG_IMAGE_CACHE:-/var/cache/danemsg-images}
OUT=$ROOT/deploy/image/target
mkdir -p "$CACHE/tmp" "$OUT"
# What works on this kind of machine: vfs storage, cgroupfs, runc (crun fails on hybrid cgroups),
# explicit ulimits (the defaults cannot be set here); storage and run state in our own folders.
PODMAN=(podman --root "$CACHE/storage" --runroot "$CACHE/run" --tmpdir "$CACHE/tmp" --storage-driver vfs
        --cgroup-manager cgroupfs --events-backend file)
# vfs stores every layer as a full copy of the file system (~400 MB here): --squash keeps no
# intermediate image per instruction and makes the image's own steps one layer on top of the
# base, and the images of earlier runs are pruned below once re-tagged.
BUILD=(build -q --squash --format docker --isolation chroot)
RUN_OPTIONS=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network host)

RUN=$(mktemp -d "${TMPDIR:-/tmp}/danemsg-images.XXXXXX")
chmod 755 "$RUN"
CONTAINERS=()
cleanup() {
  local status=$?
  local c
  for c in "${CONTAINERS[@]}"; do
    [ "$status" = 0 ] || "${PODMAN[@]}" logs "$c" > "$RUN/$c.log" 2>&1 || true
    "${PODMAN[@]}" rm -f -t 5 "$c" >/dev/null 2>&1 || true
  done
  stop_servers
  if [ "$status" = 0 ]; then rm -rf "$RUN"; else echo "$SCRIPT: FAILED; logs kept in $RUN" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build ---------------------------------------------------------------------------------------
deploy/image/context.sh "$RUN/context"
# PLATFORM:DEBIAN_ARCH:TAG. arm/v7 is 32-bit Raspberry Pi OS (Debian's armhf).
for platform in amd64:amd64:amd64 arm64:arm64:arm64 arm/v7:armhf:armv7; do
  IFS=: read -r oci_platform arch tag <<< "$platform"
  oci_arch=${oci_platform%%/*}
  variant=()
  [ "$oci_platform" = "$oci_arch" ] || variant=(--variant "${oci_platform#*/}")
  base=localhost/danemsg-base:bookworm-$arch
  if ! "${PODMAN[@]}" image exists "$base"; then
    [ -f "$CACHE/base-$arch.tar" ] || deploy/image/build-base.sh "$arch" "$CACHE/base-$arch.tar"
    mkdir -p "$RUN/base-$arch" && ln "$CACHE/base-$arch.tar" "$RUN/base-$arch/base.tar"
    "${PODMAN[@]}" "${BUILD[@]}" --arch "$oci_arch" "${variant[@]}" -f deploy/image/base.Dockerfile \
      -t "$base" "$RUN/base-$arch" > "$RUN/build.log" 2>&1 || { cat "$RUN/build.log" >&2; die "building the $arch base image failed"; }
  fi
  "${PODMAN[@]}" "${BUILD[@]}" --arch "$oci_arch" "${variant[@]}" --pull=never --build-arg "BASE_IMAGE=$base" \
    -f deploy/image/Dockerfile -t "localhost/danemsg:$tag" "$RUN/context" > "$RUN/build.log" 2>&1 \
    || { cat "$RUN/build.log" >&2; die "building the $tag node image failed"; }
  rm -f "$OUT/danemsg-$tag.tar"
  "${PODMAN[@]}" save -q --format docker-archive -o "$OUT/danemsg-$tag.tar" "localhost/danemsg:$tag"
  built_arch=$("${PODMAN[@]}" image inspect --format '{{.Architecture}}' "localhost/danemsg:$tag")
  [ "$built_arch" = "$oci_arch" ] || die "localhost/danemsg:$tag is for '$built_arch'"
  echo "$SCRIPT: [$oci_platform] image localhost/danemsg:$tag, $("${PODMAN[@]}" image inspect --format '{{.Size}}' "localhost/danemsg:$tag" | awk '{printf "%.0f MB", $1/1e6}'); docker-archive $OUT/danemsg-$tag.tar ($(du -h "$OUT/danemsg-$tag.tar" | cut -f1))"
done
"${PODMAN[@]}" image prune -f > /dev/null   # the previous run's images, now untagged

# --- run: two amd64 containers, the servers on the host's loopback --------------------------------
ZONE=image.test
start_knot "$ZONE"
start_mosquitto
echo "$SCRIPT: knotd on 127.0.0.1:$DNS_PORT (zone $ZONE, signed), mosquitto on 127.0.0.1:$MQTT_PORT"
for who in alice bob; do
  bin/danemsg-tools identity init --name "$who._device.$ZONE" --dir "$RUN/$who/identity" > /dev/null
  bin/danemsg-tools identity publish --name "$who._device.$ZONE" --dir "$RUN/$who/identity" \
    --server "127.0.0.1:$DNS_PORT" --tsig-key "$TSIG_KEY_FILE" --ttl 60 > /dev/null
  mkdir -p "$RUN/$who/data"
  chown -R 10001:10001 "$RUN/$who"   # the image's user
  # Both containers share the host's network: each node's local API (and HEALTHCHECK) on its own port.
  name=danemsg-test-$who-$$
  "${PODMAN[@]}" run -d --name "$name" "${RUN_OPTIONS[@]}" \
    -v "$RUN/$who/identity:/identity" -v "$RUN/$who/data:/data" -v "$ANCHOR_FILE:/anchor.ds:ro" \
    -e "IDENTITY_NAME=$who._device.$ZONE" -e "MQTT_HOST=127.0.0.1" -e "MQTT_PORT=$MQTT_PORT" \
    -e "DNS_SERVER=127.0.0.1:$DNS_PORT" -e "DNSSEC_TRUST_ANCHOR=/anchor.ds" \
    -e "API_LISTEN=127.0.0.1:$(free_port)" \
    localhost/danemsg:amd64 > "$RUN/run-$who.log" 2>&1 || { cat "$RUN/run-$who.log" >&2; die "starting the $who container failed"; }
  # (podman logs "unable to get systemd connection to add healthchecks" there: without systemd it
  # cannot schedule the HEALTHCHECK; the test runs it itself below, with podman healthcheck run.)
  CONTAINERS+=("$name")
  eval "CONTAINER_$who=$name"
done
logs_contain() { "${PODMAN[@]}" logs "$1" 2>&1 | grep -qF "$2"; }
for c in "${CONTAINERS[@]}"; do wait_for 60 "$c to subscribe" logs_contain "$c" "subscribed to"; done
echo "$SCRIPT: containers $CONTAINER_alice and $CONTAINER_bob run their nodes (uid $("${PODMAN[@]}" exec "$CONTAINER_bob" id -u))"

text="hello bob, from alice's container $(date +%s)"
"${PODMAN[@]}" exec "$CONTAINER_alice" tools send "bob._device.$ZONE" "$text" > /dev/null \
  || die "tools send in alice's container failed"
wait_for 30 "bob's container to print alice's message" logs_contain "$CONTAINER_bob" "alice._device.$ZONE says: $text"
echo "$SCRIPT: bob's container printed: $("${PODMAN[@]}" logs "$CONTAINER_bob" 2>/dev/null | grep -F "$text")"
"${PODMAN[@]}" healthcheck run "$CONTAINER_bob" > /dev/null || die "bob's HEALTHCHECK failed"
echo "$SCRIPT: bob's HEALTHCHECK passed"
echo "$SCRIPT: passed in $((SECONDS - started)) s"
