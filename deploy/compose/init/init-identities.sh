#!/usr/bin/env bash
# Entry point of the compose demo's one-shot init service (the danemsg image).
#
# For every device in DEVICES ("NAME" or "NAME:rsa", separated by spaces) it
#   1. creates the identity in /identities/<first label of NAME> (e.g. /identities/alice, the
#      named volume the node "alice" mounts at /identity) unless one is there already,
#   2. publishes its TLSA record to the zone's primary (DNS_PRIMARY, default knot:53) by DNS
#      UPDATE signed with the TSIG key the knot service generated (TSIG_KEY_FILE), and
#   3. checks, as a peer will, that DNS now serves it DNSSEC-validated
#      (DNS_SERVER + DNSSEC_TRUST_ANCHOR, the node's own settings).
# It is safe to run again: existing identities are kept and republished.
#
# It starts as root only to hand the freshly created volumes to the image's user "danemsg", then
# re-runs itself as that user: every key file is written by danemsg, mode 0600.
set -euo pipefail

: "${DEVICES:?set DEVICES, e.g. \"alice._device.demo.test carol._device.demo.test:rsa\"}"
ZONE=${ZONE:-demo.test}
DNS_PRIMARY=${DNS_PRIMARY:-knot:53}
TSIG_KEY_FILE=${TSIG_KEY_FILE:-/tsig/update.key}
ROOT=/identities
APP_USER=danemsg

log() { echo "init: $*" >&2; }

if [ "$(id -u)" = 0 ]; then
  for device in $DEVICES; do
    name=${device%%:*}
    dir=$ROOT/${name%%.*}
    mkdir -p "$dir"
    chown "$APP_USER:$APP_USER" "$dir"
    chmod 0700 "$dir"
  done
  exec setpriv --reuid="$APP_USER" --regid="$APP_USER" --init-groups -- bash "$0" "$@"
fi

[ -r "$TSIG_KEY_FILE" ] || { log "cannot read the TSIG key $TSIG_KEY_FILE (written by the knot service)"; exit 1; }

for device in $DEVICES; do
  name=${device%%:*}
  kind=${device#"$name"}
  dir=$ROOT/${name%%.*}
  key=$dir/$name.key.pem
  if [ -e "$key" ] && [ -e "$dir/$name.crt.pem" ]; then
    log "$name: identity exists in $dir, kept"
  else
    case "$kind" in
      "") tools identity init --name "$name" --dir "$dir" ;;
      :rsa) tools identity init --name "$name" --dir "$dir" --rsa ;;
      *) log "$device: unknown key kind '${kind#:}' (only :rsa)"; exit 2 ;;
    esac
  fi
  chmod 0600 "$key"

  published=false
  for attempt in 1 2 3 4 5; do
    if tools identity publish --name "$name" --dir "$dir" --server "$DNS_PRIMARY" \
        --tsig-key "$TSIG_KEY_FILE" --zone "$ZONE" --ttl 60; then
      published=true
      break
    fi
    log "$name: publishing failed (attempt $attempt of 5), retrying"
    sleep 2
  done
  [ "$published" = true ] || { log "$name: could not publish the TLSA record"; exit 1; }

  tools identity check --name "$name" --dir "$dir"
done
log "identities ready: $DEVICES"
