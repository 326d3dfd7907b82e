/**
 * The latency the sidecar pair adds to a pod-to-pod call, against the direct call in the same run
 * (Istio 1.20 reports +0.23 ms p90 and +0.30 ms p99 per pair at 1,000 req/s).
 *
 *   npm run build && node dist/bench/mesh/sidecar-latency.js [--rate 1000] [--seconds 5] [--rounds 2] [--conns 32] [--sequential 500] [--wait-load 3]
 *
 * Needs root. Starts its own daemon (sidecar injection on, own bridge and CIDRs, removed at the end)
 * and four pods running the same Node.js server and load client:
 *   - direct: client and server opted out (`sidecar.istio.io/inject: "false"`), called by pod IP;
 *   - mesh:   client and server with sidecars, called by Service name (client sidecar → server sidecar).
 * Each round runs the direct path then the mesh path, each at a fixed rate (open loop: requests are
 * sent on schedule, not when the previous one returns) for `--seconds`; the rounds interleave so
 * machine noise lands on both. Latency is from the moment a request is written to the end of its
 * response, pooled over the rounds; the table gives p50/p90/p99 per path and the difference.
 * Before that, per round and path, `--sequential` requests one at a time on one connection: the
 * latency the pair adds without any queueing, which still means something on a loaded machine.
 * A run where the client could not hold the rate (achieved < 95 % of it, or > 5 % of the sends more
 * than 2 ms late) measures the machine's overload, not the proxies: it is marked INVALID.
 */
import { cpus, loadavg } from 'node:os';
import { stringify } from 'yaml';
import { MeshboxHarness, sleep } from '../../test/integration/helpers/meshbox-harness.js';
import { BACKEND_SERVER, docs } from '../../test/integration/helpers/mesh-fixtures.js';
import type { Pod } from '../../src/api/types.js';
import { arg } from '../numbers.js';

const RATE = arg('rate', 1000);
const SECONDS = arg('seconds', 5);
const ROUNDS = arg('rounds', 2);
const CONNS = arg('conns', 32);
/** wait (at most 10 min) for the 1-minute load average to drop below this before measuring; 0 = do not wait */
const WAIT_LOAD = arg('wait-load', 0);
/** sequential requests per path and round (one connection, one at a time): the pair's latency without queueing */
const SEQUENTIAL = arg('sequential', 500);
const WARMUP_SECONDS = 2;

/**
 * `node /bench/client.mjs URL RATE SECONDS CONNS`: open-loop load at RATE req/s over up to CONNS
 * keep-alive connections; prints {n, ok, errors, lateSends, achievedRate, lat: [latency in µs]}.
 * A send more than 2 ms behind its schedule counts as late (the client could not keep the rate).
 */
const CLIENT = `import http from 'node:http';
const [url, rateA, secA, connsA] = process.argv.slice(2);
if (rateA === 'seq') {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const u = new URL(url);
  const n = Number(secA), lat = [];
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const code = await new Promise((resolve) => {
      const req = http.request({ host: u.hostname, port: u.port || 80, path: u.pathname, agent }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
      req.on('error', () => resolve(0));
      req.end();
    });
    lat.push(Math.round((performance.now() - t0) * 1000));
    if (code === 200) ok++;
  }
  console.log(JSON.stringify({ n, ok, errors: n - ok, lateSends: 0, achievedRate: 0, lat }));
  process.exit(0);
}
const rate = Number(rateA), secs = Number(secA), conns = Number(connsA);
const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
const u = new URL(url);
const total = Math.round(rate * secs);
const lat = new Array(total).fill(-1);
let done = 0, ok = 0, errors = 0, sent = 0, late = 0;
const start = performance.now() + 20;
let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  const elapsed = performance.now() - start;
  console.log(JSON.stringify({ n: total, ok, errors, lateSends: late, achievedRate: Math.round((done / elapsed) * 1000), lat: lat.filter((x) => x >= 0) }));
  process.exit(0);
}
function fire(i) {
  const t0 = performance.now();
  const req = http.request({ host: u.hostname, port: u.port || 80, path: u.pathname, agent }, (res) => {
    res.resume();
    res.on('end', () => {
      lat[i] = Math.round((performance.now() - t0) * 1000);
      if (res.statusCode === 200) ok++;
      if (++done === total) finish();
    });
  });
  req.on('error', () => { errors++; if (++done === total) finish(); });
  req.end();
}
function tick() {
  const now = performance.now();
  while (sent < total && start + (sent * 1000) / rate <= now) {
    if (now - (start + (sent * 1000) / rate) > 2) late++;
    fire(sent++);
  }
  if (sent < total) setTimeout(tick, Math.max(0, start + (sent * 1000) / rate - performance.now()));
}
setTimeout(tick, 20);
setTimeout(finish, (secs + 10) * 1000);
`;

interface ClientResult {
  n: number;
  ok: number;
  errors: number;
  lateSends: number;
  achievedRate: number;
  lat: number[];
}

const OPT_OUT = { 'sidecar.istio.io/inject': 'false' };
const VOLUME = { name: 'bench', configMap: { name: 'latency-bench' } };
const MOUNT = { name: 'bench', mountPath: '/bench' };

function serverPod(name: string, mesh: boolean): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name }, ...(mesh ? {} : { annotations: OPT_OUT }) },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'server', image: 'host', command: ['node', '/bench/server.mjs'], ports: [{ name: 'http', containerPort: 8080 }], volumeMounts: [MOUNT] }],
      volumes: [VOLUME],
    },
  });
}

function clientPod(name: string, mesh: boolean): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name }, ...(mesh ? {} : { annotations: OPT_OUT }) },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'client', image: 'host', command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], volumeMounts: [MOUNT] }],
      volumes: [VOLUME],
    },
  });
}

