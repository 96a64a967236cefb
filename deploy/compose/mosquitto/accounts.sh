#!/bin/sh
# Entry point of the compose demo's one-shot `accounts` service (image eclipse-mosquitto:2, which
# has mosquitto_passwd). For every device in DEVICES (the init service's list: "NAME" or "NAME:rsa")
# it keeps two random passwords on the device's own volume, mounted here at /devices/<first label>
# and in the node at /broker (read-only):
#   node.password  account NAME        the node (MQTT_USERNAME, MQTT_PASSWORD_FILE)
#   send.password  account send@NAME `tools send` in the node's container (SEND_MQTT_USERNAME,
#                                     SEND_MQTT_PASSWORD_FILE; see mosquitto.conf for why)
# Passwords are made once (reruns keep them), mode 0400, owned by the node's uid (APP_UID). Then it
# writes the broker's hashed password file /accounts/passwords (the accounts volume, read by the
# mosquitto service), with one more account, healthcheck, for the broker's healthcheck. Nothing
# secret is in the repository.
set -eu

: "${DEVICES:?set DEVICES, e.g. \"alice._device.demo.test bob._device.demo.test\"}"
APP_UID=${APP_UID:-10001}
ACCOUNTS=/accounts

log() { echo "accounts: $*" >&2; }

# A password kept in $1, made now if missing: 32 random letters and digits.
password() {
  if [ ! -s "$1" ]; then
    (umask 077 && tr -dc 'A-Za-z0-9' < /dev/urandom | head -c 32 > "$1.tmp" && mv "$1.tmp" "$1")
  fi
  cat "$1"
}

umask 077
plain=$ACCOUNTS/passwords.new
: > "$plain"
for device in $DEVICES; do
  name=${device%%:*}
  dir=/devices/${name%%.*}
  [ -d "$dir" ] || { log "$name: no volume mounted at $dir"; exit 1; }
  node_password=$(password "$dir/node.password")
  send_password=$(password "$dir/send.password")
  chown "$APP_UID:$APP_UID" "$dir/node.password" "$dir/send.password"
  chmod 0400 "$dir/node.password" "$dir/send.password"
  printf '%s:%s\nsend@%s:%s\n' "$name" "$node_password" "$name" "$send_password" >> "$plain"
  log "$name: accounts $name and send@$name"
done
# Members of a device run as a cluster (CLUSTER_MEMBERS: "NAME:N ..."): accounts member<i>@NAME (the
# member's node; one session per account) and send<i>@NAME (its tools send and local API), passwords
# member<i>.password and send<i>.password on the device's volume. The ACL (acl) lets member<i>@NAME
# read NAME's topic.
for cluster in ${CLUSTER_MEMBERS:-}; do
  name=${cluster%%:*}
  members=${cluster#*:}
  dir=/devices/${name%%.*}
  [ -d "$dir" ] || { log "$name: no volume mounted at $dir"; exit 1; }
  i=1
  while [ "$i" -le "$members" ]; do
    member_password=$(password "$dir/member$i.password")
    send_password=$(password "$dir/send$i.password")
    chown "$APP_UID:$APP_UID" "$dir/member$i.password" "$dir/send$i.password"
    chmod 0400 "$dir/member$i.password" "$dir/send$i.password"
    printf 'member%s@%s:%s\nsend%s@%s:%s\n' "$i" "$name" "$member_password" "$i" "$name" "$send_password" >> "$plain"
    i=$((i + 1))
  done
  log "$name: $members cluster members: accounts member1..$members@$name and send1..$members@$name"
done
health_password=$(password "$ACCOUNTS/healthcheck.password")
printf 'healthcheck:%s\n' "$health_password" >> "$plain"
# Hash the plain file in place (-U), then put it where mosquitto reads it, in one rename.
mosquitto_passwd -U "$plain"
chown mosquitto:mosquitto "$plain" "$ACCOUNTS/healthcheck.password"
mv "$plain" "$ACCOUNTS/passwords"
log "broker accounts ready: $DEVICES"
