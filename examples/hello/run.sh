#!/usr/bin/env bash
# meshbox's main job, from a fresh clone: install what is missing, start the daemon, run the hello
# example (a web pod and a client pod calling it over the bridge by its pod DNS name), and show it.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh
mb() { node bin/meshbox.js "$@"; }

mb up --detach
mb apply -f examples/hello/hello.yaml
echo "waiting for pod web to be Ready ..."
for _ in $(seq 1 100); do
  ip=$(mb get pod web -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const p=JSON.parse(s);const r=(p.status?.conditions??[]).find(c=>c.type==="Ready");process.stdout.write(r?.status==="True"?p.status.podIP:"")})')
  [ -n "$ip" ] && break
  sleep 0.2
done
[ -n "$ip" ] || { echo "pod web did not become Ready:"; mb describe pod web; exit 1; }
web_dns="${ip//./-}.default.pod.cluster.local"

# The client learns the web pod's DNS name from its environment; the manifest comes on stdin.
mb apply -f - <<YAML
apiVersion: v1
kind: Pod
metadata: { name: client, labels: { app: client } }
spec:
  containers:
    - name: client
      image: host
      command: ["node", "/app/client.js"]
      env:
        - { name: WEB_HOST, value: "$web_dns" }
        - name: POD_NAME
          valueFrom: { fieldRef: { fieldPath: metadata.name } }
      volumeMounts: [{ name: app, mountPath: /app, readOnly: true }]
  volumes: [{ name: app, configMap: { name: hello-web } }]
YAML
sleep 5
echo; echo "\$ meshbox get pods -o wide"; mb get pods -o wide
echo; echo "\$ meshbox logs client --tail 3"; mb logs client --tail 3
echo; echo "\$ meshbox exec web -- hostname"; mb exec web -- hostname
echo; echo "\$ curl http://127.0.0.1:18080/from-host   (hostPort through the portmap plugin)"
node -e 'fetch("http://127.0.0.1:18080/from-host").then(r=>r.text()).then(t=>process.stdout.write(t))'
cat <<MSG

The daemon keeps running. Try:  node bin/meshbox.js get pods -w
                                node bin/meshbox.js logs -f client
                                node bin/meshbox.js describe pod web
Remove everything with:         node bin/meshbox.js down
MSG
