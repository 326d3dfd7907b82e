/**
 * A Service endpoint change end to end: real pods on a real daemon, measured by real connections
 * from the host to the ClusterIP (the in-process view, store write → rules live, is
 * endpoint-latency.ts).
 *
 *   npm run build && node dist/bench/services/endpoint-e2e.js [--iterations 10]
 *
 * Needs root. Starts its own daemon (own bridge, CIDRs and state folder, removed at the end; no
 * sidecars). Service `web` (ClusterIP 80 → 8080) selects `app: web`; `web-a` stays Ready, and each
 * iteration adds then removes `web-b` (node HTTP servers answering their pod name):
 *   - ADD: t0 = the Endpoints watch first lists web-b as ready; t1 = the first new connection from
 *     the host to ClusterIP:80 answered by web-b (sequential connections, `agent: false`). Also from
 *     web-b's Ready condition on a pod watch.
 *   - REMOVE: API delete of web-b while connecting in a loop; t0 = the Endpoints watch no longer
 *     lists web-b as ready; reports the last connection started at or after t0 that still reached
 *     web-b, and stops after 200 consecutive connections that did not.
 * Baseline, same run: one fresh connection + request directly to web-b's pod IP, and through the
 * ClusterIP once the rules are settled: the connection setup inside t1 - t0. With two endpoints
 * the kernel picks web-b with probability 1/2 per connection, so t1 - t0 also holds on average one
 * extra connection after the rules are live (the attempt count is printed).
 * Every connection loop is bounded: at most 5 s and 20,000 attempts.
 */
import http, { type IncomingMessage } from 'node:http';
import { loadavg } from 'node:os';
import { onWatchLines, type ApiClient, type WatchLine } from '../../src/cli/client.js';
import type { KubeObject, Pod } from '../../src/api/types.js';
import { MeshboxHarness } from '../../test/integration/helpers/meshbox-harness.js';
import { applyYaml } from '../pods/pod-watch.js';
import { arg } from '../numbers.js';

const ITERATIONS = arg('iterations', 10);
const LOOP_MS = 5_000;
const LOOP_ATTEMPTS = 20_000;
const CLEAN_RUN = 200;
const BASELINE_CONNECTIONS = 20;

const SERVER = `["node", "-e", "require('http').createServer((q,s)=>s.end(require('os').hostname())).listen(8080)"]`;
const pod = (name: string): string => `apiVersion: v1
kind: Pod
metadata: { name: ${name}, labels: { app: web } }
spec:
  # the server ignores SIGTERM (pid 1): without this each delete waits the default 30 s
  terminationGracePeriodSeconds: 2
  containers:
    - name: web
      image: host
      command: ${SERVER}
      ports: [{ containerPort: 8080 }]
      # Ready (so in Endpoints) only once the server listens: the first connections are not refused
      readinessProbe: { httpGet: { path: /, port: 8080 }, periodSeconds: 1 }
`;

interface EndpointsObject extends KubeObject {
  subsets?: { addresses?: { ip: string; targetRef?: { name: string } }[] }[];
}

/** The latest version of each object of one watch, and when a predicate over them first held. */
class Watched<T extends KubeObject> {
  readonly objects = new Map<string, T>();
  #res: IncomingMessage | undefined;
  #waiters: { check: () => boolean; resolve: (at: number) => void }[] = [];

  /** Resolves once the daemon has registered the watch (it sends the headers after that). */
  static async open<T extends KubeObject>(client: ApiClient, path: string): Promise<Watched<T>> {
    const w = new Watched<T>();
    w.#res = await client.stream(`${path}?watch=true`);
    onWatchLines(w.#res, (line) => w.#event(line));
    return w;
  }

  /** Resolves to performance.now() of the event after which `check` first held. */
  until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<number> {
    if (check()) return Promise.resolve(performance.now());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      this.#waiters.push({ check, resolve: (at) => (clearTimeout(timer), resolve(at)) });
    });
  }

  close(): void {
    this.#res?.destroy();
  }

  #event(e: WatchLine): void {
    const at = performance.now();
    const o = e.object as T;
    if (e.type === 'DELETED') this.objects.delete(o.metadata.name);
    else if (e.type !== 'ERROR') this.objects.set(o.metadata.name, o);
    this.#waiters = this.#waiters.filter((w) => (w.check() ? (w.resolve(at), false) : true));
  }
}

