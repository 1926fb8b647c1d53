#!/usr/bin/env bash
# Builds the Pulumi CLI and the Node.js language host from the Go module proxy when no
# usable binary is installed. The result lands in $1 (a bin dir) and is reused next time.
# Why build: the machines we test on reach package registries only (no get.pulumi.com).
set -euo pipefail
BIN_DIR=${1:?usage: pulumi-cli.sh BIN_DIR}
VERSION=${PULUMI_VERSION:?PULUMI_VERSION must be set (see scripts/toolchain/versions.env)}
# The language host left the sdk/v3 module in mid-2023 and its own module is not served by
# the proxy; sdk/v3@LANGHOST_SDK_VERSION still carries it as a package (see docs/toolchain.md).
LANGHOST_SDK=${PULUMI_LANGHOST_SDK_VERSION:?}
WORK=${MODELPLANE_CACHE:-$HOME/.cache/modelplane}/go-build/pulumi-$VERSION
mkdir -p "$BIN_DIR" "$WORK/cli" "$WORK/langhost"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0

if [ ! -x "$BIN_DIR/pulumi" ]; then
  echo "  building pulumi v$VERSION from the Go module proxy (cold: several minutes)..."
  cd "$WORK/cli"
  cat > go.mod <<MOD
module modelplane.local/build/pulumi-cli

go 1.25

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
  go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$VERSION" "github.com/pulumi/pulumi/sdk/v3@v$VERSION" >/dev/null
  go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$VERSION" \
    -o "$BIN_DIR/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  mv "$BIN_DIR/pulumi.tmp" "$BIN_DIR/pulumi"
fi

if [ ! -x "$BIN_DIR/pulumi-language-nodejs" ]; then
  echo "  building pulumi-language-nodejs (sdk v$LANGHOST_SDK) from the Go module proxy..."
  cd "$WORK/langhost"
  cat > go.mod <<MOD
module modelplane.local/build/pulumi-langhost

go 1.25
MOD
  go get "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs@v$LANGHOST_SDK" >/dev/null
  go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$LANGHOST_SDK" \
    -o "$BIN_DIR/pulumi-language-nodejs.tmp" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
  mv "$BIN_DIR/pulumi-language-nodejs.tmp" "$BIN_DIR/pulumi-language-nodejs"
fi
