#!/usr/bin/env bash
# Makes sure a real Kubernetes node can run here (scripts/kubernetes/node.sh starts it): kubelet
# (built with the control plane by kubernetes-binaries.sh), containerd 2.4.2 with its runc shim and
# ctr, runc 1.5.3 with seccomp, Debian's CNI plugins, and a static pause binary, all cached in
# $MODELPLANE_CACHE/toolchain/kubernetes-<version>/node-bin.
# Why these versions: Debian's containerd 1.6 and runc 1.1 fail every pod sandbox here with an
# opaque "can't get final child's PID from pipe: EOF"; runc 1.5 names the cause (this VM's root
# lacks CAP_SYS_RESOURCE, so the sandbox's oom_score_adj cannot be lowered) and containerd 2's
# restrict_oom_score_adj avoids it (docs/toolchain.md, "Real pods").
set -euo pipefail
. "$(dirname "$0")/../env.sh"

VERSION=${KUBERNETES_VERSION:-v1.37.2}
RUNC_VERSION=${RUNC_VERSION:-v1.5.3}
CONTAINERD_VERSION=${CONTAINERD_VERSION:-v2.4.2}
OUT=$MODELPLANE_CACHE/toolchain/kubernetes-$VERSION/node-bin
die() { echo "error: $*" >&2; exit 1; }
say() { echo "  kubernetes node: $*"; }

# Debian's CNI plugins (bridge, host-local, loopback, portmap); libseccomp for runc's seccomp.
bash "$(dirname "$0")/debian-packages.sh" "a real Kubernetes node (scripts/kubernetes/node.sh)" containernetworking-plugins libseccomp-dev pkg-config gcc libc6-dev
bash "$(dirname "$0")/kubernetes-binaries.sh" # kubelet is built with the control plane

complete() {
  local c
  for c in runc containerd containerd-shim-runc-v2 ctr pause; do [ -x "$OUT/$c" ] || return 1; done
  "$OUT/runc" --version 2>/dev/null | grep -q "^runc version ${RUNC_VERSION#v}" && "$OUT/runc" --version | grep -q libseccomp
}
if complete; then say "runc $RUNC_VERSION, containerd $CONTAINERD_VERSION, pause: already built in $OUT"; exit 0; fi
command -v go >/dev/null || die "no Go toolchain on PATH to build runc and containerd"
mkdir -p "$OUT"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
T0=$SECONDS
if [ ! -x "$OUT/runc" ] || ! "$OUT/runc" --version | grep -q libseccomp; then
  say "go install github.com/opencontainers/runc@$RUNC_VERSION (cgo, seccomp; ~1 min)..."
  # Pods run with the RuntimeDefault seccomp profile: runc without the seccomp tag refuses them.
  (cd / && GOBIN=$OUT CGO_ENABLED=1 nice -n 10 go install -tags seccomp -trimpath "github.com/opencontainers/runc@$RUNC_VERSION") \
    || die "go install of runc $RUNC_VERSION failed (above)"
fi
if [ ! -x "$OUT/containerd" ] || [ ! -x "$OUT/containerd-shim-runc-v2" ] || [ ! -x "$OUT/ctr" ]; then
  say "go install github.com/containerd/containerd/v2 $CONTAINERD_VERSION (containerd, shim, ctr; ~2-4 min)..."
  (cd / && GOBIN=$OUT CGO_ENABLED=1 nice -n 10 go install -trimpath \
    "github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION" \
    "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" \
    "github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD_VERSION") || die "go install of containerd $CONTAINERD_VERSION failed (above)"
fi
if [ ! -x "$OUT/pause" ]; then
  gcc -static -O2 -o "$OUT/pause.tmp" "$MODELPLANE_ROOT/scripts/kubernetes/node/pause.c" || die "gcc could not build the pause binary"
  mv "$OUT/pause.tmp" "$OUT/pause"
fi
complete || die "the node binaries in $OUT are incomplete after the build"
say "runc $RUNC_VERSION, containerd $CONTAINERD_VERSION and pause ready in $OUT ($((SECONDS - T0)) s)"
