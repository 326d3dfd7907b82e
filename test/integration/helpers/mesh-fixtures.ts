/**
 * Shared fixtures for the mesh end-to-end tests (mesh-ops, mesh-traffic): a backend app that says
 * which pod and version answered, a load generator that runs inside a client pod (one `meshbox exec`
 * for thousands of requests: runc exec costs ~50 ms), and the YAML that puts them in pods.
 * Append-only: other test files depend on these shapes.
 *
 *   await h.apply(meshAppConfigMap() + '---\n' + backendYaml({ name: 'web' }) + '---\n' + serviceYaml({ name: 'web' }) + '---\n' + clientPodYaml());
 *   const s = await runLoad(h, 'client', 'http://web/', { n: 500, concurrency: 4 });
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { REPO_ROOT, type MeshboxHarness } from './meshbox-harness.js';

/** The ConfigMap that holds the scripts; pods mount it at /app. */
export const MESH_APP_CONFIGMAP = 'mesh-app';

/**
 * `node /app/server.mjs`: answers every request with JSON {pod, version, method, url} and the header
 * `x-backend: <pod> <version>`. Env: PORT (8080), VERSION (v1), FAIL_RATE (0..1: that exact share of
 * requests, spread evenly, gets FAIL_STATUS, default 503). Query `?sleep=MS` delays the answer.
 * `GET /__counts` returns how many requests per method it served (itself not counted).
 * On SIGTERM it stops accepting, lets requests in flight finish and exits (at most 1.5 s later).
 */
export const BACKEND_SERVER = `import http from 'node:http';
import os from 'node:os';
const pod = os.hostname();
const version = process.env.VERSION ?? 'v1';
const failRate = Number(process.env.FAIL_RATE ?? 0);
const failStatus = Number(process.env.FAIL_STATUS ?? 503);
const counts = {};
let n = 0;
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/__counts') {
    res.setHeader('content-type', 'application/json');
    return res.end(JSON.stringify(counts));
  }
  counts[req.method] = (counts[req.method] ?? 0) + 1;
  // deterministic: exactly failRate of the requests fail, evenly spread
  const fail = Math.floor((n + 1) * failRate) > Math.floor(n * failRate);
  n++;
  const answer = () => {
    res.statusCode = fail ? failStatus : 200;
    res.setHeader('x-backend', pod + ' ' + version);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ pod, version, method: req.method, url: req.url, failed: fail }));
  };
  req.resume();
  req.on('end', () => {
    const sleep = Number(url.searchParams.get('sleep') ?? 0);
    if (sleep > 0) setTimeout(answer, sleep); else answer();
  });
});
server.listen(Number(process.env.PORT ?? 8080));
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 1500).unref();
});
`;

/**
 * \`node /app/load.mjs URL N CONCURRENCY [METHOD] [--rate R] [--header NAME:VALUE]... [--timeout MS] [--until-eof]\`:
 * N requests over CONCURRENCY keep-alive connections (node:http), paced to R requests per second
 * when --rate is given; with --until-eof it stops early when its stdin ends (see startLoad).
 * Prints one JSON LoadSummary.
 */
