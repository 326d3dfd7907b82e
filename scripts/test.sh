#!/usr/bin/env bash
# Sets everything up and runs every test: unit tests (beside the code) and integration tests
# (test/integration: real network namespaces, CNI plugins, runc; needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The integration tests create kernel objects; each uses its own names and cleans up after itself.
exec node --test --test-concurrency=2 --test-timeout=600000 dist/src dist/test "$@"
