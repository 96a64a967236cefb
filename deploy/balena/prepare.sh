#!/usr/bin/env bash
# Prepares this folder for `balena push`: Balena uploads only this folder, so the jars (built
# once: they run on every architecture) and the image scripts are copied into build/.
#   ./prepare.sh             build with Maven (mvn -B package -DskipTests), then copy
#   ./prepare.sh --no-build  only copy the jars already in node/target and tools/target
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

if [ "${1:-}" != "--no-build" ]; then
  (cd "$root" && mvn -B -q package -DskipTests)
fi
for jar in "$root/node/target/node.jar" "$root/tools/target/tools.jar"; do
  [ -f "$jar" ] || { echo "prepare.sh: $jar is missing; run without --no-build" >&2; exit 1; }
done

mkdir -p "$here/build"
cp "$root/node/target/node.jar" "$root/tools/target/tools.jar" "$here/build/"
cp "$root/bin/danemsg-node" "$root/bin/danemsg-tools" "$root/deploy/compose/image/tools" "$root/deploy/compose/image/healthcheck" "$here/build/"
echo "prepare.sh: $here/build is ready; now: cd $here && balena push <fleet>"
