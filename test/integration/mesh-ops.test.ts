// Mesh operations end to end, as root with real pods and sidecars (issue 5, "Done when"): scaling a
// backend and a rolling update under steady load through both sidecars fail no request; a config the
// proxy rejects (NACK) leaves it serving its last good config and shows in proxy-status until fixed;
// the sidecars keep serving while the daemon is down and are adopted after it restarts; a Job with a
// sidecar completes, a failing init container fails a restartPolicy Never pod; the ingress gateway
// serves a meshed frontend, whose sidecar reports the gateway's calls as reporter=destination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import type { Pod } from '../../src/api/types.js';
import { meshboxForThisFile, sleep, type MeshboxHarness } from './helpers/meshbox-harness.js';
import { backendYaml, clientPodYaml, docs, meshAppConfigMap, runLoad, serviceYaml, startLoad, type LoadSummary } from './helpers/mesh-fixtures.js';
import { freePort } from './helpers/free-port.js';

const h = meshboxForThisFile({ mesh: true });

interface DeploymentLike {
  metadata: { generation?: number };
  spec: { replicas?: number };
  status?: { replicas?: number; readyReplicas?: number; updatedReplicas?: number; observedGeneration?: number };
}

interface EndpointsLike {
  subsets?: { addresses?: { ip: string }[]; notReadyAddresses?: { ip: string }[] }[];
}

