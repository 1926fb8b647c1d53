#!/usr/bin/env bash
# Debian packages the integration tests use (not the product): `docker-registry` (distribution
# 2.8.2) gives test/integration/servers/triton-official-image.test.ts a real local registry to
# pull a Triton image from. Installed only when missing; the package's service is not used
# (tests start their own registry process on a free 127.0.0.1 port).
set -euo pipefail
PACKAGES=(docker-registry)
missing=()
for p in "${PACKAGES[@]}"; do
  if dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    echo "  $p: installed ($(dpkg-query -W -f '${Version}' "$p"))"
  else missing+=("$p"); fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "error: missing Debian packages ${missing[*]} (integration tests need them); install them with apt-get as root" >&2; exit 1
fi
echo "  installing ${missing[*]} from Debian's packages..."
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for p in "${missing[@]}"; do echo "  $p: installed ($(dpkg-query -W -f '${Version}' "$p"))"; done
# Under systemd the package enables a registry service on :5000; the tests never use it.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl disable --now docker-registry >/dev/null 2>&1 && echo "  docker-registry: its system service is disabled (tests run their own on 127.0.0.1)" || true
fi
