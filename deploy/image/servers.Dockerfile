# The compose demo's servers without a registry: Knot DNS and Mosquitto from Debian bookworm, one
# image for the knot, accounts and mosquitto services (in place of cznic/knot and eclipse-mosquitto:2,
# which the compose file uses unless DANEMSG_KNOT_IMAGE / DANEMSG_MOSQUITTO_IMAGE say otherwise).
# Build context: the folder holding servers.tar (build-servers.sh).
#   deploy/image/build-servers.sh DIR/servers.tar
#   podman build -f deploy/image/servers.Dockerfile -t danemsg-demo-servers:bookworm DIR
# The knot service sets its own entry point (deploy/compose/knot/entrypoint.sh); what follows is
# eclipse-mosquitto's: the broker with /mosquitto/config/mosquitto.conf.
FROM scratch
ADD servers.tar /
ENV LANG=C.UTF-8
ENTRYPOINT ["/docker-entrypoint.sh"]
CMD ["/usr/sbin/mosquitto", "-c", "/mosquitto/config/mosquitto.conf"]
