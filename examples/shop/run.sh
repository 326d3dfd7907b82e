#!/usr/bin/env bash
# Brings the shop up: starts meshbox if it is not running, applies the services (app.yaml) and the
# mesh config (mesh/), waits until every Deployment is Available, then says where the shop answers
# and how to watch its traffic. Run it again at any time: apply only changes what changed.
set -euo pipefail
cd "$(dirname "$0")/../.."
mb() { node bin/meshbox.js "$@"; }
json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let v=JSON.parse(s);for(const k of process.argv[1].split("."))v=v?.[k];process.stdout.write(typeof v==="string"?v:JSON.stringify(v??""))})' "$1"; }

if ! mb get namespaces >/dev/null 2>&1; then
  bash scripts/setup.sh
  # MESHBOX_UP_ARGS: extra flags for `meshbox up`, e.g. "--bridge mbx1 --pod-cidr 10.245.0.0/16"
  # shellcheck disable=SC2086
  mb up --detach ${MESHBOX_UP_ARGS:-}
fi

mb apply -f examples/shop/app.yaml
# Every shop pod gets a sidecar proxy (injection is on by default); the Istio resources in mesh/ steer
# them: the reviews canary and header route, retries, timeouts, outlier detection, the ingress gateway.
mb apply -f examples/shop/mesh/

echo "waiting for the shop's Deployments to be Available ..."
for d in catalog inventory reviews-v1 reviews-v2 frontend loadgen; do
  for i in $(seq 1 300); do
    ok=$(mb get deployment "$d" -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const c=(JSON.parse(s).status?.conditions??[]).find(c=>c.type==="Available");process.stdout.write(c?.status==="True"?"yes":"")})')
    [ "$ok" = yes ] && break
    [ "$i" = 300 ] && { echo "deployment $d is not Available after 60 s:"; mb describe deployment "$d"; exit 1; }
    sleep 0.2
  done
  echo "  $d Available"
done

frontend_ip=$(mb get service frontend -o json | json_field spec.clusterIP)
if node -e 'fetch("http://127.0.0.1:8080/healthz",{signal:AbortSignal.timeout(1000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))'; then
  url="http://127.0.0.1:8080/"
  how="through the ingress gateway (mesh/gateway.yaml)"
else
  url="http://$frontend_ip:8080/"
  how="at the frontend Service's ClusterIP (the ingress gateway is not serving 127.0.0.1:8080 yet)"
fi
loadgen=$(mb get pods -l app=loadgen -o name | head -1)

cat <<MSG

The shop is up. Open $url  ($how)

  curl -s ${url}api/products/1                       # JSON: which pod and version answered each call
  curl -s -H 'x-user: tester' ${url}api/products/1   # the header route sends "tester" to reviews v2
  node bin/meshbox.js top                            # live requests/s, success rate and latency per service
  node bin/meshbox.js proxy-status                   # every sidecar and the gateway, in sync with the control plane
  node bin/meshbox.js logs -f ${loadgen#pod/}         # the loadgen's report every 10 s
  node bin/meshbox.js get pods -o wide -w            # pods coming and going

More to try (failures, canary, scaling): examples/shop/README.md
Remove the shop: node bin/meshbox.js delete -f examples/shop/mesh/; node bin/meshbox.js delete -f examples/shop/app.yaml
MSG
