#!/usr/bin/env bash
# Makes sure a Docker engine answers. Uses the running one; otherwise, on Debian as root,
# installs Debian's docker.io and starts dockerd with settings that work in a VM without
# iptables (containers reach each other on user-defined bridges and loopback-published ports).
set -euo pipefail
if docker info >/dev/null 2>&1; then echo "  docker engine: running ($(docker version -f '{{.Server.Version}}'))"; exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "error: no Docker engine answers and this is not Debian as root; start Docker and rerun" >&2; exit 1
  fi
  bash "$(dirname "$0")/debian-packages.sh" "the Docker engine" docker.io
fi
if [ "$(id -u)" != 0 ]; then echo "error: dockerd is installed but not running; start it (needs root)" >&2; exit 1; fi
# A dockerd killed without cleanup (e.g. at the end of a session) leaves its pid file behind.
if ! pgrep -x dockerd >/dev/null; then rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid; fi
LOG=${MODELPLANE_CACHE:-$HOME/.cache/modelplane}/dockerd.log
mkdir -p "$(dirname "$LOG")"
echo "  starting dockerd (log: $LOG)..."
nohup setsid dockerd --storage-driver=overlay2 --iptables=false --ip-masq=false >"$LOG" 2>&1 </dev/null &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then echo "  docker engine: started ($(docker version -f '{{.Server.Version}}'))"; exit 0; fi
  sleep 1
done
echo "error: dockerd did not answer within 60 s; last log lines:" >&2; tail -n 20 "$LOG" >&2; exit 1