async function readyAddresses(h: MeshboxHarness, service: string): Promise<string[]> {
  try {
    const ep = await h.client.get<EndpointsLike>(`/api/v1/namespaces/default/endpoints/${service}`);
    return (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();
  } catch {
    return [];
  }
}

async function podsOf(h: MeshboxHarness, app: string): Promise<Pod[]> {
  const pods = await h.list<Pod>(`/api/v1/namespaces/default/pods?labelSelector=app%3D${app}`);
  for (const p of pods) if (p.metadata.uid) h.knownPodUids.add(p.metadata.uid);
  return pods;
}

/** Waits until the Deployment runs `replicas` up-to-date ready pods, the Service lists exactly them, and no other pod of it is left. */
async function waitSettled(h: MeshboxHarness, name: string, replicas: number, timeoutMs: number): Promise<void> {
  await h.eventually(`deployment ${name} settled at ${replicas} ready pods`, async () => {
    const d = await h.client.get<DeploymentLike>(`/apis/apps/v1/namespaces/default/deployments/${name}`);
    const s = d.status ?? {};
    if ((s.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) return false;
    if (s.readyReplicas !== replicas || s.updatedReplicas !== replicas || s.replicas !== replicas) return false;
    const pods = await podsOf(h, name);
    if (pods.length !== replicas) return false;
    return (await readyAddresses(h, name)).length === replicas;
  }, timeoutMs);
}

/** Every non-2xx answer or transport error of a load run, readable in an assertion message. */
function failuresOf(s: LoadSummary): string {
  return `${s.n - s.ok} of ${s.n} failed; statuses ${JSON.stringify(s.statuses)}, flags ${JSON.stringify(s.flags)}, errors ${JSON.stringify(s.errors)}; first: ${JSON.stringify(s.failures.slice(0, 5))}`;
}


const RATE = 100;

let base: Promise<void> | undefined;
/** The backend `web` (1 pod) behind Service web, and the client pod, applied once for every test (a Pod is never re-applied: see the report). */
function ensureBase(): Promise<void> {
  base ??= (async () => {
    await h.apply(docs(meshAppConfigMap(), backendYaml({ name: 'web', replicas: 1 }), serviceYaml({ name: 'web' }), clientPodYaml()));
    await h.waitReady('client', 'default', 90_000);
    await waitSettled(h, 'web', 1, 90_000);
  })();
  return base;
}

/**
 * Records the Service's ready addresses every 100 ms while load runs, so a failure can be matched to
 * an endpoints change (when did a pod leave, when did the set go empty).
 */
function recordEndpoints(h: MeshboxHarness, service: string, t0: number): { stop(): string } {
  const changes: string[] = [];
  let last = '';
  let running = true;
  void (async () => {
    while (running) {
      const ips = (await readyAddresses(h, service)).join(',');
      if (ips !== last) changes.push(`${Date.now() - t0}ms [${ips}]`);
      last = ips;
      await sleep(100);
    }
  })();
  return {
    stop() {
      running = false;
      return changes.join(' → ');
    },
  };
}

/** The Unhealthy/Killing events of the file's daemon, for failure messages. */
async function podEvents(h: MeshboxHarness): Promise<string> {
  const r = await h.cli(['get', 'events']);
  return r.stdout.split('\n').filter((l) => /Unhealthy|Killing|BackOff|Failed/.test(l)).slice(-40).join('\n');
}

test('scaling a meshed backend 1 → 5 → 1 and a rolling update under steady load fail no request', { timeout: 240_000 }, async () => {
  await ensureBase();
  const warm = await runLoad(h, 'client', 'http://web/warm', { n: 20, concurrency: 2 });
  assert.equal(warm.ok, 20, `warm-up through both sidecars: ${failuresOf(warm)}`);

  // Scale up and down while ~100 req/s flow; the load runs until both are done (at most RATE * 120 requests).
  const t0 = Date.now();
  const eps = recordEndpoints(h, 'web', t0);
  const scaleLoad = startLoad(h, 'client', 'http://web/scale', { n: RATE * 120, concurrency: 16, rate: RATE });
  await sleep(2_000);
  let r = await h.cli(['scale', 'deployment/web', '--replicas', '5']);
  assert.equal(r.code, 0, r.stderr);
  await waitSettled(h, 'web', 5, 60_000);
  const upAt = Date.now() - t0;
  await sleep(2_000);
  r = await h.cli(['scale', 'deployment/web', '--replicas', '1']);
  assert.equal(r.code, 0, r.stderr);
  await waitSettled(h, 'web', 1, 60_000);
  const downAt = Date.now() - t0;
  await sleep(1_000);
  const scaled = await scaleLoad.stop();
  const scaleEps = eps.stop();
  assert.ok(scaled.n > RATE * 5, `enough load ran: ${scaled.n} requests at ${scaled.rate}/s`);
  if (scaled.ok !== scaled.n) {
    assert.fail(`scale 1 → 5 (ready at ${upAt} ms) → 1 (at ${downAt} ms) under load: ${failuresOf(scaled)}\nendpoints: ${scaleEps}\nevents:\n${await podEvents(h)}`);
  }
  assert.ok(Object.keys(scaled.backends).length >= 5, `the load reached the new pods: ${JSON.stringify(scaled.backends)}`);

  // A rolling update (rollout restart) under the same load: a new pod comes up, the old one goes.
  const before = (await podsOf(h, 'web')).map((p) => p.metadata.name);
  const t1 = Date.now();
  const eps2 = recordEndpoints(h, 'web', t1);
  const rollLoad = startLoad(h, 'client', 'http://web/rollout', { n: RATE * 120, concurrency: 16, rate: RATE });
  await sleep(2_000);
  r = await h.cli(['rollout', 'restart', 'deployment/web']);
  assert.equal(r.code, 0, r.stderr);
  await h.eventually('a new web pod replacing the old one', async () => {
    const now = (await podsOf(h, 'web')).map((p) => p.metadata.name);
    return now.length === 1 && !before.includes(now[0]!);
  }, 60_000);
  await waitSettled(h, 'web', 1, 30_000);
  const rolledAt = Date.now() - t1;
  await sleep(1_000);
  const rolled = await rollLoad.stop();
  const rollEps = eps2.stop();
  if (rolled.ok !== rolled.n) assert.fail(`rollout restart under load (done at ${rolledAt} ms): ${failuresOf(rolled)}\nendpoints: ${rollEps}\nevents:\n${await podEvents(h)}`);
  assert.ok(Object.keys(rolled.backends).length >= 2, `both the old and the new pod answered: ${JSON.stringify(rolled.backends)}`);
});

/** The proxy-status line of a pod's sidecar ("NAME.NS  sidecar  CLUSTERS ..."). */
async function statusLine(h: MeshboxHarness, pod: string): Promise<{ line: string; all: string }> {
  const r = await h.cli(['proxy-status']);
  const line = r.stdout.split('\n').find((l) => l.startsWith(`${pod}.default `)) ?? '';
  return { line, all: r.stdout };
}

function vsYaml(http: unknown[]): string {
  return stringify({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'web' }, spec: { hosts: ['web'], http } });
}

test('a config the proxy rejects is NACKed: the sidecar keeps serving its last good config, proxy-status shows the error, a fix brings SYNCED back', { timeout: 180_000 }, async () => {
  await ensureBase();
  const route = [{ destination: { host: 'web' } }];
  // The good config: /teapot answers 418 from a fault, everything else reaches web.
  await h.apply(vsYaml([{ match: [{ uri: { prefix: '/teapot' } }], fault: { abort: { httpStatus: 418, percentage: { value: 100 } } }, route }, { route }]));
  await h.eventually('client SYNCED with the teapot route', async () => {
    const r = await h.client.get<{ items: { workload: string; synced: boolean; desiredVersion: string }[] }>('/apis/meshbox.dev/v1/proxy-status');
    return r.items.find((x) => x.workload === 'default/client')?.synced === true;
  }, 30_000);
  const good = await runLoad(h, 'client', 'http://web/teapot', { n: 5, concurrency: 1 });
  assert.equal(good.statuses['418'], 5, `the good config's fault route answers: ${failuresOf(good)}`);

  // Accepted at apply (Istio takes any prefix) but the proxy requires a path prefix to start with "/".
  await h.apply(vsYaml([{ match: [{ uri: { prefix: 'api' } }], route }, { route }]));
  const nacked = await h.eventually('client NACKED in proxy-status', async () => {
    const s = await statusLine(h, 'client');
    return /\bNACKED\b/.test(s.line) ? s.all : undefined;
  }, 30_000);
  assert.match(nacked, /^default\/client: version \d+ \(routes\) was rejected: .*a path prefix starts with "\/", got "api"/m, 'proxy-status says which version was rejected and why');
  const json = JSON.parse((await h.cli(['proxy-status', '-o', 'json'])).stdout) as { items: { workload: string; synced: boolean; lastNack?: { error: string } }[] };
  const row = json.items.find((r) => r.workload === 'default/client');
  assert.equal(row?.synced, false);
  assert.match(row?.lastNack?.error ?? '', /prefix/);

  // The last good config keeps serving: /teapot still 418 (the rejected config has no such route), the rest 200.
  const teapot = await runLoad(h, 'client', 'http://web/teapot', { n: 20, concurrency: 2 });
  assert.equal(teapot.statuses['418'], 20, `the old fault route still applies: ${failuresOf(teapot)}`);
  assert.equal(teapot.flags.FI, 20);
  const rest = await runLoad(h, 'client', 'http://web/other', { n: 50, concurrency: 4 });
  assert.equal(rest.ok, 50, `traffic still flows on the last good config: ${failuresOf(rest)}`);

  // The fix: SYNCED again, and the new config (no teapot route) is what runs.
  await h.apply(vsYaml([{ match: [{ uri: { prefix: '/api' } }], route }, { route }]));
  await h.eventually('client SYNCED after the fix', async () => /sidecar\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED/.test((await statusLine(h, 'client')).line), 30_000);
  const fixed = await runLoad(h, 'client', 'http://web/teapot', { n: 20, concurrency: 2 });
  assert.equal(fixed.ok, 20, `the fixed config runs (no fault route any more): ${failuresOf(fixed)}`);
  const del = await h.cli(['delete', 'virtualservice', 'web']);
  assert.equal(del.code, 0, del.stderr);
});

// Runs in a meshed pod as its main container: calls URL at ~RATE/s and prints one JSON line per
// 500 ms with cumulative counts (the log survives the daemon; read it with meshbox logs afterwards).
const PINGER = `
const [url, rate] = process.argv.slice(1);
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
let ok = 0, fail = 0, lastErr = '';
function once() {
  const req = http.get(url, { agent, timeout: 5000 }, (res) => {
    res.resume();
    res.on('end', () => { if (res.statusCode === 200) ok++; else { fail++; lastErr = String(res.statusCode) + ' ' + (res.headers['x-meshbox-error'] || ''); } });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => { fail++; lastErr = e.code || e.message; });
}
setInterval(once, 1000 / Number(rate));
setInterval(() => console.log(JSON.stringify({ t: Date.now(), ok, fail, lastErr })), 500);
process.on('SIGTERM', () => process.exit(0));
`;

interface PingLine {
  t: number;
  ok: number;
  fail: number;
  lastErr: string;
}

async function pingLog(h: MeshboxHarness): Promise<PingLine[]> {
  const r = await h.cli(['logs', 'pinger', '-c', 'pinger']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as PingLine);
}

/** The sidecar container's restart count and container id, to tell adoption from a restart. */
function sidecarOf(p: Pod | undefined): { restarts: number; id: string } {
  const st = p?.status?.initContainerStatuses?.find((s) => s.name === 'istio-proxy');
  const running = st && 'running' in st.state;
  return { restarts: st?.restartCount ?? -1, id: running ? (st as { containerID?: string }).containerID ?? '' : 'not running' };
}

test('the sidecars keep serving while the daemon is killed; the restarted daemon adopts the pods and they show SYNCED again', { timeout: 180_000 }, async () => {
  await ensureBase();
  await h.apply(stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'pinger', labels: { app: 'pinger' } },
    spec: { terminationGracePeriodSeconds: 2, containers: [{ name: 'pinger', image: 'host', command: ['node', '-e', PINGER, 'http://web/ping', '20'] }] },
  }));
  await h.waitReady('pinger', 'default', 90_000);
  await h.eventually('pinger calls succeeding through both sidecars', async () => ((await pingLog(h)).at(-1)?.ok ?? 0) >= 10, 30_000);
  const before = { pinger: sidecarOf(await h.pod('pinger')), web: sidecarOf((await podsOf(h, 'web'))[0]) };

  const webIP = (await readyAddresses(h, 'web'))[0];
  assert.ok(webIP, 'web has an address');
  const killedAt = Date.now();
  await h.killDaemon();
  // From the host too, straight to the web pod: its sidecar's inbound path works without the daemon.
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`http://${webIP}:8080/host-${i}`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200, 'the web sidecar answers the host while the daemon is down');
    assert.equal(((await res.json()) as { url: string }).url, `/host-${i}`);
  }
  await sleep(Math.max(0, 5_000 - (Date.now() - killedAt)));
  await h.start();
  const restartedAt = Date.now();
  const log = await pingLog(h);
  const atKill = log.filter((l) => l.t <= killedAt).at(-1);
  const atRestart = log.filter((l) => l.t <= restartedAt).at(-1);
  assert.ok(atKill && atRestart, `pinger log covers the outage: ${log.length} lines`);
  assert.ok(atRestart.ok - atKill.ok >= 40, `requests kept succeeding while the daemon was down: ${atRestart.ok - atKill.ok} in ${restartedAt - killedAt} ms`);
  assert.equal(atRestart.fail - atKill.fail, 0, `no request failed while the daemon was down (last error: ${atRestart.lastErr})`);

  await h.eventually('client, pinger and web SYNCED with the new daemon', async () => {
    const all = (await h.cli(['proxy-status'])).stdout;
    return ['client', 'pinger', 'web-'].every((p) => new RegExp(`^${p}\\S*\\.default\\s+sidecar\\s+SYNCED\\s+SYNCED\\s+SYNCED\\s+SYNCED`, 'm').test(all));
  }, 60_000);
  const after = { pinger: sidecarOf(await h.pod('pinger')), web: sidecarOf((await podsOf(h, 'web'))[0]) };
  assert.deepEqual(after, before, 'the sidecars were adopted, not restarted (same container ids, same restart counts)');
  await sleep(2_000);
  const end = (await pingLog(h)).at(-1)!;
  assert.equal(end.fail - atKill.fail, 0, `no request failed across the restart either (last error: ${end.lastErr})`);
  assert.ok(end.ok > atRestart.ok, 'and they go on');
  const del = await h.cli(['delete', 'pod', 'pinger', '--grace-period', '0']);
  assert.equal(del.code, 0, del.stderr);
});

