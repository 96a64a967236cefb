#!/usr/bin/env bash
# danemsg local demo: a DNSSEC-signed zone (Knot), an MQTT broker (Mosquitto) and three nodes on this
# machine, talking securely; then the protections at work. Everything listens on 127.0.0.1 only and is
# stopped at the end (by PID). Usage: ./demo.sh [--keep] [--no-build]
#   --keep      leave everything running and print how to send more messages by hand
#   --no-build  use the jars already built (mvn -B package -DskipTests)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

KEEP=0
BUILD=1
for arg in "$@"; do
  case "$arg" in
    --keep) KEEP=1 ;;
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

STEP=0
step() { STEP=$((STEP + 1)); printf '\n[%2d] %s\n' "$STEP" "$*"; }
info() { printf '     %s\n' "$*"; }
die() { printf 'demo.sh: %s\n' "$*" >&2; exit 1; }

# --- 1. what the demo needs -------------------------------------------------------------------
packages=(knot knot-dnsutils mosquitto mosquitto-clients)
need_install=0
for binary in /usr/sbin/knotd /usr/sbin/keymgr /usr/bin/kdig /usr/sbin/mosquitto /usr/bin/mosquitto_sub /usr/bin/mosquitto_pub; do
  [ -x "$binary" ] || need_install=1
done
step "Checking what the demo needs (JDK 17+, Maven, Knot DNS, Mosquitto)"
command -v java >/dev/null || die "java is not installed: install a JDK 17 or newer (apt-get install -y openjdk-17-jdk-headless)"
if [ "$need_install" = 1 ]; then
  if [ "$(id -u)" = 0 ]; then
    info "installing ${packages[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
  else
    die "Knot DNS and Mosquitto are needed. Install them with: sudo apt-get update && sudo apt-get install -y ${packages[*]}"
  fi
fi
info "ok"

# --- 2. build -----------------------------------------------------------------------------------
if [ "$BUILD" = 1 ]; then
  step "Building the node and the tools (mvn -B package -DskipTests)"
  command -v mvn >/dev/null || die "Maven is not installed (apt-get install -y maven)"
  mvn -B -q package -DskipTests >/dev/null || die "the build failed: run 'mvn -B package -DskipTests' to see why"
fi
[ -f node/target/node.jar ] && [ -f tools/target/tools.jar ] || die "node/target/node.jar or tools/target/tools.jar missing: build first"
info "node/target/node.jar, tools/target/tools.jar"

RUN=$(mktemp -d "${TMPDIR:-/tmp}/danemsg-demo.XXXXXX")
chmod 755 "$RUN"
PIDS=()
cleanup() {
  local status=$?
  if [ "$KEEP" = 1 ] && [ "$status" = 0 ]; then
    return
  fi
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "$status" = 0 ]; then rm -rf "$RUN"; else echo "demo.sh: failed; logs kept in $RUN" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tools() { env -u API_LISTEN "$ROOT/bin/danemsg-tools" "$@"; }   # sends directly unless told --via-node

# A port nothing listens on (TCP probe); the servers' own start is checked afterwards too.
TEMPLATES=$ROOT/testservers/src/main/resources/org/danemsg/testing
fill_template() { # fill_template NAME KEY=VALUE...: the server template NAME with each @KEY@ replaced
  local template=$TEMPLATES/$1 args=() pair; shift
  [ -f "$template" ] || die "server template $template is missing"
  for pair in "$@"; do args+=(-e "s|@${pair%%=*}@|${pair#*=}|g"); done
  sed "${args[@]}" "$template"
}

free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then echo "$port"; return; fi
  done
  die "no free port found on 127.0.0.1"
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "timed out after ${seconds}s waiting for $what"
    sleep 0.1
  done
}

ZONE=demo.test
ALICE=alice._device.$ZONE
BOB=bob._device.$ZONE
CAROL=carol._device.$ZONE

