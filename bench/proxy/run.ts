/**
 * Proxy benchmark: direct-to-upstream, meshbox proxy, HAProxy, NGINX, the `http-proxy` npm package,
 * and a meshbox client-sidecar → server-sidecar pair, measured in one run on this machine.
 *
 *   npm run build && node dist/bench/proxy/run.js [--duration 10] [--warmup 3] [--soak 60]
 *                              [--repeat 1] [--conns 50,1] [--bodies 100,4096] [--only direct,meshbox,haproxy,nginx,http-proxy,node-undici,sidecars] [--json FILE]
 *
 * Pinning (2 cores): this process (autocannon, the load generator) and the upstream run on core 0,
 * the proxy under test on core 1 (both sidecars of the pair share core 1). All targets run at once
 * and every cell visits each in turn (median of --repeat runs). So the proxy has a core
 * to itself, and the load generator + upstream are the same for every target. Direct-to-upstream
 * is limited by core 0 alone. Per cell: autocannon for --duration seconds at 1 or 50 keep-alive
 * connections, GET /100 or /4096 (bytes of response body). Proxy CPU per request is the change in
 * utime+stime of the proxy process(es) over the cell (/proc/PID/stat) divided by the requests the
 * cell completed; RSS is VmRSS at the end of the cell. --soak runs the meshbox proxy at 1,000
 * requests per second for that many seconds and reports its RSS (0 skips it).
 * Needs haproxy and nginx (Debian packages: apt-get install -y haproxy nginx); binds 127.0.0.1 only.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, connect } from 'node:net';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuMicros, cpuSplitMicros, rssBytes } from './proc-stats.js';
import { PROXY_ENV, PROXY_V8_FLAGS } from '../../src/proxy/node-flags.js';

const require = createRequire(import.meta.url);
interface AutocannonResult {
  requests: { total: number };
  latency: { p50: number; p90: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
}
type Tracker = { on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void };
const autocannon = require('autocannon') as (opts: Record<string, unknown>, cb: (err: Error | null, r: AutocannonResult) => void) => Tracker;

const LOADGEN_CORE = 0;
const PROXY_CORE = 1;
const HERE = fileURLToPath(new URL('.', import.meta.url));

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    soak: { type: 'string', default: '60' },
    only: { type: 'string' },
    json: { type: 'string' },
    repeat: { type: 'string', default: '1' },
    conns: { type: 'string', default: '50,1' },
    bodies: { type: 'string', default: '100,4096' },
    loadgen: { type: 'string' },
  },
});
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const SOAK = Number(args.soak);
const REPEAT = Math.max(1, Number(args.repeat));
const CONNS = args.conns.split(',').map(Number);
const BODIES = args.bodies.split(',').map(Number);
const ONLY = args.only ? new Set(args.only.split(',')) : undefined;
/**
 * wrk (C, one thread) costs a fraction of autocannon's CPU per request, so on core 0 beside the
 * upstream it leaves the proxy under test as the bottleneck, and req/s compares proxies rather than
 * load generators. autocannon is the fallback when wrk is missing, and always drives the soak
 * (it can hold a fixed rate).
 */
const LOADGEN: 'wrk' | 'autocannon' = (args.loadgen as 'wrk' | 'autocannon' | undefined) ?? (spawnSync('wrk', ['--version']).error ? 'autocannon' : 'wrk');

interface Target {
  name: string;
  port: number;
  /** processes whose CPU and RSS count as "the proxy" */
  pids: number[];
  stop(): Promise<void>;
}

interface Cell {
  target: string;
  connections: number;
  bodyBytes: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  cpuUsPerReq: number | undefined;
  /** the kernel's share of cpuUsPerReq (system time: socket syscalls, loopback TCP) */
  kernelUsPerReq: number | undefined;
  rssMB: number | undefined;
  errors: number;
}

// === process helpers ===

const children = new Set<ChildProcess>();

function spawnPinned(core: number, cmd: string, argv: string[], env?: Record<string, string>): ChildProcess {
  // taskset execs the command, so the child's pid is the program's pid.
  const child = spawn('taskset', ['-c', String(core), cmd, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}) });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
  });
  (child as ChildProcess & { stderrTail: () => string }).stderrTail = () => err;
  return child;
}