test('a Job with a sidecar completes (the sidecar stops after the app); a failing init container fails a restartPolicy Never pod', { timeout: 180_000 }, async () => {
  await ensureBase();
  await h.apply(docs(
    stringify({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'once' },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'call', image: 'host', command: ['node', '-e', "fetch('http://web/job').then(async (r) => { console.log(r.status, r.headers.get('x-backend')); process.exit(r.status === 200 ? 0 : 1); }, (e) => { console.error(e); process.exit(2); })"] }],
          },
        },
      },
    }),
    stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bad-init' },
      spec: {
        restartPolicy: 'Never',
        initContainers: [{ name: 'setup', image: 'host', command: ['sh', '-c', 'echo setup fails; exit 3'] }],
        containers: [{ name: 'app', image: 'host', command: ['sleep', '60'] }],
      },
    }),
  ));
  const job = await h.eventually('Job once Complete', async () => {
    const j = await h.client.get<{ status?: { succeeded?: number; failed?: number; conditions?: { type: string; status: string }[] } }>('/apis/batch/v1/namespaces/default/jobs/once');
    if (j.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True')) throw new Error(`the Job failed: ${JSON.stringify(j.status)}`);
    return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ? j : undefined;
  }, 90_000);
  assert.equal(job.status?.succeeded, 1);
  const [jobPod] = await h.list<Pod>('/api/v1/namespaces/default/pods?labelSelector=job-name%3Donce');
  assert.ok(jobPod, 'the Job pod is kept');
  h.knownPodUids.add(jobPod.metadata.uid!);
  assert.equal(jobPod.status?.phase, 'Succeeded');
  const proxy = jobPod.status?.initContainerStatuses?.find((s) => s.name === 'istio-proxy');
  assert.ok(proxy, 'the Job pod has the sidecar');
  assert.ok('terminated' in proxy.state, `the sidecar terminated: ${JSON.stringify(proxy.state)}`);
  const logs = await h.cli(['logs', jobPod.metadata.name, '-c', 'call']);
  assert.match(logs.stdout, /^200 web-\S+ v1$/m, 'the Job reached web through the mesh');

  const bad = await h.eventually('bad-init Failed', async () => {
    const p = await h.pod('bad-init');
    return p?.status?.phase === 'Failed' ? p : undefined;
  }, 60_000);
  const setup = bad.status?.initContainerStatuses?.find((s) => s.name === 'setup');
  assert.ok(setup && 'terminated' in setup.state && setup.state.terminated.exitCode === 3, `the init container exited 3: ${JSON.stringify(setup)}`);
  const app = bad.status?.containerStatuses?.find((s) => s.name === 'app');
  assert.ok(!app || !('running' in app.state), `the app never ran: ${JSON.stringify(app)}`);
  for (const args of [['delete', 'job', 'once'], ['delete', 'pod', 'bad-init', '--grace-period', '0']]) {
    const r = await h.cli(args);
    assert.equal(r.code, 0, r.stderr);
  }
});

