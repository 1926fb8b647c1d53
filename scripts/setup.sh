#!/usr/bin/env bash
# One idempotent set-up for a fresh clone on a fresh machine: npm packages, Pulumi toolchain,
# Docker engine, base image, local Pulumi backend. Each step says what it found or made.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$MODELPLANE_ROOT"
step() { printf '\n[setup %s] %s\n' "$(date +%T)" "$*"; }
step "npm packages"
stamp=node_modules/.modelplane-lock-hash
want=$(sha256sum package-lock.json | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
else echo "  node_modules up to date"; fi
step "Pulumi CLI and language host"
bash scripts/toolchain/pulumi.sh
# The kubernetes target's toolchain: for its users (MODELPLANE_KUBERNETES=1) and the test line.
# Cold it builds for ~45 min on 2 cores (control plane ~25, provider plugin ~25), then it is cached.
if [ "${MODELPLANE_KUBERNETES:-0}" = 1 ] || [ "${MODELPLANE_TEST_TOOLS:-0}" = 1 ]; then
  step "Kubernetes control plane (kube-apiserver, controller manager, scheduler, kubectl, kubelet, kwok, etcd)"
  bash scripts/toolchain/kubernetes-binaries.sh
  step "Kubernetes node (kubelet, containerd 2, runc with seccomp, CNI plugins)"
  bash scripts/toolchain/kubernetes-node.sh
  step "Kubernetes provider plugin"
  bash scripts/toolchain/kubernetes-plugin.sh
fi
step "Docker engine"
bash scripts/toolchain/docker-engine.sh
step "base image"
bash scripts/toolchain/base-image.sh
step "liveness probe"
bash scripts/toolchain/liveness-probe.sh
# Packages only the integration tests use: installed for the test line, not the main job.
if [ "${MODELPLANE_TEST_TOOLS:-0}" = 1 ]; then
  step "test tools (Debian packages)"
  bash scripts/toolchain/test-tools.sh
fi
step "local Pulumi backend"
mkdir -p "$MODELPLANE_STATE/backend"
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ ! -s "$PULUMI_CONFIG_PASSPHRASE_FILE" ]; then
  umask 077; head -c 24 /dev/urandom | base64 > "$PULUMI_CONFIG_PASSPHRASE_FILE"
  echo "  generated a passphrase for local stacks in $PULUMI_CONFIG_PASSPHRASE_FILE"
fi
echo "  backend: $PULUMI_BACKEND_URL"
step "ready"