function firstJsonLine<T>(child: ChildProcess, timeoutMs = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`child did not report readiness: ${tail(child)}`)), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      for (const line of buf.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const v = JSON.parse(line) as T;
          clearTimeout(timer);
          resolve(v);
          return;
        } catch {
          // partial line
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited with ${code}: ${tail(child)}`));
    });
  });
}

function tail(child: ChildProcess): string {
  return (child as ChildProcess & { stderrTail?: () => string }).stderrTail?.() ?? '';
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process exited before listening on ${port}: ${tail(child)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening on ${port} after ${timeoutMs} ms: ${tail(child)}`);
}

// === targets ===

function meshboxConfig(listenPort: number, clusterPort: number, direction: 'inbound' | 'outbound', id: string): object {
  return {
    node: { id: `${id}~127.0.0.1~bench.bench`, metadata: { workload: id, namespace: 'bench', app: id, version: 'v1' } },
    admin: { address: '127.0.0.1', port: 0 },
    stats: { address: '127.0.0.1', port: 0 },
    health: { address: '127.0.0.1', port: 0 },
    accessLog: 'off',
    version: '1',
    listeners: [{ name: 'http', address: '127.0.0.1', port: listenPort, protocol: 'http', direction, routeConfig: 'r' }],
    routes: [
      {
        name: 'r',
        virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ name: 'default', match: [{ path: { prefix: '/' } }], route: [{ cluster: 'app' }] }] }],
      },
    ],
    clusters: [
      {
        name: 'app',
        protocol: 'http',
        destination: { service: 'upstream.bench.svc.cluster.local', serviceName: 'upstream', serviceNamespace: 'bench', workload: 'upstream', workloadNamespace: 'bench' },
        endpoints: [{ address: '127.0.0.1', port: clusterPort }],
      },
    ],
  };
}

async function startMeshbox(dir: string, name: string, upstreamPort: number, direction: 'inbound' | 'outbound'): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, JSON.stringify(meshboxConfig(port, upstreamPort, direction, name), null, 2));
  // The same V8 flags and environment `meshbox proxy` runs its child with (src/proxy/node-flags.ts).
  // MESHBOX_BENCH_PROXY_FLAGS="--flag ..." tries other V8/node flags (RSS experiments).
  const flags = process.env.MESHBOX_BENCH_PROXY_FLAGS?.split(' ').filter(Boolean) ?? PROXY_V8_FLAGS;
  const child = spawnPinned(PROXY_CORE, process.execPath, [...flags, join(HERE, 'meshbox-proxy-child.js'), file], { ...PROXY_ENV });
  await firstJsonLine(child);
  await waitForPort(port, child);
  return { port, child };
}

async function targetDirect(upstreamPort: number): Promise<Target> {
  return { name: 'direct (no proxy)', port: upstreamPort, pids: [], stop: async () => {} };
}

async function targetMeshbox(dir: string, upstreamPort: number): Promise<Target> {
  const { port, child } = await startMeshbox(dir, 'meshbox', upstreamPort, 'outbound');
  return { name: 'meshbox proxy', port, pids: [child.pid as number], stop: () => stopChild(child) };
}

async function targetSidecarPair(dir: string, upstreamPort: number): Promise<Target> {
  const server = await startMeshbox(dir, 'server-sidecar', upstreamPort, 'inbound');
  const client = await startMeshbox(dir, 'client-sidecar', server.port, 'outbound');
  return {
    name: 'meshbox client→server sidecars',
    port: client.port,
    pids: [client.child.pid as number, server.child.pid as number],
    stop: async () => {
      await stopChild(client.child);
      await stopChild(server.child);
    },
  };
}

async function targetHaproxy(dir: string, upstreamPort: number): Promise<Target> {
  const port = await freePort();
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(
    cfg,
    [
      'global',
      '  nbthread 1',
      '  maxconn 4000',
      'defaults',
      '  mode http',
      '  timeout connect 5s',
      '  timeout client 60s',
      '  timeout server 60s',
      '  option http-keep-alive',
      '  http-reuse always',
      'frontend fe',
      `  bind 127.0.0.1:${port}`,
      '  default_backend be',
      'backend be',
      `  server s1 127.0.0.1:${upstreamPort} maxconn 1000`,
      '',
    ].join('\n'),
  );
  const child = spawnPinned(PROXY_CORE, 'haproxy', ['-db', '-f', cfg]);
  await waitForPort(port, child);
  return { name: 'HAProxy', port, pids: [child.pid as number], stop: () => stopChild(child) };
}

