#!/usr/bin/env bash
# The whole test suite from a fresh clone: set-up (npm ci, toolchain, Docker engine, base image),
# then typecheck, lint, unit tests and integration tests against the real engine and Docker.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$MODELPLANE_ROOT"
MODELPLANE_TEST_TOOLS=1 bash scripts/setup.sh
printf '\n[test %s] npm test\n' "$(date +%T)"
npm test