function readyEndpointPods(eps: Watched<EndpointsObject>): string[] {
  return (eps.objects.get('web')?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.targetRef?.name ?? a.ip));
}

function isReady(p: Pod | undefined): boolean {
  return p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

interface Hit {
  start: number;
  end: number;
  /** the pod name that answered, or the error code */
  by: string;
}

/** One new TCP connection and one GET; never rejects. */
function hit(host: string, port: number): Promise<Hit> {
  const start = performance.now();
  return new Promise((resolve) => {
    const done = (by: string): void => resolve({ start, end: performance.now(), by });
    const req = http.get({ host, port, path: '/', agent: false, timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => done(body));
      res.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'error'));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'error'));
  });
}

/** Sequential connections until `stop` says so, or the loop's bounds. */
async function hammer(host: string, port: number, stop: (hits: Hit[]) => boolean): Promise<Hit[]> {
  const hits: Hit[] = [];
  const deadline = performance.now() + LOOP_MS;
  while (hits.length < LOOP_ATTEMPTS && performance.now() < deadline) {
    hits.push(await hit(host, port));
    if (stop(hits)) break;
  }
  return hits;
}

function stats(xs: number[]): string {
  if (xs.length === 0) return '– | – | – | –';
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return [at(0.5), at(0.9), s[0]!, s[s.length - 1]!].map((x) => x.toFixed(1)).join(' | ');
}

