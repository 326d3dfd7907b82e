// Automatic sidecars with real pods: what injection writes into pods, the capture rules in the pod's
// netns, and a call by service name that passes through both sidecars (both report it).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../src/api/types.js';
import { run } from '../../src/core/exec.js';
import { meshboxForThisFile } from './helpers/meshbox-harness.js';
import { podReady } from './helpers/pod-waits.js';

const h = meshboxForThisFile({ mesh: true });

const APP = `
apiVersion: v1
kind: ConfigMap
metadata: { name: web }
data:
  server.js: |
    require('node:http').createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ pod: require('node:os').hostname(), headers: req.headers }));
    }).listen(8080);
    process.on('SIGTERM', () => process.exit(0));
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web, version: v1 } }
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: web
          image: host
          command: ["node", "/app/server.js"]
          ports: [{ name: http, containerPort: 8080 }]
          readinessProbe: { httpGet: { path: /ready, port: http }, periodSeconds: 1 }
          livenessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 }
          volumeMounts: [{ name: app, mountPath: /app }]
      volumes: [{ name: app, configMap: { name: web } }]
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Pod
metadata: { name: client, labels: { app: client } }
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - { name: client, image: host, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"] }
---
apiVersion: v1
kind: Pod
metadata: { name: plain, labels: { app: plain }, annotations: { sidecar.istio.io/inject: "false" } }
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - { name: plain, image: host, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"] }
`;

async function readyPod(prefix: string): Promise<Pod> {
  return h.eventually(`${prefix} Ready`, async () => {
    const pods = await h.list<Pod>('/api/v1/namespaces/default/pods');
    const p = pods.find((x) => x.metadata.name.startsWith(prefix));
    return p && podReady(p) ? p : undefined;
  }, 90_000);
}

async function metrics(pod: Pod): Promise<string[]> {
  const res = await fetch(`http://${pod.status!.podIP}:15090/stats/prometheus`);
  return (await res.text()).split('\n').filter((l) => l.startsWith('istio_requests_total{'));
}

function count(lines: string[], labels: Record<string, string>): number {
  let n = 0;
  for (const l of lines) if (Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`))) n += Number(l.split(' ').at(-1));
  return n;
}

describe('automatic sidecars', () => {
  it('injects a native sidecar unless the pod opts out, and captures traffic in the pod netns', async () => {
    await h.apply(APP);
    const client = await readyPod('client');
    const plain = await readyPod('plain');
    const sidecar = client.spec.initContainers?.find((c) => c.name === 'istio-proxy');
    assert.ok(sidecar, 'client has the istio-proxy sidecar');
    assert.equal(sidecar.restartPolicy, 'Always');
    assert.ok(client.metadata.annotations?.['sidecar.istio.io/status']);
    assert.equal(plain.spec.initContainers, undefined, 'the opted-out pod has no sidecar');
    assert.match((await h.cli(['get', 'pod', 'client'])).stdout, /client\s+2\/2\s+Running/);

    const nat = (await run('ip', ['netns', 'exec', `mbx-${client.metadata.uid}`, 'iptables-save', '-t', 'nat'])).stdout;
    assert.match(nat, /-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001/);
    assert.match(nat, /-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN/);
    const plainNat = (await run('ip', ['netns', 'exec', `mbx-${plain.metadata.uid}`, 'iptables-save', '-t', 'nat'])).stdout;
    assert.doesNotMatch(plainNat, /ISTIO_/, 'no capture without a sidecar');
  });

  it('re-applying the manifest of an injected pod keeps its sidecar', async () => {
    const before = await readyPod('client');
    await h.apply(APP);
    const after = (await h.pod('client'))!;
    assert.equal(after.metadata.uid, before.metadata.uid);
    assert.deepEqual(after.spec.initContainers?.map((c) => c.name), ['istio-proxy']);
    assert.ok(after.metadata.annotations?.['sidecar.istio.io/status']);
    assert.match((await h.cli(['get', 'pod', 'client'])).stdout, /client\s+2\/2\s+Running/);
  });

  it('refuses a pod with a bad capture annotation, creating nothing', async () => {
    const r = await h.cli(['apply', '-f', '-'], `
apiVersion: v1
kind: Pod
metadata: { name: bad-capture, annotations: { traffic.sidecar.istio.io/excludeInboundPorts: "http" } }
spec:
  containers: [{ name: c, image: host, command: ["sleep", "1"] }]
`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /excludeInboundPorts.*"http" is not a port number/);
    assert.equal(await h.pod('bad-capture'), undefined);
  });

  it('a call by service name passes through both sidecars, and both report it', async () => {
    const client = await readyPod('client');
    const web = await readyPod('web-');
    const r = await h.cli(['exec', 'client', '--', 'curl', '-s', '-m', '5', 'http://web/hello']);
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout) as { pod: string; headers: Record<string, string> };
    assert.equal(body.pod, web.metadata.name);
    assert.match(body.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/, 'the client sidecar added x-request-id');
    assert.equal(body.headers['x-meshbox-peer'], undefined, 'the server sidecar removed the peer header');

    const source = await metrics(client);
    const dest = await metrics(web);
    const who = { destination_service_name: 'web', response_code: '200' };
    assert.equal(count(source, { reporter: 'source', source_workload: 'client', source_app: 'client', ...who }), 1, source.join('\n'));
    assert.equal(count(dest, { reporter: 'destination', source_workload: 'client', destination_workload: 'web', destination_version: 'v1', ...who }), 1, dest.join('\n'));
  });

  it('a pod without a sidecar reaches a meshed service through its ClusterIP, and the server sidecar reports it', async () => {
    const web = await readyPod('web-');
    // the kubelet's probes (every second) go to the sidecar's agent, not through the inbound
    // listener: they would show up in the count below otherwise
    assert.deepEqual(web.spec.containers[0]!.readinessProbe!.httpGet, { path: '/app-health/web/readyz', port: 15020, scheme: 'HTTP' });
    assert.equal(web.spec.containers[0]!.livenessProbe!.httpGet!.path, '/app-health/web/livez');
    const before = count(await metrics(web), { reporter: 'destination', destination_workload: 'web', source_workload: 'unknown' });
    await new Promise((r) => setTimeout(r, 2_500)); // a few probe periods
    const r = await h.cli(['exec', 'plain', '--', 'curl', '-s', '-m', '5', 'http://web.default.svc.cluster.local/']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { pod: string }).pod, web.metadata.name);
    const after = count(await metrics(web), { reporter: 'destination', destination_workload: 'web', source_workload: 'unknown' });
    assert.equal(after, before + 1);
  });
});
