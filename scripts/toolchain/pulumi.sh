#!/usr/bin/env bash
# Makes sure the Pulumi CLI, the Node.js language host and the dynamic-provider shim sit in
# one bin dir ($MODELPLANE_PULUMI_BIN). Preference: already there > an installed pulumi of the
# pinned version > the official release tarball > a build from the Go module proxy.
set -euo pipefail
. "$(dirname "$0")/../env.sh"
BIN=$MODELPLANE_PULUMI_BIN
mkdir -p "$BIN"
have() { [ -x "$BIN/pulumi" ] && [ -x "$BIN/pulumi-language-nodejs" ]; }
if ! have; then
  installed=$(PATH=${PATH//$BIN:/} command -v pulumi || true)
  if [ -n "$installed" ] && [ "$("$installed" version 2>/dev/null)" = "v$PULUMI_VERSION" ] && [ -x "$(dirname "$installed")/pulumi-language-nodejs" ]; then
    echo "  pulumi: using installed $installed"
    ln -sf "$installed" "$BIN/pulumi"; ln -sf "$(dirname "$installed")/pulumi-language-nodejs" "$BIN/pulumi-language-nodejs"
  elif curl -fsSL --connect-timeout 5 --max-time 120 "https://get.pulumi.com/releases/sdk/pulumi-v$PULUMI_VERSION-linux-x64.tar.gz" -o "$BIN/.release.tgz" 2>/dev/null; then
    echo "  pulumi: downloaded release v$PULUMI_VERSION"
    tar -xzf "$BIN/.release.tgz" -C "$BIN" --strip-components=1 && rm -f "$BIN/.release.tgz"
  else
    rm -f "$BIN/.release.tgz"
    command -v go >/dev/null || { echo "error: no Pulumi CLI, no download, and no Go toolchain to build one; install Go >= 1.25 or Pulumi v$PULUMI_VERSION" >&2; exit 1; }
    echo "  pulumi: no download reachable; building from the Go module proxy"
    bash "$(dirname "$0")/pulumi-cli.sh" "$BIN"
  fi
fi
# The dynamic-provider shim ships in @pulumi/pulumi; next to the CLI the engine uses it as bundled.
SHIM=$MODELPLANE_ROOT/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs
[ -f "$SHIM" ] || { echo "error: $SHIM missing; run npm ci first" >&2; exit 1; }
install -m 0755 "$SHIM" "$BIN/pulumi-resource-pulumi-nodejs"
echo "  pulumi: $("$BIN/pulumi" version) in $BIN"