async function load(h: MeshboxHarness, pod: string, url: string, seconds: number, sequential = 0): Promise<ClientResult> {
  const mode = sequential > 0 ? ['seq', String(sequential), '1'] : [String(RATE), String(seconds), String(CONNS)];
  const r = await h.cli(['exec', pod, '-c', 'client', '--', 'node', '/bench/client.mjs', url, ...mode]);
  if (r.code !== 0) throw new Error(`client in ${pod} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ClientResult;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! / 1000;
}

async function main(): Promise<void> {
  const h = new MeshboxHarness({ mesh: true });
  const load0 = loadavg().map((x) => x.toFixed(2)).join(' ');
  const startedAt = new Date().toISOString();
  try {
    await h.start();
    await h.apply(docs(
      stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'latency-bench' }, data: { 'server.mjs': BACKEND_SERVER, 'client.mjs': CLIENT } }),
      serverPod('lat-direct', false),
      clientPod('client-direct', false),
      serverPod('lat-mesh', true),
      stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'lat-mesh' }, spec: { selector: { app: 'lat-mesh' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } }),
      clientPod('client-mesh', true),
    ));
    for (const p of ['lat-direct', 'client-direct', 'lat-mesh', 'client-mesh']) await h.waitReady(p, 'default', 120_000);
    const direct = await h.pod('lat-direct');
    const mesh = await h.pod('lat-mesh');
    if (direct?.spec.initContainers?.length) throw new Error('lat-direct has a sidecar; the opt-out did not apply');
    if (!mesh?.spec.initContainers?.some((c) => c.name === 'istio-proxy')) throw new Error('lat-mesh has no sidecar');
    const directUrl = `http://${(direct as Pod).status!.podIP}:8080/`;
    const meshUrl = 'http://lat-mesh/';
    await h.eventually('the mesh path answering', async () => (await load(h, 'client-mesh', meshUrl, 0.2)).ok > 0, 60_000);

    // warm-up (JIT, connection pools) on both paths, not measured
    await load(h, 'client-direct', directUrl, WARMUP_SECONDS);
    await load(h, 'client-mesh', meshUrl, WARMUP_SECONDS);
    if (WAIT_LOAD > 0) {
      const until = Date.now() + 600_000;
      while (loadavg()[0]! >= WAIT_LOAD && Date.now() < until) await sleep(5_000);
    }
    const all = { direct: [] as number[], mesh: [] as number[] };
    const seq = { direct: [] as number[], mesh: [] as number[] };
    const invalid: string[] = [];
    const info = { direct: [] as string[], mesh: [] as string[] };
    const loads: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const [path, pod, url] of [['direct', 'client-direct', directUrl], ['mesh', 'client-mesh', meshUrl]] as const) {
        if (SEQUENTIAL > 0) seq[path].push(...(await load(h, pod, url, 0, SEQUENTIAL)).lat);
        loads.push(loadavg()[0]!.toFixed(2));
        const r = await load(h, pod, url, SECONDS);
        all[path].push(...r.lat);
        const held = r.ok === r.n && r.achievedRate >= RATE * 0.95 && r.lateSends <= r.n * 0.05;
        if (!held) invalid.push(`${path} round ${round + 1}`);
        info[path].push(`round ${round + 1}: ${r.ok}/${r.n} ok, ${r.errors} errors, ${r.achievedRate} req/s, ${r.lateSends} late sends${held ? '' : ' (INVALID: the rate was not held)'}`);
        await sleep(500);
      }
    }
    const summarise = (src: typeof all, label: string) =>
      (['direct', 'mesh'] as const).map((path) => {
        const s = src[path].sort((a, b) => a - b);
        return { path: `${path}${label}`, n: s.length, p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99) };
      });
    const rows = summarise(all, ` (${RATE} req/s)`);
    const seqRows = SEQUENTIAL > 0 ? summarise(seq, ' (sequential)') : [];
    const [d, m] = rows as [(typeof rows)[0], (typeof rows)[0]];
    const cmd = `node dist/bench/mesh/sidecar-latency.js --rate ${RATE} --seconds ${SECONDS} --rounds ${ROUNDS} --conns ${CONNS}`;
    console.log(`# sidecar pair latency, ${startedAt}`);
    console.log(`command: ${cmd}`);
    console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}`);
    console.log(`load average at start: ${load0}; 1-min load before each run: ${loads.join(', ')}; at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    for (const path of ['direct', 'mesh'] as const) for (const line of info[path]) console.log(`${path} ${line}`);
    console.log('');
    console.log('| path | requests | p50 ms | p90 ms | p99 ms |');
    console.log('|---|---|---|---|---|');
    const diff = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
    for (const [dd, mm] of [[d, m], ...(seqRows.length ? [[seqRows[0]!, seqRows[1]!]] : [])] as [(typeof rows)[0], (typeof rows)[0]][]) {
      for (const r of [dd, mm]) console.log(`| ${r.path} | ${r.n} | ${r.p50.toFixed(2)} | ${r.p90.toFixed(2)} | ${r.p99.toFixed(2)} |`);
      console.log(`| added by the sidecar pair | | ${diff(mm.p50 - dd.p50)} | ${diff(mm.p90 - dd.p90)} | ${diff(mm.p99 - dd.p99)} |`);
    }
    if (invalid.length) {
      console.log(`\nINVALID: ${invalid.join(', ')} did not hold ${RATE} req/s; these figures measure an overloaded machine`);
      process.exitCode = 2;
    }
  } finally {
    const leaks = await h.down();
    if (leaks.length) console.error(`meshbox down left: ${leaks.join('; ')}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