export const LOAD_SCRIPT = `import http from 'node:http';
const [url, nArg, concArg, ...rest] = process.argv.slice(2);
const n = Number(nArg), conc = Number(concArg);
let method = 'GET', rate = 0, timeout = 10000, stopped = false;
const headers = {};
for (let i = 0; i < rest.length; i++) {
  const a = rest[i];
  if (a === '--until-eof') { process.stdin.on('end', () => { stopped = true; }); process.stdin.resume(); }
  else if (a === '--rate') rate = Number(rest[++i]);
  else if (a === '--timeout') timeout = Number(rest[++i]);
  else if (a === '--header') { const h = rest[++i]; const c = h.indexOf(':'); headers[h.slice(0, c).trim()] = h.slice(c + 1).trim(); }
  else method = a;
}
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
const target = new URL(url);
const statuses = {}, flags = {}, errors = {}, backends = {}, failures = [];
const lat = [];
let ok = 0, next = 0;
const start = performance.now();
const inc = (o, k) => { o[k] = (o[k] ?? 0) + 1; };
function once(i) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request({ host: target.hostname, port: target.port || 80, path: target.pathname + target.search, method, agent, headers: { ...headers, 'x-load-seq': String(i) }, timeout }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        lat.push(performance.now() - t0);
        const code = res.statusCode;
        inc(statuses, code);
        const err = res.headers['x-meshbox-error'];
        const flag = typeof err === 'string' ? err.split(' ')[0] : undefined;
        if (flag) inc(flags, flag);
        const backend = res.headers['x-backend'];
        if (typeof backend === 'string') inc(backends, backend);
        if (code >= 200 && code < 300) ok++;
        else if (failures.length < 20) failures.push({ i, atMs: Math.round(t0 - start), status: code, error: err, backend, body: Buffer.concat(chunks).toString().slice(0, 200) });
        resolve();
      });
      res.on('error', (e) => { inc(errors, e.code ?? e.message); resolve(); });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e) => {
      lat.push(performance.now() - t0);
      inc(errors, e.code ?? e.message);
      if (failures.length < 20) failures.push({ i, atMs: Math.round(t0 - start), error: e.code ?? e.message });
      resolve();
    });
    req.end(method === 'GET' || method === 'HEAD' ? undefined : 'x'.repeat(16));
  });
}
async function worker() {
  for (;;) {
    if (stopped) return;
    const i = next++;
    if (i >= n) return;
    if (rate > 0) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await once(i);
  }
}
await Promise.all(Array.from({ length: conc }, worker));
const durationMs = performance.now() - start;
const sent = Math.min(next, n);
lat.sort((a, b) => a - b);
const pct = (p) => (lat.length ? Math.round(lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] * 100) / 100 : 0);
agent.destroy();
console.log(JSON.stringify({ n: sent, ok, statuses, flags, errors, backends, failures, durationMs: Math.round(durationMs), rate: Math.round((sent / durationMs) * 1000), latencyMs: { p50: pct(50), p90: pct(90), p99: pct(99), max: pct(100) } }));
`;

export interface LoadSummary {
  n: number;
  /** 2xx answers */
  ok: number;
  /** answers by status code */
  statuses: Record<string, number>;
  /** the first word of x-meshbox-error (the response flag: UH, UT, FI, ...) */
  flags: Record<string, number>;
  /** requests without an answer, by error code (ECONNRESET, TIMEOUT, ...) */
  errors: Record<string, number>;
  /** answers by x-backend ("<pod> <version>") */
  backends: Record<string, number>;
  /** the first 20 requests that did not get a 2xx: when, what */
  failures: { i: number; atMs: number; status?: number; error?: string; backend?: string; body?: string }[];
  durationMs: number;
  /** achieved requests per second */
  rate: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

/** The ConfigMap with server.mjs and load.mjs; apply it once per namespace before the pods. */
export function meshAppConfigMap(namespace = 'default'): string {
  return stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: MESH_APP_CONFIGMAP, namespace }, data: { 'server.mjs': BACKEND_SERVER, 'load.mjs': LOAD_SCRIPT } });
}

const APP_VOLUME = { name: 'app', configMap: { name: MESH_APP_CONFIGMAP } };
const APP_MOUNT = { name: 'app', mountPath: '/app' };

export interface BackendOptions {
  name: string;
  /** the app label the Service selects (default: name) */
  app?: string;
  version?: string;
  replicas?: number;
  namespace?: string;
  /** extra env for server.mjs (FAIL_RATE, FAIL_STATUS, ...) */
  env?: Record<string, string>;
  /** pod annotations (e.g. sidecar.istio.io/inject: "false") */
  annotations?: Record<string, string>;
  terminationGracePeriodSeconds?: number;
  /** a readiness probe on the app port (default true) */
  readiness?: boolean;
}

/** A Deployment of server.mjs on port 8080 (labels app, version); the Service targets port name http. */
export function backendYaml(o: BackendOptions): string {
  const version = o.version ?? 'v1';
  const labels = { app: o.app ?? o.name, version };
  const env = Object.entries({ VERSION: version, ...(o.env ?? {}) }).map(([name, value]) => ({ name, value }));
  const container: Record<string, unknown> = {
    name: 'app',
    image: 'host',
    command: ['node', '/app/server.mjs'],
    env,
    ports: [{ name: 'http', containerPort: 8080 }],
    volumeMounts: [APP_MOUNT],
  };
  // a generous timeout: on a loaded 2-core machine a 1 s probe timeout flaps a healthy pod out of its Service
  if (o.readiness ?? true) container.readinessProbe = { httpGet: { path: '/__counts', port: 8080 }, periodSeconds: 1, timeoutSeconds: 5, failureThreshold: 3 };
  return stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: o.name, namespace: o.namespace ?? 'default' },
    spec: {
      replicas: o.replicas ?? 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, ...(o.annotations ? { annotations: o.annotations } : {}) },
        spec: { terminationGracePeriodSeconds: o.terminationGracePeriodSeconds ?? 5, containers: [container], volumes: [APP_VOLUME] },
      },
    },
  });
}

