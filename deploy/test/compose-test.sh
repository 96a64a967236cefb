#!/usr/bin/env bash
# The compose test of the test command: runs the compose demo itself, deploy/compose/docker-compose.yml
# (knot, accounts, mosquitto, init, alice, bob, carol), with Debian's docker-compose 1.29 against
# podman's Docker-compatible API socket, from images built here without a registry:
#   - the node image: deploy/image/Dockerfile on the Debian JRE base (as image-test.sh builds it),
#   - knot, accounts and mosquitto: one Debian image with Knot and Mosquitto (build-servers.sh,
#     servers.Dockerfile), in place of cznic/knot and eclipse-mosquitto:2,
# chosen through the compose file's DANEMSG_IMAGE, DANEMSG_KNOT_IMAGE and DANEMSG_MOSQUITTO_IMAGE.
# Then `tools send` in alice's container reaches bob's node (EC) and carol's (RSA), each printing
# "alice._device.demo.test says: …" (tools send goes through alice's local API: the compose file sets
# API_LISTEN), each node's HEALTHCHECK (GET /health/ready) passes; then the profile `cluster` starts the
# identity collector as three members, alice sends it readings and each is printed by exactly one member
# (more than one member printing); and `docker-compose down -v` removes everything it made.
# Needs root (apt-get, podman's storage) and the jars (mvn -B package -DskipTests). The servers' tar
# and podman's storage are kept in $DANEMSG_IMAGE_CACHE (default /var/cache/danemsg-images), shared
# with image-test.sh. DANEMSG_SKIP_COMPOSE=1 skips it.
set -euo pipefail
SCRIPT=compose-test.sh
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
# shellcheck source=servers.sh
. deploy/test/servers.sh

if [ "${DANEMSG_SKIP_COMPOSE:-0}" = 1 ]; then
  echo "$SCRIPT: SKIPPED: DANEMSG_SKIP_COMPOSE=1 (the compose demo was not run: no knot, mosquitto or node containers, no message between them)"
  exit 0
