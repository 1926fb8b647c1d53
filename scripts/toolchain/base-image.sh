#!/usr/bin/env bash
# Makes sure the base image that templates/ build FROM exists. Users with a registry get the
# real public image (python:3.11-slim-bookworm); machines without one get a Debian bookworm
# root filesystem made with debootstrap and `docker import`ed under the same documented name.
set -euo pipefail
NAME=${MODELPLANE_BASE_IMAGE:-modelplane/base:bookworm}
PUBLIC=${MODELPLANE_PUBLIC_BASE_IMAGE:-python:3.11-slim-bookworm}
if docker image inspect "$NAME" >/dev/null 2>&1; then echo "  base image: $NAME (cached)"; exit 0; fi
if timeout 60 docker pull -q "$PUBLIC" >/dev/null 2>&1; then
  docker tag "$PUBLIC" "$NAME"; echo "  base image: $NAME <- pulled $PUBLIC"; exit 0
fi
echo "  base image: no registry; building $NAME with debootstrap (about 2 minutes)..."
command -v debootstrap >/dev/null || bash "$(dirname "$0")/debian-packages.sh" "building the base image without a registry" debootstrap
MIRROR=${MODELPLANE_DEBIAN_MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
ROOTFS=$(mktemp -d /tmp/modelplane-rootfs.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
debootstrap --variant=minbase \
  --include=python3,python3-venv,python3-pip,ca-certificates,libstdc++6,libgomp1,curl,tini \
  bookworm "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 || { tail -n 20 "$ROOTFS.log" >&2; exit 1; }
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
tar -C "$ROOTFS" -c . | docker import \
  -c 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'CMD ["/bin/bash"]' - "$NAME" >/dev/null
rm -f "$ROOTFS.log"
echo "  base image: $NAME built ($(docker image inspect -f '{{.Size}}' "$NAME" | awk '{printf "%.0f MB", $1/1e6}'))"