async function targetNginx(dir: string, upstreamPort: number): Promise<Target> {
  const port = await freePort();
  const cfg = join(dir, 'nginx.conf');
  // master_process off: one process does everything, so its /proc counters are the whole cost.
  writeFileSync(
    cfg,
    `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx-body;
  proxy_temp_path ${dir}/nginx-proxy;
  fastcgi_temp_path ${dir}/nginx-fastcgi;
  uwsgi_temp_path ${dir}/nginx-uwsgi;
  scgi_temp_path ${dir}/nginx-scgi;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 1000000;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  const child = spawnPinned(PROXY_CORE, 'nginx', ['-c', cfg, '-p', dir, '-e', join(dir, 'nginx-error.log')]);
  await waitForPort(port, child);
  return { name: 'NGINX', port, pids: [child.pid as number], stop: () => stopChild(child) };
}

async function targetHttpProxy(upstreamPort: number): Promise<Target> {
  const port = await freePort();
  const child = spawnPinned(PROXY_CORE, process.execPath, [join(HERE, 'http-proxy-server.js'), String(upstreamPort), String(port)]);
  await firstJsonLine(child);
  await waitForPort(port, child);
  return { name: 'http-proxy (npm)', port, pids: [child.pid as number], stop: () => stopChild(child) };
}

async function targetNodeUndici(upstreamPort: number): Promise<Target> {
  const port = await freePort();
  const child = spawnPinned(PROXY_CORE, process.execPath, [join(HERE, 'node-undici-server.js'), String(upstreamPort), String(port)]);
  await firstJsonLine(child);
  await waitForPort(port, child);
  return { name: 'node http + undici Pool (baseline)', port, pids: [child.pid as number], stop: () => stopChild(child) };
}

// === measurement ===

interface LoadResult extends AutocannonResult {
  /** response times in ms with sub-ms precision (autocannon's own histogram keeps whole ms) */
  times: Float64Array;
}

function load(port: number, connections: number, bodyBytes: number, seconds: number, overallRate?: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    let times = new Float64Array(1 << 16);
    let n = 0;
    const tracker = autocannon(
      {
        url: `http://127.0.0.1:${port}/${bodyBytes}`,
        connections,
        duration: seconds,
        pipelining: 1,
        timeout: 10,
        ...(overallRate ? { overallRate } : {}),
      },
      (err, r) => (err ? reject(err) : resolve({ ...r, times: times.subarray(0, n) })),
    );
    tracker.on('response', (_client, _status, _bytes, ms) => {
      if (n === times.length) {
        const bigger = new Float64Array(times.length * 2);
        bigger.set(times);
        times = bigger;
      }
      times[n++] = ms;
    });
  });
}

