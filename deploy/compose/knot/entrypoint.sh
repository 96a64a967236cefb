#!/usr/bin/env bash
# Entry point of the knot service (image cznic/knot): starts knotd with knot.conf and, once the
# zone is served signed, publishes its trust anchor for the nodes.
#
#  - TSIG: at the first start a random hmac-sha256 secret is made and kept in
#    /storage/update-key.conf (Knot's form, included by knot.conf). A BIND-style copy goes to
#    /tsig/update.key (mode 0640, group APP_UID) for the init service, which publishes the
#    devices' TLSA records with it. Nothing secret is in the repository.
#  - Trust anchor: `keymgr ZONE ds` (the DS record of the zone's signing key) is written to
#    /anchors/ZONE.ds; the nodes read it through DNSSEC_TRUST_ANCHOR. The file is removed at
#    start and written again once knotd answers with signatures, so the healthcheck (which waits
#    for it) never passes on a stale anchor.
set -euo pipefail

ZONE=${ZONE:-demo.test}
APP_UID=${APP_UID:-10001}
CONF=/config/knot.conf
KEY_CONF=/storage/update-key.conf
ANCHOR=/anchors/$ZONE.ds

log() { echo "knot-entrypoint: $*" >&2; }

mkdir -p /storage /rundir /tsig /anchors
rm -f "$ANCHOR"

if [ ! -s "$KEY_CONF" ]; then
  log "creating the TSIG key update-key (first start)"
  secret=$(head -c 32 /dev/urandom | base64)
  (umask 077 && printf 'key:\n  - id: update-key\n    algorithm: hmac-sha256\n    secret: %s\n' \
    "$secret" > "$KEY_CONF.tmp")
  mv "$KEY_CONF.tmp" "$KEY_CONF"
fi
secret=$(sed -n 's/^ *secret: *//p' "$KEY_CONF")
[ -n "$secret" ] || { log "no secret in $KEY_CONF"; exit 1; }
(umask 077 && printf 'key "update-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' \
  "$secret" > /tsig/update.key.tmp)
chown "0:$APP_UID" /tsig/update.key.tmp
chmod 0640 /tsig/update.key.tmp
mv /tsig/update.key.tmp /tsig/update.key

chown -R knot:knot /storage /rundir
chmod 0600 "$KEY_CONF"

knotc -c "$CONF" conf-check
knotd -c "$CONF" &
knotd_pid=$!
# docker stop: pass SIGTERM on to knotd and wait for it to finish.
trap 'kill -TERM "$knotd_pid" 2>/dev/null; wait "$knotd_pid"; exit 0' TERM INT

signed=false
for _ in $(seq 1 300); do
  kill -0 "$knotd_pid" 2>/dev/null || { log "knotd exited"; wait "$knotd_pid"; exit 1; }
  if kdig @127.0.0.1 +dnssec +timeout=1 +retry=0 "$ZONE" DNSKEY 2>/dev/null | grep -q RRSIG; then
    signed=true
    break
  fi
  sleep 0.2
done
if [ "$signed" != true ]; then
  log "$ZONE is not served signed after 60 s; stopping"
  kill -TERM "$knotd_pid"
  wait "$knotd_pid" || true
  exit 1
fi

# keymgr reads the key database knotd owns: run it as knotd's user. It prints one DS line per
# digest type (SHA-256 first); the first is enough for the validators.
if command -v setpriv >/dev/null; then
  as_knot=(setpriv --reuid=knot --regid=knot --clear-groups)
else
  as_knot=()
fi
"${as_knot[@]}" keymgr -c "$CONF" "$ZONE" ds | sed -n '1p' > "$ANCHOR.tmp"
grep -q " DS " "$ANCHOR.tmp" || { log "keymgr printed no DS record"; cat "$ANCHOR.tmp" >&2; exit 1; }
chmod 0644 "$ANCHOR.tmp"
mv "$ANCHOR.tmp" "$ANCHOR"
log "trust anchor for $ZONE written to $ANCHOR: $(cat "$ANCHOR")"

wait "$knotd_pid"