fi
started=$SECONDS
[ "$(id -u)" = 0 ] || die "needs root (apt-get, podman's storage); skip with DANEMSG_SKIP_COMPOSE=1"
# golang-github-containernetworking-plugin-dnsname: the services find each other by name (knot:53,
# mosquitto:1883) on the compose network, which podman makes with CNI here.
need=()
command -v podman >/dev/null || need+=(podman buildah)
command -v runc >/dev/null || need+=(runc)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v docker-compose >/dev/null || need+=(docker-compose)
[ -x /usr/lib/cni/dnsname ] || need+=(golang-github-containernetworking-plugin-dnsname)
if [ ${#need[@]} -gt 0 ]; then
  echo "$SCRIPT: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
CACHE=${DANEMSG_IMAGE_CACHE:-/var/cache/danemsg-images}
mkdir -p "$CACHE/tmp"
# What works on this kind of machine (image-test.sh): vfs storage, cgroupfs, runc, explicit ulimits.
# The API service reads the last three from its own containers.conf, since compose cannot pass them.
PODMAN=(podman --root "$CACHE/storage" --runroot "$CACHE/run" --tmpdir "$CACHE/tmp" --storage-driver vfs
        --cgroup-manager cgroupfs --events-backend file)
BUILD=(build -q --squash --format docker --isolation chroot)
NODE_IMAGE=localhost/danemsg:local
SERVERS_IMAGE=localhost/danemsg-demo-servers:bookworm
COMPOSE_FILE=$ROOT/deploy/compose/docker-compose.yml

RUN=$(mktemp -d "${TMPDIR:-/tmp}/danemsg-compose.XXXXXX")
chmod 755 "$RUN"
PROJECT=danemsgcompose$$
SERVICE_PID=
HEALTH_PID=
DNS_PORT=$(free_port)
MQTT_PORT=$(free_port)
# The compose file's variables: the local images, and free host ports for knot and mosquitto.
COMPOSE=(env "DOCKER_HOST=unix://$RUN/podman.sock" "COMPOSE_PROJECT_NAME=$PROJECT"
         "DANEMSG_IMAGE=$NODE_IMAGE" "DANEMSG_KNOT_IMAGE=$SERVERS_IMAGE" "DANEMSG_MOSQUITTO_IMAGE=$SERVERS_IMAGE"
         "DANEMSG_DNS_PORT=$DNS_PORT" "DANEMSG_MQTT_PORT=$MQTT_PORT"
         docker-compose --ansi never -f "$COMPOSE_FILE")
compose() { "${COMPOSE[@]}" "$@"; }
cleanup() {
  local status=$?
  [ -z "$HEALTH_PID" ] || kill "$HEALTH_PID" 2>/dev/null || true
  if [ -n "$SERVICE_PID" ]; then
    [ "$status" = 0 ] || compose logs --no-color > "$RUN/compose.log" 2>&1 || true
    local down_started=$SECONDS
    compose down -v -t 5 > "$RUN/down.log" 2>&1 || cat "$RUN/down.log" >&2
    [ "$status" != 0 ] || echo "$SCRIPT: docker-compose down -v: $(grep -c '^Removing' "$RUN/down.log") containers, volumes and networks removed in $((SECONDS - down_started)) s; $((SECONDS - started)) s in all"
    # Whatever `down` left of this project (its containers carry the project's label), by ID.
    local ids
    ids=$("${PODMAN[@]}" ps -a -q --filter "label=com.docker.compose.project=$PROJECT" 2>/dev/null || true)
    [ -z "$ids" ] || "${PODMAN[@]}" rm -f -t 0 $ids > /dev/null 2>&1 || true
    "${PODMAN[@]}" network rm -f "${PROJECT}_default" > /dev/null 2>&1 || true
    ids=$("${PODMAN[@]}" volume ls -q --filter "label=com.docker.compose.project=$PROJECT" 2>/dev/null || true)
    [ -z "$ids" ] || "${PODMAN[@]}" volume rm -f $ids > /dev/null 2>&1 || true
    stop_pids "$SERVICE_PID"
  fi
  if [ "$status" = 0 ]; then
    rm -rf "$RUN"
  else
    rm -rf "$RUN/context" "$RUN/base" "$RUN/servers"   # build inputs (the jars, hard links to the tars)
    echo "$SCRIPT: FAILED; logs kept in $RUN" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- images --------------------------------------------------------------------------------------
base=localhost/danemsg-base:bookworm-amd64
if ! "${PODMAN[@]}" image exists "$base"; then
  [ -f "$CACHE/base-amd64.tar" ] || deploy/image/build-base.sh amd64 "$CACHE/base-amd64.tar"
  mkdir -p "$RUN/base" && ln "$CACHE/base-amd64.tar" "$RUN/base/base.tar"
  "${PODMAN[@]}" "${BUILD[@]}" --arch amd64 -f deploy/image/base.Dockerfile -t "$base" "$RUN/base" \
    > "$RUN/build.log" 2>&1 || { cat "$RUN/build.log" >&2; die "building the Debian JRE base image failed"; }
fi
deploy/image/context.sh "$RUN/context"
"${PODMAN[@]}" "${BUILD[@]}" --arch amd64 --pull=never --build-arg "BASE_IMAGE=$base" \
  -f deploy/image/Dockerfile -t "$NODE_IMAGE" "$RUN/context" > "$RUN/build.log" 2>&1 \
  || { cat "$RUN/build.log" >&2; die "building the node image failed"; }
if ! "${PODMAN[@]}" image exists "$SERVERS_IMAGE"; then
  [ -f "$CACHE/servers-amd64.tar" ] || deploy/image/build-servers.sh "$CACHE/servers-amd64.tar"
  mkdir -p "$RUN/servers" && ln "$CACHE/servers-amd64.tar" "$RUN/servers/servers.tar"
  "${PODMAN[@]}" "${BUILD[@]}" -f deploy/image/servers.Dockerfile -t "$SERVERS_IMAGE" "$RUN/servers" \
    > "$RUN/build.log" 2>&1 || { cat "$RUN/build.log" >&2; die "building the servers image failed"; }
fi
"${PODMAN[@]}" image prune -f > /dev/null   # the previous run's node image, now untagged
size() { "${PODMAN[@]}" image inspect --format '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1/1e6}'; }
echo "$SCRIPT: [$((SECONDS - started)) s] images $NODE_IMAGE ($(size "$NODE_IMAGE"); alice, bob, carol, init) and $SERVERS_IMAGE ($(size "$SERVERS_IMAGE"); knot, accounts, mosquitto)"

# --- podman's Docker API, for docker-compose -----------------------------------------------------
cat > "$RUN/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
CONTAINERS_CONF=$RUN/containers.conf "${PODMAN[@]}" system service --time=0 "unix://$RUN/podman.sock" \
  > "$RUN/podman-service.log" 2>&1 &
SERVICE_PID=$!
wait_for 30 "podman's API socket" test -S "$RUN/podman.sock"
# Podman runs HEALTHCHECKs from systemd timers, and this machine has no systemd: nothing would ever
# mark knot and mosquitto healthy, and compose waits for that (depends_on: service_healthy). So this
# loop runs each running container's own HEALTHCHECK every 2 s, as the timer would.
(
  while :; do
    for id in $("${PODMAN[@]}" ps -q --filter "label=com.docker.compose.project=$PROJECT" 2>/dev/null); do
      "${PODMAN[@]}" healthcheck run "$id" > /dev/null 2>&1 || true
    done
    sleep 2
  done
) &
HEALTH_PID=$!

# --- the demo -------------------------------------------------------------------------------------
echo "$SCRIPT: docker-compose $(docker-compose version --short) up -d, project $PROJECT, podman $(podman --version | awk '{print $3}') API; knot on 127.0.0.1:$DNS_PORT, mosquitto on 127.0.0.1:$MQTT_PORT"
up_started=$SECONDS
timeout 300 "${COMPOSE[@]}" up -d --no-build > "$RUN/up.log" 2>&1 || { cat "$RUN/up.log" >&2; die "docker-compose up failed"; }
container() { echo "${PROJECT}_$1_1"; }
logs_contain() { "${PODMAN[@]}" logs "$(container "$1")" 2>&1 | grep -qF "$2"; }
state() { "${PODMAN[@]}" ps -a --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}} {{.Status}}' | sed "s/^${PROJECT}_//; s/_1 / /" | sort | paste -sd ',' | sed 's/,/, /g'; }
for node in alice bob carol; do
  wait_for 90 "$node's node to subscribe" logs_contain "$node" "subscribed to $node._device.demo.test"
done
echo "$SCRIPT: [$((SECONDS - started)) s] the three nodes subscribed, $((SECONDS - up_started)) s after up; containers: $(state)"
"${PODMAN[@]}" logs "$(container init)" 2>&1 | grep -E '^in sync: ' | sed "s/ (fingerprint [0-9a-f]*)//; s/^/$SCRIPT: init: /"

stamp=$(date +%s)
for to in bob carol; do
  text="hi $to, from alice's container $stamp"
  compose exec -T alice tools send "$to._device.demo.test" "$text" > "$RUN/send-$to.log" 2>&1 \
    || { cat "$RUN/send-$to.log" >&2; die "tools send to $to in alice's container failed"; }
  echo "$SCRIPT: alice: docker-compose exec alice tools send $to._device.demo.test \"$text\": $(tail -1 "$RUN/send-$to.log")"
done
for to in bob carol; do
  text="hi $to, from alice's container $stamp"
  wait_for 30 "$to's container to print alice's message" logs_contain "$to" "alice._device.demo.test says: $text"
  echo "$SCRIPT: [$((SECONDS - started)) s] $to's container printed: $(compose logs --no-color "$to" 2>/dev/null | grep -F "says: $text" | tail -1)"
done
# The nodes' HEALTHCHECK asks each node's GET /health/ready (subscribed, own TLSA record validated).
node_healthy() { "${PODMAN[@]}" healthcheck run "$(container "$1")" > /dev/null 2>&1; }
for node in alice bob carol; do
  wait_for 60 "$node's HEALTHCHECK (GET /health/ready) to pass" node_healthy "$node"
done
echo "$SCRIPT: the three nodes' HEALTHCHECK (GET /health/ready) passed"

# --- the profile `cluster`: the identity collector as three members of one Pekko Cluster ----------
# Each member subscribes to the identity's shared subscription only once it is Up in the cluster.
members=(collector-1 collector-2 collector-3)
timeout 300 "${COMPOSE[@]}" --profile cluster up -d --no-build "${members[@]}" > "$RUN/up-cluster.log" 2>&1 \
  || { cat "$RUN/up-cluster.log" >&2; die "docker-compose --profile cluster up failed"; }
for member in "${members[@]}"; do
  wait_for 120 "$member to join the cluster and subscribe" logs_contain "$member" "subscribed to \$share/"
done
echo "$SCRIPT: [$((SECONDS - started)) s] the collector's three members are Up and subscribed to its shared subscription"
sent=4
for i in $(seq 1 $sent); do
  compose exec -T alice tools send collector._device.demo.test "reading $i $stamp" > "$RUN/send-collector.log" 2>&1 \
    || { cat "$RUN/send-collector.log" >&2; die "tools send to collector in alice's container failed"; }
done
printed_by() { "${PODMAN[@]}" logs "$(container "$1")" 2>&1 | grep -cF "alice._device.demo.test says: reading " || true; }
printed_total() { local n=0; for m in "${members[@]}"; do n=$((n + $(printed_by "$m"))); done; echo "$n"; }
all_printed() { [ "$(printed_total)" -ge "$sent" ]; }
wait_for 60 "the collector's members to print alice's $sent readings" all_printed
sleep 2 # a copy printed twice would show by now
counts=""; working=0
for m in "${members[@]}"; do
  n=$(printed_by "$m"); counts="$counts $m $n"; [ "$n" = 0 ] || working=$((working + 1))
done
[ "$(printed_total)" = "$sent" ] || die "the collector's members printed $(printed_total) readings for $sent sent:$counts"
[ "$working" -ge 2 ] || die "only one member of the collector printed (the shared subscription did not spread):$counts"
for i in $(seq 1 $sent); do
  n=0; for m in "${members[@]}"; do
    n=$((n + $("${PODMAN[@]}" logs "$(container "$m")" 2>&1 | grep -cF "says: reading $i $stamp" || true)))
  done
  [ "$n" = 1 ] || die "reading $i was printed $n times across the collector's members"
done
echo "$SCRIPT: [$((SECONDS - started)) s] alice sent $sent readings to collector._device.demo.test: each printed once,$counts"
echo "$SCRIPT: passed in $((SECONDS - started)) s (docker-compose down -v follows)"