/** One wrk run (keep-alive, one thread): its request count, latency percentiles and errors. */
function loadWithWrk(port: number, connections: number, bodyBytes: number, seconds: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', String(LOADGEN_CORE), 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '10s', `http://127.0.0.1:${port}/${bodyBytes}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const total = /(\d+) requests in ([\d.]+)(m?s)/.exec(out);
      if (code !== 0 || !total) {
        reject(new Error(`wrk failed (${code}): ${out.slice(-500)}`));
        return;
      }
      const ms = (p: string): number => {
        const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(out);
        if (!m) return NaN;
        const v = Number(m[1]);
        return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
      };
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
      const dur = Number(total[2]) * (total[3] === 'ms' ? 0.001 : 1);
      resolve({
        requests: { total: Number(total[1]) },
        latency: { p50: ms('50'), p90: ms('90'), p99: ms('99') },
        errors: sock ? Number(sock[1]) + Number(sock[2]) + Number(sock[3]) : 0,
        timeouts: sock ? Number(sock[4]) : 0,
        non2xx: non2xx ? Number(non2xx[1]) : 0,
        duration: dur,
        times: new Float64Array(0),
      });
    });
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function measure(t: Target, connections: number, bodyBytes: number): Promise<Cell> {
  const cpuBefore = t.pids.reduce((s, pid) => s + cpuMicros(pid), 0);
  const kernelBefore = t.pids.reduce((s, pid) => s + cpuSplitMicros(pid).kernel, 0);
  const r = LOADGEN === 'wrk' ? await loadWithWrk(t.port, connections, bodyBytes, DURATION) : await load(t.port, connections, bodyBytes, DURATION);
  const cpuAfter = t.pids.reduce((s, pid) => s + cpuMicros(pid), 0);
  const kernelAfter = t.pids.reduce((s, pid) => s + cpuSplitMicros(pid).kernel, 0);
  const requests = r.requests.total;
  const sorted = r.times.slice().sort();
  const pct = (p: 50 | 90 | 99): number => (sorted.length > 0 ? percentile(sorted, p) : r.latency[`p${p}`]);
  return {
    target: t.name,
    connections,
    bodyBytes,
    rps: requests / (r.duration || DURATION),
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    cpuUsPerReq: t.pids.length > 0 && requests > 0 ? (cpuAfter - cpuBefore) / requests : undefined,
    kernelUsPerReq: t.pids.length > 0 && requests > 0 ? (kernelAfter - kernelBefore) / requests : undefined,
    rssMB: t.pids.length > 0 ? t.pids.reduce((s, pid) => s + rssBytes(pid), 0) / 2 ** 20 : undefined,
    errors: r.errors + r.timeouts + r.non2xx,
  };
}

function versionOf(cmd: string, argv: string[]): string {
  // nginx -v prints to stderr, haproxy -v to stdout.
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (r.error) return `${cmd} not installed`;
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? '';
}

function fmt(n: number | undefined, digits = 1): string {
  return n === undefined || Number.isNaN(n) ? '—' : n.toFixed(digits);
}

