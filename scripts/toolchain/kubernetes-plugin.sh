#!/usr/bin/env bash
# Makes sure the Kubernetes provider plugin (pulumi-resource-kubernetes) of the version
# @pulumi/kubernetes is pinned to is installed in $PULUMI_HOME/plugins. Preference: already
# installed > the official release tarball > a build from the Go module proxy.
# Why build: the machines we test on reach package registries only (no get.pulumi.com).
# The provider module cannot be `go install`ed: its go.mod replaces sdk/v4 => ../sdk and its
# main package //go:embeds files generated at build time. So a throwaway wrapper module
# requires it from a writable copy (with the embed files written) and pins sdk/v4 to the
# release. The binary is cached in $MODELPLANE_CACHE/toolchain/pulumi-kubernetes-<v>/bin.
set -euo pipefail
. "$(dirname "$0")/../env.sh"

VERSION=${PULUMI_KUBERNETES_VERSION:-4.25.0}
# The proxy serves the provider module (github.com/pulumi/pulumi-kubernetes/provider/v4) only
# as pseudo-versions of release commits (the repo tags v4.x.y, not provider/v4.x.y).
case "$VERSION" in
  4.25.0) DEFAULT_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199 ;; # commit of tag v4.25.0
  *) DEFAULT_MODULE_VERSION= ;;
esac
MODULE_VERSION=${PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION:-$DEFAULT_MODULE_VERSION}
PROVIDER=github.com/pulumi/pulumi-kubernetes/provider/v4
SDK=github.com/pulumi/pulumi-kubernetes/sdk/v4
NAME=pulumi-resource-kubernetes
OUT_DIR=$MODELPLANE_CACHE/toolchain/pulumi-kubernetes-$VERSION/bin
OUT=$OUT_DIR/$NAME
WORK=$MODELPLANE_CACHE/go-build/kubernetes-$VERSION
PLUGIN=$PULUMI_HOME/plugins/resource-kubernetes-v$VERSION
die() { echo "error: $*" >&2; exit 1; }

command -v pulumi >/dev/null || die "no pulumi CLI on PATH (run scripts/toolchain/pulumi.sh first)"
installed() { [ -x "$PLUGIN/$NAME" ] && [ ! -e "$PLUGIN.partial" ]; }
if installed; then echo "  kubernetes plugin v$VERSION: already installed in $PLUGIN"; exit 0; fi

mkdir -p "$OUT_DIR" "$WORK"
exec 9>"$WORK.lock"; flock 9 # two set-ups at once must not share the work dir

# Answers when started: prints its gRPC port on stdout (it needs no engine for that).
smoke() {
  local out pid port=""
  out=$(mktemp); "$1" 127.0.0.1:1 >"$out" 2>/dev/null & pid=$!
  for _ in $(seq 1 100); do port=$(head -n1 "$out" | tr -dc 0-9); [ -n "$port" ] && break; sleep 0.1; done
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$out"
  [ -n "$port" ]
}

download() {
  local arch tgz=$OUT_DIR/.release.tgz
  case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64|arm64) arch=arm64 ;; *) return 1 ;; esac
  curl -fsSL --connect-timeout 5 --max-time 300 \
    "https://get.pulumi.com/releases/plugins/$NAME-v$VERSION-linux-$arch.tar.gz" -o "$tgz" 2>/dev/null \
    && tar -xzf "$tgz" -C "$OUT_DIR" "$NAME" && rm -f "$tgz" || { rm -f "$tgz" "$OUT"; return 1; }
}