/** istio_requests_total samples of one sidecar (its :15090 is reachable from the host). */
async function requestSamples(podIP: string): Promise<{ labels: string; value: number }[]> {
  const text = await (await fetch(`http://${podIP}:15090/stats/prometheus`, { signal: AbortSignal.timeout(5000) })).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('istio_requests_total{'))
    .map((l) => ({ labels: l.slice(l.indexOf('{'), l.lastIndexOf('}') + 1), value: Number(l.slice(l.lastIndexOf(' ') + 1)) }));
}

test('the ingress gateway serves a meshed frontend on 127.0.0.1; the frontend sidecar reports the calls as reporter=destination', { timeout: 180_000 }, async () => {
  await ensureBase();
  const port = await freePort();
  const selector = `gw-${Math.random().toString(36).slice(2, 8)}`;
  await h.apply(docs(
    backendYaml({ name: 'frontend', replicas: 1 }),
    serviceYaml({ name: 'frontend', port: 8080 }),
    stringify({ apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'edge' }, spec: { selector: { istio: selector }, servers: [{ port: { number: port, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] } }),
    stringify({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'edge' }, spec: { hosts: ['*'], gateways: ['edge'], http: [{ route: [{ destination: { host: 'frontend', port: { number: 8080 } } }] }] } }),
  ));
  await waitSettled(h, 'frontend', 1, 90_000);
  const [fe] = await podsOf(h, 'frontend');
  assert.ok(fe?.status?.podIP);
  assert.ok(fe.spec.initContainers?.some((c) => c.name === 'istio-proxy'), 'the frontend pod has a sidecar');

  await h.eventually(`the gateway answering on 127.0.0.1:${port}`, async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3000) });
    await res.arrayBuffer();
    return res.status === 200;
  }, 60_000);
  let answered = 0;
  for (let i = 0; i < 30; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/shop/${i}`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { pod: string; url: string };
    assert.equal(res.status, 200);
    assert.equal(body.pod, fe.metadata.name, 'the frontend pod answered');
    assert.equal(body.url, `/shop/${i}`);
    answered++;
  }
  assert.equal(answered, 30);

  // The gateway → frontend hop passes the frontend's sidecar, which counts it as reporter=destination.
  const samples = await h.eventually('reporter=destination samples in the frontend sidecar', async () => {
    const s = (await requestSamples(fe.status!.podIP!)).filter((x) => x.labels.includes('reporter="destination"') && x.labels.includes('response_code="200"'));
    return s.reduce((a, x) => a + x.value, 0) >= 30 ? s : undefined;
  }, 20_000);
  const labels = samples.map((x) => x.labels).join('\n');
  assert.match(labels, /destination_workload="frontend"/, labels);
  assert.match(labels, /destination_service="frontend\.default\.svc\.cluster\.local"/, labels);
  const del = await h.cli(['delete', 'gateway', 'edge']);
  assert.equal(del.code, 0, del.stderr);
});
