#!/usr/bin/env bash
# Builds the liveness probe (tools/liveness-probe, Go standard library only) into the cache as a
# static binary named after a hash of its source; instance containers mount it read-only and the
# Docker engine runs it as their health check (docs/architecture.md "Probes"). The TypeScript side
# (src/providers/docker/probe.ts) computes the same hash: keep the two in step.
set -euo pipefail
SRC=$MODELPLANE_ROOT/tools/liveness-probe
hash=$(cat "$SRC/go.mod" "$SRC/main.go" | sha256sum | cut -c1-16)
OUT=$MODELPLANE_CACHE/tools/modelplane-probe-$hash
if [ -x "$OUT" ]; then echo "  liveness probe: $OUT (cached)"; exit 0; fi
command -v go >/dev/null || { echo "error: Go is needed to build the liveness probe (tools/liveness-probe); install Go (https://go.dev/dl/) and rerun bash scripts/setup.sh" >&2; exit 1; }
echo "  liveness probe: building with $(go version | awk '{print $3}') (static, stdlib only)..."
mkdir -p "$MODELPLANE_CACHE/tools"
tmp=$(mktemp "$MODELPLANE_CACHE/tools/.modelplane-probe.XXXXXX")
trap 'rm -f "$tmp"' EXIT
(cd "$SRC" && CGO_ENABLED=0 GOFLAGS= GOPROXY=off go build -trimpath -ldflags "-s -w" -o "$tmp" .)
chmod 0755 "$tmp"
mv "$tmp" "$OUT"
trap - EXIT
echo "  liveness probe: $OUT built ($(stat -c %s "$OUT" | awk '{printf "%.1f MB", $1/1e6}'))"
