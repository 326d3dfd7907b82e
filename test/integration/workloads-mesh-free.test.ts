// Issue 3 end to end through `meshbox apply`: a Deployment with readiness probes behind a Service
// rolls out under steady load (>= 200 requests per second through the ClusterIP) with zero failed
// requests, with the load running from before the update until after it finished; a NetworkPolicy
// allowing only app=frontend blocks another pod and lets frontend through, and removing it opens the
// path again; `meshbox delete deployment` then leaves nothing of its pods on the machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meshboxForThisFile, sleep } from './helpers/meshbox-harness.js';
import { footprintLeft, podFootprint } from './helpers/pod-footprint.js';
import type { Pod } from '../../src/api/types.js';
import type { EndpointSlice, Endpoints } from '../../src/controllers/services/service-types.js';

const h = meshboxForThisFile();
// the load loop's bounds: far beyond a normal rollout, so reaching one fails the test
const LOAD_MAX_MS = 150_000;
const LOAD_MAX_REQUESTS = 200_000;

interface LoadStats {
  ok: number;
  failed: number;
  seen: Record<string, number>;
  errors: Record<string, number>;
  stoppedBy: 'stop-file' | 'time' | 'count';
  /** epoch ms: the pod shares the host's clock */
  started: number;
  lastOk: number;
  ended: number;
}

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

/** Every address (ready or not) in the Service's Endpoints and in its EndpointSlices, sorted. */
async function serviceAddresses(service: string): Promise<{ endpoints: string[]; slices: string[] }> {
  const ep = await h.client.get<Endpoints>(`/api/v1/namespaces/default/endpoints/${service}`);
  const slices = await h.list<EndpointSlice>(`/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3D${service}`);
  return {
    endpoints: (ep.subsets ?? []).flatMap((sub) => [...(sub.addresses ?? []), ...(sub.notReadyAddresses ?? [])].map((a) => a.ip)).sort(),
    slices: slices.flatMap((sl) => (sl.endpoints ?? []).flatMap((e) => e.addresses)).sort(),
  };
}

async function deploymentAvailable(version: string): Promise<void> {
  await h.eventually(`deployment ${version} rolled out`, async () => {
    const r = await h.cli(['rollout', 'status', 'deployment/web', '--timeout', '1s']);
    return r.code === 0 && /successfully rolled out/.test(r.stdout);
  }, 120_000);
}