/** A Service `name` port `port` (name http) → 8080 of the pods with label app. */
export function serviceYaml(o: { name: string; app?: string; port?: number; namespace?: string }): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: o.name, namespace: o.namespace ?? 'default' },
    spec: { selector: { app: o.app ?? o.name }, ports: [{ name: 'http', port: o.port ?? 80, targetPort: 8080 }] },
  });
}

/** A pod that idles, with /app mounted, to run load.mjs in. */
export function clientPodYaml(o: { name?: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> } = {}): string {
  const name = o.name ?? 'client';
  return stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: o.namespace ?? 'default', labels: o.labels ?? { app: name }, ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: {
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'client', image: 'host', command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], volumeMounts: [APP_MOUNT] }],
      volumes: [APP_VOLUME],
    },
  });
}

/** Joins YAML documents. */
export function docs(...parts: string[]): string {
  return parts.map((p) => p.trimEnd()).join('\n---\n') + '\n';
}

export interface LoadOptions {
  n: number;
  concurrency?: number;
  method?: string;
  /** requests per second (paced); unpaced when absent */
  rate?: number;
  headers?: Record<string, string>;
  timeoutMs?: number;
  namespace?: string;
}

/** Runs load.mjs in `pod` (one exec) and returns its summary; fails the test if it did not run. */
export async function runLoad(h: MeshboxHarness, pod: string, url: string, o: LoadOptions): Promise<LoadSummary> {
  const args = ['exec', pod, '-n', o.namespace ?? 'default', '-c', 'client', '--', 'node', '/app/load.mjs', url, String(o.n), String(o.concurrency ?? 4), o.method ?? 'GET'];
  if (o.rate) args.push('--rate', String(o.rate));
  if (o.timeoutMs) args.push('--timeout', String(o.timeoutMs));
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('--header', `${k}:${v}`);
  const r = await h.cli(args);
  assert.equal(r.code, 0, `load.mjs in ${pod} failed (exit ${r.code}): ${r.stderr}${r.stdout}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as LoadSummary;
}

/** Share of answers from backends whose x-backend ends with ` <version>`. */
export function versionShare(s: LoadSummary, version: string): number {
  let hits = 0;
  let all = 0;
  for (const [k, v] of Object.entries(s.backends)) {
    all += v;
    if (k.endsWith(` ${version}`)) hits += v;
  }
  return all === 0 ? 0 : hits / all;
}

// ---- appended by mesh-traffic: a TCP (non-HTTP) echo service and the proxy admin view ----

/** The ConfigMap that holds tcp-echo.mjs; the echo pods mount it at /app. */
export const TCP_ECHO_CONFIGMAP = 'mesh-tcp-echo';

/**
 * `node /app/tcp-echo.mjs`: a line-based TCP echo on PORT (9000) that answers each line with
 * `echo <pod> <line>`; the client speaks first, so a proxy's protocol sniffing sees non-HTTP bytes.
 */
export const TCP_ECHO_SERVER = `import net from 'node:net';
import os from 'node:os';
const pod = os.hostname();
const server = net.createServer((s) => {
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\\n')) >= 0) {
      s.write('echo ' + pod + ' ' + buf.slice(0, i) + '\\n');
      buf = buf.slice(i + 1);
    }
  });
  s.on('error', () => {});
});
server.listen(Number(process.env.PORT ?? 9000));
process.on('SIGTERM', () => process.exit(0));
`;

/**
 * Run with `node -e` (no mount needed): argv HOST PORT MESSAGE; connects, sends MESSAGE and a
 * newline, prints the first line it gets back and exits 0; exits 1 on error, close or 5 s silence.
 */
export const TCP_ECHO_CLIENT = `const net = require('node:net');
const [host, port, msg] = process.argv.slice(1);
const s = net.connect(Number(port), host, () => s.write(msg + '\\n'));
let buf = '';
s.setEncoding('utf8');
s.setTimeout(5000, () => { console.error('no answer within 5 s'); process.exit(1); });
s.on('data', (d) => { buf += d; const i = buf.indexOf('\\n'); if (i >= 0) { console.log(buf.slice(0, i)); process.exit(0); } });
s.on('error', (e) => { console.error('error: ' + e.message); process.exit(1); });
s.on('close', () => { console.error('closed before a full line; got: ' + JSON.stringify(buf)); process.exit(1); });
`;

/** ConfigMap + Deployment (label app=name) + Service `name` with port name `tcp-echo` port → 9000. */
export function tcpEchoYaml(o: { name: string; port?: number; namespace?: string }): string {
  const namespace = o.namespace ?? 'default';
  const labels = { app: o.name };
  return docs(
    stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: TCP_ECHO_CONFIGMAP, namespace }, data: { 'tcp-echo.mjs': TCP_ECHO_SERVER } }),
    stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: o.name, namespace },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 2,
            containers: [{
              name: 'app',
              image: 'host',
              command: ['node', '/app/tcp-echo.mjs'],
              ports: [{ name: 'tcp-echo', containerPort: 9000 }],
              readinessProbe: { tcpSocket: { port: 9000 }, periodSeconds: 1 },
              volumeMounts: [{ name: 'app', mountPath: '/app' }],
            }],
            volumes: [{ name: 'app', configMap: { name: TCP_ECHO_CONFIGMAP } }],
          },
        },
      },
    }),
    stringify({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: o.name, namespace },
      spec: { selector: labels, ports: [{ name: 'tcp-echo', port: o.port ?? 9000, targetPort: 9000 }] },
    }),
  );
}

/** One TCP round trip from `pod` (container `client`) to HOST:PORT; the CLI result of `node -e`. */
export function tcpEcho(h: MeshboxHarness, pod: string, host: string, port: number, message: string, namespace = 'default') {
  return h.cli(['exec', pod, '-n', namespace, '-c', 'client', '--', 'node', '-e', TCP_ECHO_CLIENT, host, String(port), message]);
}

/** GET on the sidecar's admin port (127.0.0.1:15000 in the pod's netns, not captured) from the `client` container. */
export async function proxyAdmin(h: MeshboxHarness, pod: string, path: string, namespace = 'default'): Promise<string> {
  const r = await h.cli(['exec', pod, '-n', namespace, '-c', 'client', '--', 'curl', '-s', '-m', '5', `http://127.0.0.1:15000${path}`]);
  assert.equal(r.code, 0, `admin ${path} of ${pod}: ${r.stderr}`);
  return r.stdout;
}

