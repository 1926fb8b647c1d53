#!/usr/bin/env bash
# Runs node's built-in test runner over the *.test.ts files under the given folders.
# Node 20's --test takes no globs, so the files are listed here. Integration tests share one
# Docker engine and one Pulumi backend, so files run one at a time (--test-concurrency=1).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
mapfile -t files < <(find "$@" -name '*.test.ts' | sort)
if [ ${#files[@]} -eq 0 ]; then echo "error: no test files under $*" >&2; exit 1; fi
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
