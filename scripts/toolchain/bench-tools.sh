#!/usr/bin/env bash
# What `npm run bench` compares against and loads with (not the product): Debian's nginx (the
# proxy_pass baseline) and wrk (the load generator; without it the bench falls back to a Node
# loader, which costs more CPU on the load core). Installed only when missing.
set -euo pipefail
echo "[bench $(date +%T)] tools"
bash "$(dirname "$0")/debian-packages.sh" "the gateway benchmark (npm run bench)" nginx wrk
# Under systemd the package starts nginx on :80; the bench runs its own on free 127.0.0.1 ports.
bash "$(dirname "$0")/no-system-service.sh" nginx "the bench runs its own on 127.0.0.1"
