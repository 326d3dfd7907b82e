#!/usr/bin/env bash
# meshbox's main job, from a fresh clone: install what is missing, start the daemon, bring up the
# example shop (a frontend calling three backends, one in two versions, with probes, Services and
# cluster DNS) and show it running. examples/hello/run.sh is a smaller example (two pods).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/meshbox.js up --detach
bash examples/shop/run.sh
echo
echo "\$ meshbox get deployments; meshbox get pods -o wide"
node bin/meshbox.js get deployments
echo
node bin/meshbox.js get pods -o wide
echo
echo "Remove everything meshbox made with:  node bin/meshbox.js down"
