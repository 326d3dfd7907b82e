#!/usr/bin/env bash
# Runs the benchmarks of BENCHMARKS.md with the commands recorded there.
#   bash scripts/bench.sh [pods|workloads|services|dns|proxy|controlplane|mesh|all]   (default: all)
# Each takes minutes; run on a quiet machine and record the load average with the numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
case "$which" in pods|workloads|services|dns|proxy|controlplane|mesh|all) ;; *) echo "unknown benchmark: $which (pods|workloads|services|dns|proxy|controlplane|mesh|all)" >&2; exit 2 ;; esac
bash scripts/setup.sh --bench
run() { echo "== $*"; "$@"; }
case "$which" in pods|all) run node dist/bench/pods/pod-start.js --rounds 10 ;; esac
case "$which" in workloads|all) run node dist/bench/workloads/deployment-start.js --rounds 3 ;; esac
case "$which" in services|all) run node dist/bench/services/endpoint-latency.js; run node dist/bench/services/endpoint-e2e.js ;; esac
case "$which" in dns|all) run node dist/bench/dns/dns-qps.js ;; esac
case "$which" in proxy|all) run node dist/bench/proxy/run.js --only meshbox,node-undici,http-proxy,haproxy --conns 50 --bodies 100 --duration 8 --warmup 3 --repeat 3 --soak 60 ;; esac
case "$which" in controlplane|all) run node --expose-gc dist/bench/controlplane/convergence.js ;; esac
case "$which" in mesh|all) run node dist/bench/mesh/sidecar-latency.js; run node dist/bench/mesh/sidecar-footprint.js --pods 5 ;; esac
