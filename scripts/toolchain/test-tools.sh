#!/usr/bin/env bash
# Debian packages the integration tests use (not the product): `docker-registry` (distribution
# 2.8.2) gives test/integration/servers/triton-official-image.test.ts a real local registry to
# pull a Triton image from. Installed only when missing; the package's service is not used
# (tests start their own registry process on a free 127.0.0.1 port).
set -euo pipefail
bash "$(dirname "$0")/debian-packages.sh" "integration tests" docker-registry chromium
# Under systemd the package enables a registry service on :5000; the tests never use it.
bash "$(dirname "$0")/no-system-service.sh" docker-registry "the tests run their own on 127.0.0.1"
