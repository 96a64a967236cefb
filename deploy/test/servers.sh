# Sourced by the ARM tier and the image test: a DNSSEC-signed zone (Knot) with a TSIG key for DNS
# UPDATE and a Mosquitto broker, on free ports of 127.0.0.1, in a run folder, stopped by PID.
# The caller sets RUN (a folder) and SCRIPT (its name, for messages) and calls stop_servers at exit.
# The servers' configurations come from the templates of the testservers module, as in ../../demo.sh,
# the tests and tools bench.

SERVER_PIDS=()
SERVER_TEMPLATES=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/testservers/src/main/resources/org/danemsg/testing

fill_template() { # fill_template NAME KEY=VALUE...: the server template NAME with each @KEY@ replaced
  local template=$SERVER_TEMPLATES/$1 args=() pair; shift
  [ -f "$template" ] || die "server template $template is missing"
  for pair in "$@"; do args+=(-e "s|@${pair%%=*}@|${pair#*=}|g"); done
  sed "${args[@]}" "$template"
}

die() { printf '%s: %s\n' "$SCRIPT" "$*" >&2; exit 1; }

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "timed out after ${seconds}s waiting for $what"
    sleep 0.2
  done
}

free_port() { # a port nothing listens on (TCP probe)
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then echo "$port"; return; fi
  done
  die "no free port found on 127.0.0.1"
}

need_servers() { # installs Knot and Mosquitto as root, as ../../test.sh does
  local binary missing=0
  for binary in /usr/sbin/knotd /usr/sbin/keymgr /usr/bin/kdig /usr/sbin/mosquitto /usr/bin/mosquitto_pub; do
    [ -x "$binary" ] || missing=1
  done
  [ "$missing" = 0 ] && return
  [ "$(id -u)" = 0 ] || die "Knot DNS and Mosquitto are needed: sudo apt-get install -y knot knot-dnsutils mosquitto mosquitto-clients"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq knot knot-dnsutils mosquitto mosquitto-clients >/dev/null
}

# start_knot ZONE: sets DNS_PORT, TSIG_KEY_FILE (BIND format), ANCHOR_FILE (DS)
start_knot() {
  local zone=$1 k=$RUN/knot secret
  mkdir -p "$k/run" "$k/storage"
  DNS_PORT=$(free_port)
  secret=$(head -c 32 /dev/urandom | base64)
  # The one Knot template (also used by the tests, tools bench and demo.sh)
  fill_template knot.conf PORT="$DNS_PORT" DIR="$k" KEY_NAME=update-key KEY_SECRET="$secret" \
    SIGNED_ZONE="$zone" UNSIGNED_ZONE=unsigned.test LOG_LEVEL=notice > "$k/knot.conf"
  fill_template zone ZONE="$zone" TTL=60 > "$k/$zone.zone"
  fill_template zone ZONE=unsigned.test TTL=60 > "$k/unsigned.test.zone"
  TSIG_KEY_FILE=$k/update.key
  printf 'key "update-key" {\n  algorithm hmac-sha256;\n  secret "%s";\n};\n' "$secret" > "$TSIG_KEY_FILE"
  chmod 644 "$TSIG_KEY_FILE"   # read by the containers' non-root user too; a throw-away test key
  /usr/sbin/knotd -c "$k/knot.conf" > "$k/knotd.log" 2>&1 &
  SERVER_PIDS+=($!)
  wait_for 15 "knotd to sign $zone" bash -c "kdig @127.0.0.1 -p $DNS_PORT +dnssec $zone DNSKEY | grep -q RRSIG"
  ANCHOR_FILE=$k/anchor.ds
  /usr/sbin/keymgr -c "$k/knot.conf" "$zone" ds | head -1 > "$ANCHOR_FILE"
  chmod 644 "$ANCHOR_FILE"
}

# start_mosquitto: sets MQTT_PORT
start_mosquitto() {
  local m=$RUN/mosquitto
  mkdir -p "$m"
  MQTT_PORT=$(free_port)
  fill_template mosquitto.conf PORT="$MQTT_PORT" DIR="$m" ACCESS="allow_anonymous true" PERSISTENCE=true \
    MAX_INFLIGHT=20 MAX_QUEUED=10000 > "$m/mosquitto.conf"
  # started as root, mosquitto switches to user "mosquitto": it must be able to write its folder
  [ "$(id -u)" = 0 ] && chown mosquitto:mosquitto "$m"
  /usr/sbin/mosquitto -c "$m/mosquitto.conf" > "$m/mosquitto.log" 2>&1 &
  SERVER_PIDS+=($!)
  wait_for 10 "mosquitto" mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t ping -m x
}

stop_pids() { # stop_pids PID...: SIGTERM, wait up to 10 s, then SIGKILL
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}

stop_servers() { stop_pids "${SERVER_PIDS[@]}"; }