# --- 3. DNS -------------------------------------------------------------------------------------
step "Starting Knot DNS with the DNSSEC-signed zone $ZONE"
K=$RUN/knot
mkdir -p "$K/run" "$K/storage"
DNS_PORT=$(free_port)
TSIG_SECRET=$(head -c 32 /dev/urandom | base64)
# The one Knot template (also used by the tests and tools bench): testservers/src/main/resources
fill_template knot.conf PORT="$DNS_PORT" DIR="$K" KEY_NAME=demo-update KEY_SECRET="$TSIG_SECRET" \
  SIGNED_ZONE="$ZONE" UNSIGNED_ZONE=unsigned.test LOG_LEVEL=notice > "$K/knot.conf"
fill_template zone ZONE="$ZONE" TTL=60 > "$K/$ZONE.zone"
fill_template zone ZONE=unsigned.test TTL=60 > "$K/unsigned.test.zone"
printf 'key "demo-update" {\n  algorithm hmac-sha256;\n  secret "%s";\n};\n' "$TSIG_SECRET" > "$K/update.key"
chmod 600 "$K/update.key"
/usr/sbin/knotd -c "$K/knot.conf" > "$K/knotd.log" 2>&1 &
PIDS+=($!)
wait_for 15 "knotd to sign $ZONE" bash -c "kdig @127.0.0.1 -p $DNS_PORT +dnssec $ZONE DNSKEY | grep -q RRSIG"
/usr/sbin/keymgr -c "$K/knot.conf" "$ZONE" ds | head -1 > "$K/anchor.ds"
info "knotd on 127.0.0.1:$DNS_PORT; trust anchor: $(cat "$K/anchor.ds")"

# --- 4. MQTT ------------------------------------------------------------------------------------
step "Starting Mosquitto (QoS 1, persistent sessions)"
M=$RUN/mosquitto
mkdir -p "$M"
MQTT_PORT=$(free_port)
fill_template mosquitto.conf PORT="$MQTT_PORT" DIR="$M" ACCESS="allow_anonymous true" PERSISTENCE=true \
  MAX_INFLIGHT=20 MAX_QUEUED=10000 > "$M/mosquitto.conf"
[ "$(id -u)" = 0 ] && chown mosquitto:mosquitto "$M" 2>/dev/null || true
/usr/sbin/mosquitto -c "$M/mosquitto.conf" > "$M/mosquitto.log" 2>&1 &
PIDS+=($!)
wait_for 10 "mosquitto" mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t ping -m x
info "mosquitto on 127.0.0.1:$MQTT_PORT"

export DNS_SERVER=127.0.0.1:$DNS_PORT
export DNSSEC_TRUST_ANCHOR=$K/anchor.ds
export MQTT_HOST=127.0.0.1
export MQTT_PORT

# --- 5. identities ------------------------------------------------------------------------------
step "Creating identities: $ALICE (EC), $BOB (EC), $CAROL (RSA)"
for device in "$ALICE" "$BOB" "$CAROL"; do
  short=${device%%.*}
  mkdir -p "$RUN/$short"
  extra=()
  [ "$device" = "$CAROL" ] && extra=(--rsa)
  tools identity init --name "$device" --dir "$RUN/$short/identity" "${extra[@]}" > "$RUN/$short/init.txt"
  info "$device: $(grep 'fingerprint' "$RUN/$short/init.txt" | sed 's/^ *//')"
done

step "Publishing their TLSA records by DNS UPDATE (TSIG) and checking them"
for device in "$ALICE" "$BOB" "$CAROL"; do
  short=${device%%.*}
  tools identity publish --name "$device" --dir "$RUN/$short/identity" --server "$DNS_SERVER" \
    --tsig-key "$K/update.key" --ttl 60 > "$RUN/$short/publish.txt"
  info "$(tools identity check --name "$device" --dir "$RUN/$short/identity" | cut -c1-110)"
done