function loadArgs(h: MeshboxHarness, pod: string, url: string, o: LoadOptions, extra: string[]): string[] {
  const args = ['--state-dir', h.stateDir, 'exec', ...extra, pod, '-n', o.namespace ?? 'default', '-c', 'client', '--', 'node', '/app/load.mjs', url, String(o.n), String(o.concurrency ?? 4), o.method ?? 'GET'];
  if (o.rate) args.push('--rate', String(o.rate));
  if (o.timeoutMs) args.push('--timeout', String(o.timeoutMs));
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('--header', `${k}:${v}`);
  return args;
}

export interface RunningLoad {
  /** Ends the load (it finishes the requests in flight) and returns its summary. */
  stop(): Promise<LoadSummary>;
}

/**
 * Starts load.mjs in `pod` and keeps it going (paced, at most `n` requests) until `stop()`: for
 * load that must cover an operation of unknown length (a scale, a rollout, a daemon restart).
 * The load ends when the exec's stdin closes.
 */
export function startLoad(h: MeshboxHarness, pod: string, url: string, o: LoadOptions): RunningLoad {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'meshbox.js'), ...loadArgs(h, pod, url, o, ['-i']), '--until-eof'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return {
    async stop() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await closed;
      clearTimeout(timer);
      assert.equal(code, 0, `load.mjs in ${pod} failed (exit ${code}): ${stderr}${stdout}`);
      return JSON.parse(stdout.trim().split('\n').pop() ?? '') as LoadSummary;
    },
  };
}
