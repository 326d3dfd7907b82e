#!/usr/bin/env bash
# Installs what meshbox needs on a Debian/Ubuntu machine, idempotently, then builds it.
# Debian packages: only those missing; npm packages: only when the lockfile changed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "meshbox setup: run as root (meshbox creates network namespaces, bridges and containers)" >&2
  exit 1
fi

# Before anything is installed: the test runner's --test-concurrency needs Node.js 20.10 or newer.
if ! command -v node >/dev/null 2>&1; then
  echo "meshbox setup: Node.js 20.10 or newer is required; install it (apt-get install nodejs npm, or from nodejs.org) and run this again" >&2
  exit 1
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 10) ? 0 : 1)'; then
  echo "meshbox setup: Node.js $(node --version) is too old; meshbox needs 20.10 or newer (the test runner's --test-concurrency); upgrade Node.js and run this again" >&2
  exit 1
fi

need=()
have_cni() { [ -x /usr/lib/cni/bridge ] || [ -x /opt/cni/bin/bridge ]; }
have_cni || need+=(containernetworking-plugins)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v nsenter >/dev/null 2>&1 || need+=(util-linux)
# native addons (better-sqlite3, native/original-dst) build with node-gyp
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v python3 >/dev/null 2>&1 || need+=(python3)
for extra in "$@"; do
  case "$extra" in
    --bench) command -v haproxy >/dev/null || need+=(haproxy); command -v nginx >/dev/null || need+=(nginx)
             command -v dnsmasq >/dev/null || need+=(dnsmasq-base) ;;
  esac
done
if [ ${#need[@]} -gt 0 ]; then
  echo "meshbox setup: installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "meshbox setup: installing npm packages"
  # node-gyp builds against the installed Node's own headers rather than downloading them
  if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ] && [ "$(npm config get nodedir)" = "undefined" ]; then
    export npm_config_nodedir=/usr
  fi
  npm ci --no-audit --no-fund --loglevel=error
fi

npm run --silent build
