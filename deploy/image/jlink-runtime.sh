#!/usr/bin/env bash
# jlink-runtime.sh DIR [--cds]: a Java runtime with only the modules the node needs, for measuring
# against the full JRE (README, "Running on Raspberry Pis"); not used by the images or the .deb.
# The modules: what `jdeps --print-module-deps` finds in node.jar, plus the ones loaded as services
# or by name, which jdeps cannot see (jdk.crypto.ec: the SunEC provider; JMX for Pekko).
#   --cds  uncompressed, with a class-data-sharing archive (faster start, less memory, larger)
set -euo pipefail
SCRIPT=jlink-runtime.sh
out=${1:?usage: jlink-runtime.sh DIR [--cds]}
command -v jlink >/dev/null || { echo "$SCRIPT: jlink is missing (a JDK 17: apt-get install openjdk-17-jdk-headless)" >&2; exit 1; }
[ ! -e "$out" ] || { echo "$SCRIPT: $out exists: give a new folder" >&2; exit 1; }
modules=java.base,java.desktop,java.naming,java.net.http,java.prefs,java.sql,jdk.jfr,jdk.unsupported
modules=$modules,jdk.crypto.ec,java.management,jdk.management
options=(--strip-debug --no-man-pages --no-header-files)
if [ "${2:-}" = --cds ]; then options+=(--generate-cds-archive); else options+=(--compress=2); fi
jlink --add-modules "$modules" "${options[@]}" --output "$out"
echo "$SCRIPT: $out ($(du -sh "$out" | cut -f1)); run the node with: JAVA=$out/bin/java bin/danemsg-node"
