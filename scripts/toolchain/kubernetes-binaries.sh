#!/usr/bin/env bash
# Makes sure a Kubernetes control plane that runs on loopback is available (scripts/kubernetes/
# cluster.sh starts it): kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, the
# kubelet and kube-proxy of a real node (scripts/kubernetes/node.sh), all v1.37.2, and kwok v0.8.0
# (fake nodes) in $MODELPLANE_CACHE/toolchain/kubernetes-v1.37.2/bin, kwok's stage files next to
# them, and Debian's etcd-server.
# Why build: no cluster image or release binary is reachable here (registries only), and Debian
# has no kube-apiserver. k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces every
# staging module (k8s.io/api, client-go, ...) with ./staging/..., so a throwaway wrapper module
# requires it and points each staging module at its published v0.<minor>.<patch> instead.
set -euo pipefail
. "$(dirname "$0")/../env.sh"

VERSION=${KUBERNETES_VERSION:-v1.37.2}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
case "$VERSION" in v1.*.*) ;; *) echo "error: KUBERNETES_VERSION=$VERSION is not of the form v1.MINOR.PATCH" >&2; exit 1 ;; esac
MINOR=${VERSION#v1.}; MINOR=${MINOR%%.*}
STAGING_VERSION=v0.${VERSION#v1.} # k8s.io/api etc. are tagged v0.37.2 for v1.37.2
CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)
TOOL_DIR=$MODELPLANE_CACHE/toolchain/kubernetes-$VERSION
OUT_DIR=$TOOL_DIR/bin
STAGES=$TOOL_DIR/kwok-stages
WORK=$MODELPLANE_CACHE/go-build/kubernetes-$VERSION
die() { echo "error: $*" >&2; exit 1; }

# etcd is the API server's store; Debian's 3.4 works with 1.37.
bash "$(dirname "$0")/debian-packages.sh" "the Kubernetes control plane (scripts/kubernetes/cluster.sh)" etcd-server
# Under systemd the package starts etcd on :2379; cluster.sh runs its own on other ports.
bash "$(dirname "$0")/no-system-service.sh" etcd "scripts/kubernetes/cluster.sh runs its own on 127.0.0.1"

complete() {
  local c
  for c in "${CMDS[@]}" kwok; do [ -x "$OUT_DIR/$c" ] || return 1; done
  [ -s "$STAGES/stages.yaml" ]
}
if complete; then echo "  kubernetes $VERSION + kwok $KWOK_VERSION: already built in $OUT_DIR"; exit 0; fi

command -v go >/dev/null || die "no Go toolchain on PATH to build Kubernetes $VERSION (install Go >= 1.26.0)"
mkdir -p "$OUT_DIR" "$WORK"
exec 9>"$WORK.lock"; flock 9 # two set-ups at once must not share the work dir
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
# A private build cache: it grows to ~4.4 GB and is useless once the binaries are cached, so it
# is dropped on success (kept after a failure, to make the retry faster).
export GOCACHE=$WORK/gocache
T0=$SECONDS

# Heartbeat while a long command runs; short sleeps so no orphaned sleep holds a piped stdout.
beat() { (n=0; while sleep 1; do n=$((n + 1)); [ $((n % 60)) -ne 0 ] || echo "  kubernetes: still $1 ($n s)"; done) & BEAT=$!; }
unbeat() { kill "$BEAT" 2>/dev/null; wait "$BEAT" 2>/dev/null || true; }

module_dir() { # MODULE@VERSION -> its directory in the module cache (downloading it)
  local json dir
  json=$(go mod download -json "$1" 2>&1) || true
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")
  [ -n "$dir" ] && [ -d "$dir" ] || die "the Go module proxy does not serve $1 ($(sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' <<<"$json" | head -n1))"
  echo "$dir"
}

wrapper_module() {
  cd "$WORK"
  local listed=1 c
  for c in "${CMDS[@]}"; do grep -q "k8s.io/kubernetes/cmd/$c\"" tools.go 2>/dev/null || listed=0; done
  [ "$listed" = 1 ] && [ -s go.sum ] && grep -q "k8s.io/kubernetes $VERSION" go.mod 2>/dev/null && return 0
  echo "  kubernetes: fetching k8s.io/kubernetes@$VERSION from the Go module proxy..."
  local dir staging go_line
  dir=$(module_dir "k8s.io/kubernetes@$VERSION")
  staging=$(sed -n 's#^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/.*#\1#p' "$dir/go.mod" | sort -u)
  [ -n "$staging" ] || die "$dir/go.mod lists no '=> ./staging/' replaces; cannot tell which k8s.io modules to pin to $STAGING_VERSION"
  go_line=$(grep -m1 '^go ' "$dir/go.mod")
  {
    printf 'module modelplane.local/build/kubernetes\n\n%s\n\nrequire k8s.io/kubernetes %s\n\n' "$go_line" "$VERSION"
    for m in $staging; do printf 'replace %s => %s %s\n' "$m" "$m" "$STAGING_VERSION"; done
  } > go.mod
  {
    printf '//go:build tools\n\n// Keeps the commands this module builds in go.mod.\npackage tools\n\nimport (\n'
    for c in "${CMDS[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
    printf ')\n'
  } > tools.go
  echo "  kubernetes: go mod tidy ($(wc -w <<<"$staging") staging modules at $STAGING_VERSION; downloads several hundred MB)..."
  beat "resolving modules"
  local rc=0
  nice -n 10 go mod tidy >tidy.log 2>&1 || rc=$?
  unbeat
  [ "$rc" = 0 ] || { tail -n 20 tidy.log >&2; rm -f go.sum; die "go mod tidy of the wrapper module failed (above; full log $WORK/tidy.log)"; }
}

build_cmd() {
  local c=$1 t=$SECONDS rc=0 v="-X k8s.io/component-base/version.gitVersion=$VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$MINOR -X k8s.io/component-base/version.gitTreeState=clean"
  # Without the stamp the server reports v0.0.0-master and clients fail to parse it.
  v="$v -X k8s.io/client-go/pkg/version.gitVersion=$VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$MINOR -X k8s.io/client-go/pkg/version.gitTreeState=clean"
  echo "  kubernetes: go build $c (niced)..."
  beat "building $c"
  (cd "$WORK" && nice -n 10 go build -trimpath -ldflags "-s -w $v" -o "$OUT_DIR/$c.tmp" "k8s.io/kubernetes/cmd/$c") || rc=$?
  unbeat
  [ "$rc" = 0 ] || die "go build of k8s.io/kubernetes/cmd/$c failed (see above); work dir: $WORK"
  mv "$OUT_DIR/$c.tmp" "$OUT_DIR/$c"
  echo "  kubernetes: $c built in $((SECONDS - t)) s ($(du -m "$OUT_DIR/$c" | cut -f1) MB)"
}

build_kwok() {
  local t=$SECONDS rc=0
  echo "  kwok: go install sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION (niced)..."
  beat "building kwok"
  # Outside the wrapper module: kwok has its own dependency versions.
  (cd / && GOBIN=$OUT_DIR.kwok nice -n 10 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION") || rc=$?
  unbeat
  [ "$rc" = 0 ] || die "go install sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION failed (see above)"
  mv "$OUT_DIR.kwok/kwok" "$OUT_DIR/kwok" && rmdir "$OUT_DIR.kwok"
  echo "  kwok: built in $((SECONDS - t)) s"
}

# kwok does nothing without stages ("no stages found"): the module's own node and pod stages,
# joined into one multi-document file for `kwok --config`.
kwok_stages() {
  local dir f n=0
  dir=$(module_dir "sigs.k8s.io/kwok@$KWOK_VERSION")
  [ -d "$dir/kustomize/stage" ] || die "sigs.k8s.io/kwok@$KWOK_VERSION has no kustomize/stage/ folder"
  rm -rf "$STAGES.tmp"; mkdir -p "$STAGES.tmp"
  cp -R "$dir/kustomize/stage/." "$STAGES.tmp/" && chmod -R u+w "$STAGES.tmp"
  # kwokctl's default set: node initialize, node heartbeat with a lease (kwok renews one per
  # node, so the node lifecycle controller keeps it Ready) and the fast pod lifecycle.
  for f in "$STAGES.tmp"/node/fast/*.yaml "$STAGES.tmp"/node/heartbeat-with-lease/*.yaml "$STAGES.tmp"/pod/fast/*.yaml; do
    [ -f "$f" ] || continue
    case "$(basename "$f")" in kustomization.yaml) continue ;; esac
    { echo "---"; cat "$f"; } >> "$STAGES.tmp/stages.yaml"; n=$((n + 1))
  done
  [ "$n" -gt 0 ] || die "no node/fast, node/heartbeat-with-lease or pod/fast stage files in sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage ($(ls "$STAGES.tmp" | tr '\n' ' '))"
  rm -rf "$STAGES" && mv "$STAGES.tmp" "$STAGES"
  echo "  kwok: $n stage files in $STAGES/stages.yaml"
}

echo "  kubernetes: building $VERSION and kwok $KWOK_VERSION into $OUT_DIR (cold: ~15-20 min on 2 cores)"
need_k8s=0
for c in "${CMDS[@]}"; do [ -x "$OUT_DIR/$c" ] || need_k8s=1; done
if [ "$need_k8s" = 1 ]; then
  wrapper_module
  for c in "${CMDS[@]}"; do
    if [ -x "$OUT_DIR/$c" ]; then echo "  kubernetes: $c already built"; else build_cmd "$c"; fi
  done
fi
[ -x "$OUT_DIR/kwok" ] || build_kwok
[ -s "$STAGES/stages.yaml" ] || kwok_stages

got=$("$OUT_DIR/kube-apiserver" --version 2>&1 || true)
[ "$got" = "Kubernetes $VERSION" ] || die "$OUT_DIR/kube-apiserver --version says '$got', not 'Kubernetes $VERSION' (version stamp missing?); delete $OUT_DIR to rebuild"
"$OUT_DIR/kwok" --version >/dev/null 2>&1 || die "$OUT_DIR/kwok does not run; delete it to rebuild"
rm -rf "$GOCACHE"
echo "  kubernetes $VERSION + kwok $KWOK_VERSION: ready in $OUT_DIR ($((SECONDS - T0)) s)"
