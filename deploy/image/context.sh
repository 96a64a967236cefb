#!/usr/bin/env bash
# context.sh DIR: fills DIR with the build context of deploy/image/Dockerfile from this checkout
# (the jars must be built: mvn -B package -DskipTests).
set -euo pipefail
SCRIPT=context.sh
dir=${1:?usage: context.sh DIR}
cd "$(dirname "$0")/../.."
for jar in node/target/node.jar tools/target/tools.jar; do
  [ -f "$jar" ] || { echo "$SCRIPT: $jar is missing: mvn -B package -DskipTests" >&2; exit 1; }
done
rm -rf "$dir" && mkdir -p "$dir/bin" "$dir/image/empty"
cp node/target/node.jar tools/target/tools.jar "$dir/"
cp bin/danemsg-node bin/danemsg-tools "$dir/bin/"
cp deploy/compose/image/healthcheck "$dir/image/healthcheck"
# `tools ...` on the PATH: the compose demo's wrapper (the launcher, with the node's environment; in
# the demo it switches `tools send` to the device's second broker account, SEND_MQTT_USERNAME).
cp deploy/compose/image/tools "$dir/image/tools"
chmod 0755 "$dir/bin/"* "$dir/image/healthcheck" "$dir/image/tools"
