#!/usr/bin/env bash
# Stops and disables the system service a Debian package started on install (under systemd only),
# for tools whose own processes the project runs on free 127.0.0.1 ports.
# Usage: no-system-service.sh SERVICE "why (e.g. the tests run their own on 127.0.0.1)"
set -euo pipefail
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl disable --now "$1" >/dev/null 2>&1 && echo "  $1: its system service is disabled ($2)" || true
fi
