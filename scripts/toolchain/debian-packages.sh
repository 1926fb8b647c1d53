#!/usr/bin/env bash
# Installs the named Debian packages when missing (as root, from Debian's apt sources), printing each
# one's version. Usage: debian-packages.sh "what needs them" PACKAGE...
set -euo pipefail
purpose=$1
shift
missing=()
for p in "$@"; do
  if dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    echo "  $p: installed ($(dpkg-query -W -f '${Version}' "$p"))"
  else missing+=("$p"); fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "error: missing Debian packages ${missing[*]}, needed by $purpose; install them as root (apt-get install ${missing[*]}) and rerun" >&2; exit 1
fi
echo "  installing ${missing[*]} from Debian's packages..."
# apt's chatter (debconf, needrestart) goes to a log, shown only when the install fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && NEEDRESTART_SUSPEND=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "error: apt-get could not install ${missing[*]} (output above)" >&2
  exit 1
fi
for p in "${missing[@]}"; do echo "  $p: installed ($(dpkg-query -W -f '${Version}' "$p"))"; done