# --- 6. nodes -----------------------------------------------------------------------------------
NODE_PIDS=()
start_node() { # start_node DEVICE: its local API on a free port of its own, the same after a restart
  local device=$1 short=${1%%.*}
  [ -n "$(eval echo "\${API_PORT_$short:-}")" ] || eval "API_PORT_$short=$(free_port)"
  IDENTITY_NAME=$device CRYPTO_PATH=$RUN/$short/identity DATA_PATH=$RUN/$short/data \
    API_LISTEN=127.0.0.1:$(eval echo "\$API_PORT_$short") \
    "$ROOT/bin/danemsg-node" >> "$RUN/$short/stdout.txt" 2>> "$RUN/$short/node.log" &
  local pid=$!
  PIDS+=($pid)
  eval "PID_$short=$pid"
  wait_for 30 "the $short node to subscribe" grep -q "subscribed to" "$RUN/$short/node.log"
}
stop_node() { # stop_node DEVICE
  local short=${1%%.*} pid
  pid=$(eval echo "\$PID_$short")
  kill -TERM "$pid"
  local kept=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  PIDS=("${kept[@]}")
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  die "the $short node did not stop"
}
says_count() { grep -c " says: " "$RUN/${1%%.*}/stdout.txt" 2>/dev/null || true; }
wait_says() { # wait_says DEVICE COUNT
  wait_for 20 "${1%%.*} to show message $2" bash -c "[ \$(grep -c ' says: ' '$RUN/${1%%.*}/stdout.txt' 2>/dev/null || echo 0) -ge $2 ]"
}
# What a node received and rejected is in its database; tools inbox|quarantine read it (one record a line).
delivered_count() { tools inbox --data "$RUN/${1%%.*}/data" --json | wc -l; }
rejected_count() { tools quarantine --data "$RUN/${1%%.*}/data" --json | wc -l; }
wait_rejected() { # wait_rejected DEVICE COUNT: --follow --limit returns once the COUNT-th record is there
  timeout 20 "$ROOT/bin/danemsg-tools" quarantine --data "$RUN/${1%%.*}/data" --follow --limit "$2" > /dev/null \
    || die "timed out after 20s waiting for ${1%%.*} to reject message $2"
}

step "Starting three nodes (separate processes, bin/danemsg-node: the recommended JVM options)"
for device in "$ALICE" "$BOB" "$CAROL"; do
  start_node "$device"
  info "$device: pid $(eval echo "\$PID_${device%%.*}"), subscribed to its topic"
done

# --- 7. messages ----------------------------------------------------------------------------------
send_as() { # send_as DEVICE RECIPIENT TEXT...
  local device=$1 recipient=$2; shift 2
  IDENTITY_NAME=$device CRYPTO_PATH=$RUN/${device%%.*}/identity tools send "$recipient" "$*" | sed "s/^/     ${device%%.*}: /"
}
step "Sending messages between them (tools send: DNS lookup, sign, encrypt, publish at QoS 1)"
send_as "$ALICE" "$BOB" "Hello Bob, this is Alice. Meet at 10:00?"
send_as "$BOB" "$ALICE" "Hi Alice! 10:00 works."
send_as "$CAROL" "$ALICE" "Carol here, with an RSA key."
send_as "$ALICE" "$CAROL" "Welcome, Carol."
wait_says "$BOB" 1; wait_says "$ALICE" 2; wait_says "$CAROL" 1

step "What each node showed (stdout) — the sender's name is authenticated through DNS"
for device in "$ALICE" "$BOB" "$CAROL"; do
  sed "s/^/     [${device%%.*}] /" "$RUN/${device%%.*}/stdout.txt"
done

step "Sending through a running node's local API (bob's node looks up, seals and publishes: POST /v1/messages)"
BOB_API=127.0.0.1:$API_PORT_bob
if command -v curl > /dev/null; then
  info "curl http://$BOB_API/health/ready -> $(curl -s "http://$BOB_API/health/ready")"
fi
info "tools send --via-node $BOB_API --data $RUN/bob/data $ALICE \"...\"  (the token: bob's DATA_PATH/api.token)"
tools send --via-node "$BOB_API" --data "$RUN/bob/data" "$ALICE" "Sent through bob's node (local API)." \
  | sed "s/^/     bob's API: /"
