#!/bin/sh
# Entry point of the danemsg demo servers image (build-servers.sh, servers.Dockerfile), as
# eclipse-mosquitto's: as root, /mosquitto (config, persistence) is given to the mosquitto user
# (mosquitto starts as root and drops to that user); then the arguments run.
set -e
if [ "$(id -u)" = 0 ] && [ -d /mosquitto ]; then
  chown -R mosquitto:mosquitto /mosquitto 2>/dev/null || true
fi
exec "$@"
