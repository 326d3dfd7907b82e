// Issue 3 end to end through `meshbox apply`: a Deployment with readiness probes behind a Service
// rolls out under steady load (>= 200 requests per second through the ClusterIP) with zero failed
// requests; a NetworkPolicy allowing only app=frontend blocks another pod and lets frontend through,
// and removing it opens the path again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meshboxForThisFile } from './helpers/meshbox-harness.js';
import type { Pod } from '../../src/api/types.js';

const h = meshboxForThisFile();

function deployment(version: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 3
  selector: { matchLabels: { app: web } }
  strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }
  template:
    metadata: { labels: { app: web } }
    spec:
      terminationGracePeriodSeconds: 10
      containers:
        - name: web
          image: host
          env: [{ name: VERSION, value: "${version}" }]
          command: ["node", "-e", "const s=require('http').createServer((q,r)=>r.end(process.env.VERSION)).listen(8080);process.on('SIGTERM',()=>{s.close();setTimeout(()=>process.exit(0),500)})"]
          ports: [{ name: http, containerPort: 8080 }]
          readinessProbe: { httpGet: { path: /, port: http }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
`;
}

async function deploymentAvailable(version: string): Promise<void> {
  await h.eventually(`deployment ${version} rolled out`, async () => {
    const r = await h.cli(['rollout', 'status', 'deployment/web', '--timeout', '1s']);
    return r.code === 0 && /successfully rolled out/.test(r.stdout);
  }, 120_000);
}

test('a rolling update under >= 200 requests per second through the ClusterIP fails no request', { timeout: 300_000 }, async () => {
  await h.apply(deployment('v1'));
  await h.apply(`apiVersion: v1
kind: Pod
metadata: { name: loadgen, labels: { app: loadgen } }
spec:
  containers: [{ name: c, image: host, command: ["sleep", "3600"] }]
`);
  await deploymentAvailable('v1');
  await h.waitReady('loadgen');
  // a bounded load loop inside the client pod: 20 concurrent requests, a new connection each (so
  // every one is balanced anew), for at most 40 s
  const loop = `
    const http = require('http'); const fs = require('fs');
    const end = Date.now() + 40000; let ok = 0, failed = 0; const seen = {}; const errors = {};
    const get = () => new Promise((resolve) => {
      http.get({ host: 'web', port: 80, path: '/', agent: false }, (res) => {
        let body = ''; res.on('data', (d) => (body += d)); res.on('end', () => resolve(res.statusCode === 200 ? body : 'status ' + res.statusCode));
      }).on('error', (e) => resolve(new Error(e.code || e.message)));
    });
    async function worker() { while (Date.now() < end && !fs.existsSync('/tmp/stop')) {
      const r = await get(); if (r instanceof Error) { failed++; errors[r.message] = (errors[r.message] || 0) + 1; } else if (r.startsWith('status')) { failed++; errors[r] = (errors[r] || 0) + 1; } else { ok++; seen[r] = (seen[r] || 0) + 1; } } }
    const started = Date.now();
    Promise.all(Array.from({ length: 20 }, worker)).then(() => process.stdout.write(JSON.stringify({ ok, failed, seen, errors, seconds: (Date.now() - started) / 1000 })));`;
  const load = h.cli(['exec', 'loadgen', '--', 'node', '-e', loop]);
  await new Promise((r) => setTimeout(r, 3000));
  await h.apply(deployment('v2'));
  await deploymentAvailable('v2');
  await new Promise((r) => setTimeout(r, 2000));
  await h.cli(['exec', 'loadgen', '--', 'touch', '/tmp/stop']);
  const result = await load;
  assert.equal(result.code, 0, result.stderr);
  const stats = JSON.parse(result.stdout) as { ok: number; failed: number; seen: Record<string, number>; errors: Record<string, number>; seconds: number };
  const rps = stats.ok / stats.seconds;
  assert.equal(stats.failed, 0, `no request failed during the rollout: ${JSON.stringify(stats)}`);
  assert.ok(rps >= 200, `the load was at least 200 requests per second (${rps.toFixed(0)})`);
  assert.ok((stats.seen.v1 ?? 0) > 0 && (stats.seen.v2 ?? 0) > 0, `traffic moved from v1 to v2: ${JSON.stringify(stats.seen)}`);
  const history = await h.cli(['rollout', 'history', 'deployment/web']);
  assert.match(history.stdout, /^1\s/m);
  assert.match(history.stdout, /^2\s/m);
});

test('a NetworkPolicy allowing only app=frontend blocks another pod; removing it opens the path', { timeout: 120_000 }, async () => {
  await h.apply(`apiVersion: v1
kind: Pod
metadata: { name: frontend, labels: { app: frontend } }
spec:
  containers: [{ name: c, image: host, command: ["sleep", "3600"] }]
---
apiVersion: v1
kind: Pod
metadata: { name: other, labels: { app: other } }
spec:
  containers: [{ name: c, image: host, command: ["sleep", "3600"] }]
`);
  await h.waitReady('frontend');
  await h.waitReady('other');
  const backend = (await h.list<Pod>('/api/v1/namespaces/default/pods?labelSelector=app%3Dweb'))[0]!;
  const ip = backend.status!.podIP!;
  const probe = async (pod: string) => {
    const r = await h.cli(['exec', pod, '--', 'node', '-e', `fetch('http://${ip}:8080/',{signal:AbortSignal.timeout(2000)}).then(r=>r.text()).then(t=>process.stdout.write('ok '+t),e=>process.stdout.write('blocked '+(e.cause?.code??e.name)))`]);
    return r.stdout;
  };
  assert.match(await probe('other'), /^ok/, 'before the policy everyone gets through');
  await h.apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: web-from-frontend }
spec:
  podSelector: { matchLabels: { app: web } }
  ingress:
    - from: [{ podSelector: { matchLabels: { app: frontend } } }]
      ports: [{ port: 8080 }]
`);
  await h.eventually('other blocked', async () => (await probe('other')).startsWith('blocked'), 10_000);
  assert.match(await probe('frontend'), /^ok/, 'frontend still gets through');
  assert.match(await probe('other'), /^blocked (ECONNREFUSED|EHOSTUNREACH)/, 'refused quickly, not a hang');
  await h.cli(['delete', 'networkpolicy', 'web-from-frontend']);
  await h.eventually('other allowed again', async () => (await probe('other')).startsWith('ok'), 10_000);
});