test('a rolling update under >= 200 requests per second through the ClusterIP fails no request', { timeout: 300_000 }, async (t) => {
  await h.apply(deployment('v1'));
  await h.apply(`apiVersion: v1
kind: Pod
metadata: { name: loadgen, labels: { app: loadgen } }
spec:
  containers: [{ name: c, image: host, command: ["sleep", "3600"] }]
`);
  await deploymentAvailable('v1');
  await h.waitReady('loadgen');
  // a load loop inside the client pod: 20 concurrent requests, a new connection each (so every one
  // is balanced anew), until the test touches /tmp/stop after the rollout; bounded by time and count.
  // The Service name is resolved once: a DNS query per request would measure the resolver, not the
  // ClusterIP path, and halves the rate when other tests share the 2 cores.
  const loop = `
    const http = require('http'); const fs = require('fs');
    require('dns').lookup('web', { family: 4 }, (err, vip) => { if (err) { process.stderr.write('cannot resolve web: ' + err.message); process.exit(3); } run(vip); });
    function run(vip) {
    const started = Date.now(); const end = started + ${LOAD_MAX_MS}; let sent = 0, ok = 0, failed = 0, lastOk = 0, stoppedBy = '';
    const seen = {}; const errors = {};
    const get = () => new Promise((resolve) => {
      http.get({ host: vip, port: 80, path: '/', agent: false, headers: { host: 'web' } }, (res) => {
        let body = ''; res.on('data', (d) => (body += d)); res.on('end', () => resolve(res.statusCode === 200 ? body : 'status ' + res.statusCode));
      }).on('error', (e) => resolve(new Error(e.code || e.message)));
    });
    const stop = () => (stoppedBy ||= fs.existsSync('/tmp/stop') ? 'stop-file' : Date.now() >= end ? 'time' : sent >= ${LOAD_MAX_REQUESTS} ? 'count' : '');
    async function worker() { while (!stop()) {
      sent++; const r = await get();
      if (r instanceof Error) { failed++; errors[r.message] = (errors[r.message] || 0) + 1; } else if (r.startsWith('status')) { failed++; errors[r] = (errors[r] || 0) + 1; } else { ok++; lastOk = Date.now(); seen[r] = (seen[r] || 0) + 1; } } }
    Promise.all(Array.from({ length: 20 }, worker)).then(() => process.stdout.write(JSON.stringify({ ok, failed, seen, errors, stoppedBy, started, lastOk, ended: Date.now() })));
    }`;
  const load = h.cli(['exec', 'loadgen', '--', 'node', '-e', loop]);
  await sleep(3000);
  const updateAt = Date.now();
  await h.apply(deployment('v2'));
  await deploymentAvailable('v2');
  const rolledOutAt = Date.now();
  await sleep(2000);
  await h.cli(['exec', 'loadgen', '--', 'touch', '/tmp/stop']);
  const result = await load;
  assert.equal(result.code, 0, result.stderr);
  const stats = JSON.parse(result.stdout) as LoadStats;
  const rps = stats.ok / ((stats.ended - stats.started) / 1000);
  t.diagnostic(`load: ${rps.toFixed(0)} req/s, ${JSON.stringify(stats)}; rollout done ${rolledOutAt - updateAt} ms after the update`);
  assert.equal(stats.failed, 0, `no request failed during the rollout: ${JSON.stringify(stats)}`);
  assert.ok(rps >= 200, `the load was at least 200 requests per second (${rps.toFixed(0)})`);
  // the load covered the whole rollout: running before the update, still answered after it finished
  assert.equal(stats.stoppedBy, 'stop-file', `the load ran until told to stop, not into its bounds: ${JSON.stringify(stats)}`);
  assert.ok(stats.started < updateAt, 'the load started before the update');
  assert.ok(stats.lastOk > rolledOutAt, `requests still succeeded after the rollout finished (last ${stats.lastOk - rolledOutAt} ms after)`);
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

test('deleting the Deployment leaves no pod, IP lease, netns, veth, cgroup, rule or endpoint behind', { timeout: 120_000 }, async () => {
  const pods = (await h.list<Pod>('/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).filter((p) => !p.metadata.deletionTimestamp);
  assert.equal(pods.length, 3);
  const footprints = await Promise.all(pods.map((p) => podFootprint(h, p)));
  const ips = footprints.map((f) => f.ip).sort();
  assert.deepEqual(await serviceAddresses('web'), { endpoints: ips, slices: ips }, 'the Service lists the pods before the delete');
  for (const f of footprints) h.knownPodUids.add(f.uid);
  // the same check while the pods run must find every piece (the Service's DNAT rules name each pod
  // IP), or its empty answer after the delete would prove nothing
  const present = await footprintLeft(h, footprints);
  for (const f of footprints) {
    for (const piece of ['IP lease', 'netns', 'veth', 'cgroup', 'iptables']) {
      assert.ok(present.some((l) => l.startsWith(`${f.name}: ${piece} `)), `${piece} of running pod ${f.name} found:\n${present.join('\n')}`);
    }
  }

  const del = await h.cli(['delete', 'deployment', 'web']);
  assert.equal(del.code, 0, del.stderr);
  await h.eventually('the Deployment, its ReplicaSets and pods gone', async () => {
    const left = [
      ...(await h.list('/apis/apps/v1/namespaces/default/deployments')),
      ...(await h.list('/apis/apps/v1/namespaces/default/replicasets')),
      ...(await h.list('/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')),
    ];
    return left.length === 0;
  }, 60_000);

  assert.deepEqual(await footprintLeft(h, footprints), [], 'nothing of the deleted pods is left on the machine');
  assert.deepEqual(await serviceAddresses('web'), { endpoints: [], slices: [] }, 'the Service has no endpoint left');
});
