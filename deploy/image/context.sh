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
cat > "$dir/image/tools" <<'TOOLS'
#!/bin/sh
# `tools ...` in the danemsg image: the launcher, with the node's environment.
exec /opt/danemsg/bin/danemsg-tools "$@"
TOOLS
chmod 0755 "$dir/bin/"* "$dir/image/healthcheck" "$dir/image/tools"
