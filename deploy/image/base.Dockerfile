# The Debian bookworm JRE base for offline builds: a root file system made by build-base.sh from
# Debian's mirror alone (no registry). Build context: the folder holding base.tar.
#   deploy/image/build-base.sh arm64 DIR/base.tar
#   podman build --arch arm64 -f deploy/image/base.Dockerfile -t danemsg-base:bookworm DIR
FROM scratch
ADD base.tar /
ENV LANG=C.UTF-8
CMD ["/bin/bash"]