async function main(): Promise<void> {
  execFileSync('taskset', ['-cp', String(LOADGEN_CORE), String(process.pid)], { stdio: 'ignore' });
  const loadBefore = loadavg()[0] ?? 0;
  if (loadBefore > 1.5) {
    process.stderr.write(`warning: load average is ${loadBefore.toFixed(1)} on ${cpus().length} cores; other work will distort the numbers\n`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'mbx-bench-'));
  const cells: Cell[] = [];
  let soak: { rssMB: number; rps: number; errors: number } | undefined;
  try {
    const upstream = spawnPinned(LOADGEN_CORE, process.execPath, [join(HERE, 'upstream-server.js')]);
    const { port: upstreamPort } = await firstJsonLine<{ port: number }>(upstream);

    const factories: [string, () => Promise<Target>][] = [
      ['direct', () => targetDirect(upstreamPort)],
      ['meshbox', () => targetMeshbox(dir, upstreamPort)],
      ['haproxy', () => targetHaproxy(dir, upstreamPort)],
      ['nginx', () => targetNginx(dir, upstreamPort)],
      ['http-proxy', () => targetHttpProxy(upstreamPort)],
      ['node-undici', () => targetNodeUndici(upstreamPort)],
      ['sidecars', () => targetSidecarPair(dir, upstreamPort)],
    ];
    // All targets run at once (idle ones cost nothing) and each cell visits them in turn, so a
    // burst of background load hits every target alike instead of one target's whole series.
    const targets: [string, Target][] = [];
    try {
      for (const [key, make] of factories) {
        if (ONLY && !ONLY.has(key)) continue;
        try {
          targets.push([key, await make()]);
        } catch (err) {
          process.stderr.write(`skipping ${key}: ${(err as Error).message}\n`);
        }
      }
      for (const [, t] of targets) {
        process.stderr.write(`${t.name}: warm-up ${WARMUP}s\n`);
        if (WARMUP > 0) await (LOADGEN === 'wrk' ? loadWithWrk(t.port, 50, 100, WARMUP) : load(t.port, 50, 100, WARMUP));
      }
      for (const connections of CONNS) {
        for (const bodyBytes of BODIES) {
          // Repeats go round the targets (A B C A B C …), so a burst of other work lands on every
          // target alike rather than on one target's consecutive runs.
          const runs = new Map<Target, Cell[]>(targets.map(([, t]) => [t, []]));
          for (let i = 0; i < REPEAT; i++) for (const [, t] of targets) runs.get(t)?.push(await measure(t, connections, bodyBytes));
          for (const [, t] of targets) {
            const mine = runs.get(t) as Cell[];
            // The median run by req/s: one noisy run does not decide the cell.
            mine.sort((a, b) => a.rps - b.rps);
            const cell = mine[Math.floor(mine.length / 2)] as Cell;
            process.stderr.write(`  ${t.name}, ${connections} conns ${bodyBytes} B: ${cell.rps.toFixed(0)} req/s, cpu ${fmt(cell.cpuUsPerReq)} µs/req\n`);
            cells.push(cell);
          }
        }
      }
      const mesh = targets.find(([key]) => key === 'meshbox')?.[1];
      if (mesh && SOAK > 0) {
        process.stderr.write(`${mesh.name}: soak ${SOAK}s at 1000 req/s\n`);
        const r = await load(mesh.port, 10, 100, SOAK, 1000);
        soak = {
          rssMB: rssBytes(mesh.pids[0] as number) / 2 ** 20,
          rps: r.requests.total / (r.duration || SOAK),
          errors: r.errors + r.timeouts + r.non2xx,
        };
      }
    } finally {
      for (const [, t] of targets) await t.stop();
    }
    await stopChild(upstream);
  } finally {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }

  const lines: string[] = [];
  lines.push(`Machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length}, Linux ${release()}, Node ${process.version}; load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] ?? 0).toFixed(1)} after`);
  lines.push(`${versionOf('haproxy', ['-v'])}; ${versionOf('nginx', ['-v'])}; ${LOADGEN === 'wrk' ? 'wrk -t1' : 'autocannon 9'}, keep-alive, ${DURATION}s per cell`);
  lines.push(`Pinning: load generator + upstream on core ${LOADGEN_CORE}, proxy on core ${PROXY_CORE}; meshbox with routing and Istio metrics on, access log off`);
  lines.push('');
  lines.push('| target | conns | body | req/s | p50 ms | p90 ms | p99 ms | proxy CPU µs/req | of which kernel | proxy RSS MB | errors |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of cells) {
    lines.push(
      `| ${c.target} | ${c.connections} | ${c.bodyBytes === 4096 ? '4 KiB' : `${c.bodyBytes} B`} | ${c.rps.toFixed(0)} | ${fmt(c.p50, 3)} | ${fmt(c.p90, 3)} | ${fmt(c.p99, 3)} | ${fmt(c.cpuUsPerReq)} | ${fmt(c.kernelUsPerReq)} | ${fmt(c.rssMB)} | ${c.errors} |`,
    );
  }
  const find = (target: string): Cell | undefined => cells.find((c) => c.target === target && c.connections === 50 && c.bodyBytes === 100);
  const mesh = find('meshbox proxy');
  const ha = find('HAProxy');
  const hp = find('http-proxy (npm)');
  const nu = find('node http + undici Pool (baseline)');
  lines.push('');
  if (mesh) {
    lines.push(`meshbox, 50 conns, 100 B: ${fmt(mesh.cpuUsPerReq)} µs CPU/req (bar ≤ 33)` +
      (ha?.cpuUsPerReq ? `, ${fmt((mesh.cpuUsPerReq ?? 0) / ha.cpuUsPerReq, 2)}× HAProxy's CPU/req, ${fmt(mesh.rps / ha.rps, 2)}× HAProxy's req/s` : '') +
      (nu?.cpuUsPerReq ? `, ${fmt((mesh.cpuUsPerReq ?? 0) / nu.cpuUsPerReq, 2)}× the node-undici baseline's CPU/req` : '') +
      (hp ? `, ${fmt(mesh.rps / hp.rps, 2)}× http-proxy's req/s (bar ≥ 1.7)` : ''));
  }
  if (soak) lines.push(`meshbox RSS after ${SOAK}s at ${soak.rps.toFixed(0)} req/s: ${fmt(soak.rssMB)} MB (bar ≤ 50), ${soak.errors} errors`);
  process.stdout.write(lines.join('\n') + '\n');
  if (args.json) writeFileSync(args.json, JSON.stringify({ cells, soak }, null, 2));
}

main().catch((err: unknown) => {
  process.stderr.write(`benchmark failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
});