async function main(): Promise<void> {
  const loads: number[] = [loadavg()[0]!];
  const sampler = setInterval(() => loads.push(loadavg()[0]!), 2000);
  const h = new MeshboxHarness();
  const addFromEndpoints: number[] = [];
  const addFromReady: number[] = [];
  const addAttempts: number[] = [];
  const removeLast: number[] = [];
  const removeAfterT0: number[] = [];
  const direct: number[] = [];
  const viaVip: number[] = [];
  const errors: string[] = [];
  const failed = (phase: string, hs: Hit[]): void => {
    for (const x of hs) if (x.by !== 'web-a' && x.by !== 'web-b') errors.push(`${phase} ${x.by}`);
  };
  let pods: Watched<Pod> | undefined;
  let eps: Watched<EndpointsObject> | undefined;
  try {
    await h.start();
    pods = await Watched.open<Pod>(h.client, '/api/v1/namespaces/default/pods');
    eps = await Watched.open<EndpointsObject>(h.client, '/api/v1/namespaces/default/endpoints');
    await applyYaml(h.client, `${pod('web-a')}---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
`);
    await pods.until('web-a Ready', () => isReady(pods!.objects.get('web-a')));
    const vip = (await h.client.get<{ spec: { clusterIP: string } }>('/api/v1/namespaces/default/services/web')).spec.clusterIP;
    // the host must reach the ClusterIP (nat OUTPUT) before any figure means something
    const check = await hammer(vip, 80, (hs) => hs.at(-1)!.by === 'web-a');
    if (check.at(-1)?.by !== 'web-a') throw new Error(`the host cannot reach ClusterIP ${vip}:80: ${check.at(-1)?.by}`);

    for (let i = 0; i < ITERATIONS; i++) {
      // ADD
      await applyYaml(h.client, pod('web-b'));
      const tReady = await pods.until('web-b Ready', () => isReady(pods!.objects.get('web-b')));
      const t0 = await eps.until('web-b in Endpoints', () => readyEndpointPods(eps!).includes('web-b'));
      const add = await hammer(vip, 80, (hs) => hs.at(-1)!.by === 'web-b');
      const served = add.at(-1)!;
      if (served.by !== 'web-b') throw new Error(`iteration ${i}: no connection reached web-b within the loop's bounds`);
      failed('ADD', add);
      addFromEndpoints.push(served.end - t0);
      addFromReady.push(served.end - tReady);
      addAttempts.push(add.length);

      // baselines: a fresh connection to the pod IP directly, and through the settled ClusterIP
      const ip = pods.objects.get('web-b')!.status!.podIP!;
      for (let k = 0; k < BASELINE_CONNECTIONS; k++) {
        const d = await hit(ip, 8080);
        if (d.by !== 'web-b') throw new Error(`direct connection to ${ip}:8080 answered ${d.by}`);
        direct.push(d.end - d.start);
        const v = await hit(vip, 80);
        if (v.by !== 'web-a' && v.by !== 'web-b') throw new Error(`connection to ${vip}:80 answered ${v.by}`);
        viaVip.push(v.end - v.start);
      }

      // REMOVE: connect all along; t0 comes from the watch while the loop runs
      let t0r: number | undefined;
      const gone = eps.until('web-b out of Endpoints', () => !readyEndpointPods(eps!).includes('web-b')).then((t) => (t0r = t));
      const del = h.client.request('DELETE', '/api/v1/namespaces/default/pods/web-b');
      const rem = await hammer(vip, 80, (hs) => {
        if (t0r === undefined) return false;
        const since = hs.filter((x) => x.start >= t0r!);
        const lastB = since.findLastIndex((x) => x.by === 'web-b');
        return since.length - 1 - lastB >= CLEAN_RUN;
      });
      await del;
      await gone;
      if (rem.at(-1)!.start < t0r!) throw new Error(`iteration ${i}: Endpoints dropped web-b only after the loop's bounds`);
      failed('REMOVE', rem);
      const lateB = rem.filter((x) => x.start >= t0r! && x.by === 'web-b');
      removeAfterT0.push(lateB.length);
      removeLast.push(lateB.length ? lateB.at(-1)!.start - t0r! : 0);
      await pods.until('web-b gone', () => !pods!.objects.has('web-b'));
      loads.push(loadavg()[0]!);
    }
  } finally {
    clearInterval(sampler);
    pods?.close();
    eps?.close();
    const leaks = await h.down();
    if (leaks.length > 0) console.error('leftovers:', leaks);
  }

  console.log(`${ITERATIONS} iterations (add + remove of web-b beside web-a), load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`);
  console.log('');
  console.log('| measurement | median ms | p90 ms | min ms | max ms |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(`| ADD: Endpoints lists web-b → first host connection to ClusterIP answered by web-b | ${stats(addFromEndpoints)} |`);
  console.log(`| ADD: web-b Ready (pod watch) → that connection answered | ${stats(addFromReady)} |`);
  console.log(`| REMOVE: Endpoints drops web-b → last connection started since then that reached web-b (0 = none) | ${stats(removeLast)} |`);
  console.log(`| baseline: one fresh connection + GET to the pod IP directly | ${stats(direct)} |`);
  console.log(`| baseline: one fresh connection + GET through the ClusterIP, rules settled | ${stats(viaVip)} |`);
  console.log('');
  console.log(`ADD: connections until web-b answered, per iteration: ${addAttempts.join(', ')}`);
  console.log(`REMOVE: connections to web-b started after Endpoints dropped it, per iteration: ${removeAfterT0.join(', ')}`);
  const byKind = new Map<string, number>();
  for (const e of errors) byKind.set(e, (byKind.get(e) ?? 0) + 1);
  console.log(`failed connections in all loops: ${errors.length}${errors.length ? ` (${[...byKind].map(([k, n]) => `${k} ×${n}`).join(', ')})` : ''}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
