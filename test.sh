#!/usr/bin/env bash
# Runs every test of the project, as CI does (.ci/run calls this).
# Installs the servers the tests start (Knot DNS, Mosquitto) when they are missing:
# with apt-get when run as root, otherwise it prints the command to run and stops.
set -euo pipefail
cd "$(dirname "$0")"

packages=(knot knot-dnsutils mosquitto mosquitto-clients)
missing=()
for binary in /usr/sbin/knotd /usr/sbin/knotc /usr/sbin/keymgr /usr/bin/kdig /usr/bin/knsupdate /usr/sbin/mosquitto; do
  [ -x "$binary" ] || missing+=("$binary")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test.sh: installing ${packages[*]} (missing: ${missing[*]})"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
  else
    echo "test.sh: the tests need Knot DNS and Mosquitto (missing: ${missing[*]}). Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${packages[*]}" >&2
    exit 1
  fi
fi
for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "test.sh: $tool is not installed (JDK 17+ and Maven are needed)" >&2; exit 1; }
done

mvn -B verify "$@"

# The node and the tools on emulated arm64 and armhf (qemu-user, Debian's JRE), against real Knot and
# Mosquitto: about 2.5 minutes; DANEMSG_SKIP_ARM=1 skips it (README, "Run the tests").
deploy/test/arm-tier.sh
# The node image for amd64 and arm64 built with podman from a Debian JRE base (no registry needed),
# two containers exchange a message: about 1.5 minutes, 4 the first time; DANEMSG_SKIP_IMAGES=1 skips it.
deploy/test/image-test.sh
# The compose demo itself (deploy/compose/docker-compose.yml: knot, accounts, mosquitto, init, alice, bob,
# carol) with docker-compose against podman's API socket, from images built here; alice's container
# sends to bob (EC) and carol (RSA): about 1.5-3 minutes; DANEMSG_SKIP_COMPOSE=1 skips it.
deploy/test/compose-test.sh
# The .deb (deploy/debian/target, written by mvn package) installed with apt in a Debian chroot, its
# unit's ExecStart run as user danemsg, a message received: about 30 s; DANEMSG_SKIP_DEB=1 skips it.
deploy/test/deb-test.sh