build() {
  command -v go >/dev/null || die "no $NAME v$VERSION: no download reachable and no Go toolchain to build it (install Go >= 1.24.7)"
  [ -n "$MODULE_VERSION" ] || die "no known $PROVIDER version for kubernetes v$VERSION; set PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION to the pseudo-version of its release commit"
  export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
  local t0=$SECONDS dir json
  echo "  kubernetes plugin: building v$VERSION from the Go module proxy ($PROVIDER@$MODULE_VERSION; cold: many minutes)..."
  cd "$WORK"
  rm -rf go.mod go.sum provider embedgen
  json=$(go mod download -json "$PROVIDER@$MODULE_VERSION" 2>&1) || true
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")
  [ -n "$dir" ] && [ -f "$dir/go.mod" ] || die "the Go module proxy does not serve $PROVIDER@$MODULE_VERSION ($(sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' <<<"$json" | head -n1)); list what it has: curl -s $(go env GOPROXY | cut -d, -f1)/$PROVIDER/@v/list"
  go mod download "$SDK@v$VERSION" 2>/dev/null || die "the Go module proxy does not serve $SDK@v$VERSION, which the provider needs in place of its ../sdk"

  # Writable copy of the module (the module cache is read-only) plus the files main.go embeds.
  cp -R "$dir" provider && chmod -R u+w provider
  mkdir embedgen
  cat > embedgen/go.mod <<'MOD'
module modelplane.local/build/embedgen

go 1.24
MOD
  cat > embedgen/main.go <<'GO'
// embedgen DIR VERSION NAME...: writes DIR/NAME from DIR/<NAME without "-embed"> as compact
// JSON; in the schema (schema.json) "version" is set to VERSION, as the provider's generate.go does.
// replaces: reads `go mod edit -json` on stdin and prints the non-local replace directives.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

func fail(f string, a ...any) { fmt.Fprintf(os.Stderr, "embedgen: "+f+"\n", a...); os.Exit(1) }

func main() {
	if len(os.Args) > 1 && os.Args[1] == "replaces" {
		var m struct{ Replace []struct{ Old, New struct{ Path, Version string } } }
		if err := json.NewDecoder(os.Stdin).Decode(&m); err != nil {
			fail("%v", err)
		}
		for _, r := range m.Replace {
			if r.New.Version == "" {
				fmt.Printf("local %s %s\n", r.Old.Path, r.New.Path)
			} else {
				fmt.Printf("replace %s => %s %s\n", r.Old.Path, r.New.Path, r.New.Version)
			}
		}
		return
	}
	dir, version := os.Args[1], os.Args[2]
	for _, name := range os.Args[3:] {
		src := strings.Replace(name, "-embed.json", ".json", 1)
		raw, err := os.ReadFile(dir + "/" + src)
		if err != nil {
			fail("%s embeds %s, but the module carries no %s to make it from", dir, name, src)
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(raw, &doc); err != nil {
			fail("%s: %v", src, err)
		}
		if strings.HasPrefix(src, "schema") {
			doc["version"], _ = json.Marshal(version)
		}
		out, err := json.Marshal(doc)
		if err != nil {
			fail("%s: %v", name, err)
		}
		if err := os.WriteFile(dir+"/"+name, out, 0o644); err != nil {
			fail("%v", err)
		}
	}
}
GO
  local cmd=provider/cmd/$NAME embeds missing=()
  embeds=$(sed -n 's#^//go:embed \(.*\)$#\1#p' "$cmd"/*.go)
  for f in $embeds; do [ -e "$cmd/$f" ] || missing+=("$f"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "  kubernetes plugin: writing ${missing[*]} (schema version $VERSION)"
    (cd embedgen && go run . "$WORK/$cmd" "$VERSION" "${missing[@]}")
  fi

  # The wrapper module: provider from the copy, sdk/v4 at the release instead of ../sdk, and
  # the provider's other non-local replaces (a local one cannot be satisfied from the proxy).
  local replaces
  replaces=$(cd provider && go mod edit -json | (cd ../embedgen && go run . replaces))
  if grep -v " $SDK " <<<"$replaces" | grep -q '^local '; then
    die "$PROVIDER@$MODULE_VERSION replaces a module with a local directory the proxy cannot provide: $(grep '^local ' <<<"$replaces" | grep -v " $SDK " | tr '\n' ' ')"
  fi
  {
    printf 'module modelplane.local/build/pulumi-kubernetes\n\ngo 1.24.7\n\n'
    printf 'require (\n\t%s %s\n\t%s v%s\n)\n\n' "$PROVIDER" "$MODULE_VERSION" "$SDK" "$VERSION"
    printf 'replace %s => ./provider\n\nreplace %s => %s v%s\n' "$PROVIDER" "$SDK" "$SDK" "$VERSION"
    grep '^replace ' <<<"$replaces" | grep -v " $SDK " || true
  } > go.mod

  # A private build cache: it grows to ~4.4 GB for this build and is useless once the binary
  # is cached, so it is dropped on success (kept after a failure, to make the retry faster).
  export GOCACHE=$WORK/gocache
  echo "  kubernetes plugin: go build (niced; downloads ~0.8 GB of modules, then compiles for a long while)..."
  # Heartbeat; short sleeps so that no orphaned sleep holds a piped stdout open afterwards.
  (n=0; while sleep 1; do n=$((n + 1)); [ $((n % 120)) -ne 0 ] || echo "  kubernetes plugin: still building ($((SECONDS - t0)) s)"; done) &
  local beat=$!
  local rc=0
  nice -n 10 go build -trimpath \
    -ldflags "-s -w -X $PROVIDER/pkg/version.Version=$VERSION" \
    -o "$OUT.tmp" "$PROVIDER/cmd/$NAME" || rc=$?
  kill "$beat" 2>/dev/null; wait "$beat" 2>/dev/null || true
  [ "$rc" = 0 ] || die "go build of $PROVIDER/cmd/$NAME failed (see above); work dir: $WORK"
  mv "$OUT.tmp" "$OUT"
  # The copy is recreated from the module cache on a rebuild; go.mod/go.sum stay as a record.
  rm -rf provider "$GOCACHE"
  echo "  kubernetes plugin: built in $((SECONDS - t0)) s"
}

if [ -x "$OUT" ]; then
  echo "  kubernetes plugin: using cached $OUT"
elif download; then
  echo "  kubernetes plugin: downloaded release v$VERSION"
else
  build
fi
smoke "$OUT" || die "$OUT does not start (no port printed); delete it to rebuild"
pulumi plugin install resource kubernetes "$VERSION" --file "$OUT" --reinstall >/dev/null \
  || die "pulumi plugin install resource kubernetes $VERSION --file $OUT failed"
installed || die "the plugin did not land in $PLUGIN"
echo "  kubernetes plugin: v$VERSION installed in $PLUGIN"