wait_says "$ALICE" 3
info "alice showed: $(tail -1 "$RUN/alice/stdout.txt")"

# --- 8. protections -------------------------------------------------------------------------------
step "A forged message: someone with another key claims to be Alice"
mkdir -p "$RUN/mallory"
tools identity init --name "$ALICE" --dir "$RUN/mallory/identity" > /dev/null
before=$(rejected_count "$BOB")
info "mallory made her own key under alice's name (not the one DNS publishes) and sends:"
IDENTITY_NAME=$ALICE CRYPTO_PATH=$RUN/mallory/identity tools send "$BOB" "Transfer all the money to Mallory" | sed 's/^/     mallory: /'
wait_rejected "$BOB" $((before + 1))
info "bob's log:"
grep "rejected message" "$RUN/bob/node.log" | tail -1 | cut -c1-220 | sed 's/^/       /'

step "A replayed message: a copy of Alice's earlier message, captured from the broker, sent again"
CAPTURE=$RUN/captured.payload
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "$BOB" -C 1 -W 20 > "$CAPTURE.raw" &
SUB=$!
sleep 0.5
send_as "$ALICE" "$BOB" "This one will be captured and replayed."
wait "$SUB" || die "could not capture the message"
head -c -1 "$CAPTURE.raw" > "$CAPTURE"   # mosquitto_sub adds a newline
wait_says "$BOB" 2
before=$(rejected_count "$BOB")
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t "$BOB" -q 1 -f "$CAPTURE"
wait_rejected "$BOB" $((before + 1))
info "bob showed it once; the copy was rejected. bob's log:"
grep "rejected message" "$RUN/bob/node.log" | tail -1 | cut -c1-220 | sed 's/^/       /'

step "A message to a stopped node is delivered when it comes back (persistent MQTT session)"
stop_node "$CAROL"
info "carol's node stopped"
send_as "$BOB" "$CAROL" "Sent while you were away."
info "message sent to carol while her node is down"
start_node "$CAROL"
wait_says "$CAROL" 2
info "carol's node is back and showed: $(tail -1 "$RUN/carol/stdout.txt")"

step "Inbox and quarantine (each node's database in its DATA_PATH, read with tools inbox and tools quarantine)"
for device in "$ALICE" "$BOB" "$CAROL"; do
  short=${device%%.*}
  info "$short: $(delivered_count "$device") delivered, $(rejected_count "$device") rejected"
done
info "bob's quarantine (tools quarantine --data $RUN/bob/data):"
tools quarantine --data "$RUN/bob/data" | cut -c1-200 | sed 's/^/       /'

if [ "$KEEP" = 1 ]; then
  step "Leaving everything running (--keep)"
  cat <<EOF
     Send more by hand:
       export DNS_SERVER=$DNS_SERVER DNSSEC_TRUST_ANCHOR=$DNSSEC_TRUST_ANCHOR MQTT_HOST=127.0.0.1 MQTT_PORT=$MQTT_PORT
       IDENTITY_NAME=$ALICE CRYPTO_PATH=$RUN/alice/identity bin/danemsg-tools send $BOB "hello again"
     Watch a node:  tail -f $RUN/bob/stdout.txt $RUN/bob/node.log
     Its inbox:     bin/danemsg-tools inbox --data $RUN/bob/data --follow
     Its local API: TOKEN=\$(cat $RUN/bob/data/api.token)
                    curl -H "Authorization: Bearer \$TOKEN" -d '{"to":"$ALICE","text":"hi"}' http://127.0.0.1:$API_PORT_bob/v1/messages
                    curl -H "Authorization: Bearer \$TOKEN" "http://127.0.0.1:$API_PORT_bob/v1/messages?after=0&wait=30"
     Stop it all:   kill ${PIDS[*]}; rm -rf $RUN
EOF
else
  step "Stopping everything"
fi
printf '\nDemo finished.\n'
