#!/usr/bin/env bash
# Sets everything up and runs every test: unit tests (beside the code) and integration tests
# (test/integration: real network namespaces, CNI plugins, runc; needs root). Extra arguments go to
# `node --test` (e.g. --test-name-pattern=...).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Explicit files, not folders: Node 21+ reads `node --test` arguments as glob patterns, so a folder
# matches no test file there. A compiled test whose .ts source is gone (renamed or deleted; tsc does
# not clean dist/) is skipped rather than run stale.
files=()
while IFS= read -r f; do
  src="${f#dist/}"
  [ -f "${src%.js}.ts" ] && files+=("$f")
done < <(find dist/src dist/test -type f -name '*.test.js' | LC_ALL=C sort)
if [ ${#files[@]} -eq 0 ]; then
  echo "meshbox test: no compiled tests under dist/src or dist/test; did the build run?" >&2
  exit 1
fi
# The integration tests create kernel objects; each uses its own names and cleans up after itself.
exec node --test --test-concurrency=2 --test-timeout=600000 "$@" "${files[@]}"
