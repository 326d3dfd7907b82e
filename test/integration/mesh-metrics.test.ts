/**
 * Mesh metrics end to end, with real proxies: a client sidecar ("web", reporter=source) in front of
 * two server sidecars ("reviews-a", "reviews-b", reporter=destination), each a real standalone
 * `meshbox proxy --config FILE` process, in front of upstreams on 127.0.0.1. Upstream b answers 500
 * to every 10th request it gets. The aggregator must show both replicas' series with the counts the
 * upstreams saw, and `meshbox top --once` the RPS and success rate of that load, counted once.
 * Then a real daemon (the test harness) serves GET /metrics with its DNS metrics and a gateway
 * proxy's metrics, and counts a pod whose istio-proxy container does not answer as a scrape failure.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { run as runCli } from '../../src/cli/main.js';
import { formatRps, formatShare } from '../../src/cli/commands/top-rates.js';
import { createMeshMetrics } from '../../src/controlplane/telemetry/mesh-metrics.js';
import { MetricsAggregator, type ScrapeTarget } from '../../src/controlplane/telemetry/metrics-aggregator.js';
import { silentLogger } from '../../src/core/logger.js';
import { labelValue, parseExposition, type MetricFamily } from '../../src/meshconfig/telemetry/prometheus-text.js';
import type { Pod } from '../../src/api/types.js';
import { backendYaml, clientPodYaml, docs, meshAppConfigMap, runLoad, serviceYaml, startLoad } from './helpers/mesh-fixtures.js';
import { MeshboxHarness, REPO_ROOT } from './helpers/meshbox-harness.js';
import { podReady } from './helpers/pod-waits.js';
import { freePort } from './helpers/free-port.js';

const BIN = join(REPO_ROOT, 'bin', 'meshbox.js');
const REQUESTS = 400;

interface Upstream {
  port: number;
  hits: number;
  failures: number;
  close(): Promise<void>;
}

async function upstream(failEvery: number): Promise<Upstream> {
  const u: Upstream = { port: 0, hits: 0, failures: 0, close: async () => undefined };
  const server = http.createServer((_req, res) => {
    u.hits++;
    if (failEvery > 0 && u.hits % failEvery === 0) {
      u.failures++;
      res.writeHead(500).end('planned failure');
    } else res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  u.port = (server.address() as { port: number }).port;
  u.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return u;
}

interface RunningProxy {
  ports: Record<string, number>;
  child: ChildProcess;
  stop(): Promise<void>;
}

const REVIEWS = { service: 'reviews.shop.svc.cluster.local', serviceName: 'reviews', serviceNamespace: 'shop' };

/** A server sidecar: inbound listener → its local app. */
function inboundConfig(pod: string, appPort: number): object {
  return {
    node: { id: `sidecar~127.0.0.1~${pod}.shop~shop.svc.cluster.local`, metadata: { workload: pod, namespace: 'shop', app: 'reviews', version: 'v1' } },
    admin: { address: '127.0.0.1', port: 0 },
    stats: { address: '127.0.0.1', port: 0 },
    health: { address: '127.0.0.1', port: 0 },
    accessLog: 'off',
    drainTimeout: '1s',
    version: '1',
    listeners: [{ name: 'inbound', address: '127.0.0.1', port: 0, protocol: 'http', direction: 'inbound', routeConfig: 'inbound' }],
    routes: [{ name: 'inbound', virtualHosts: [{ name: 'local', domains: ['*'], routes: [{ name: 'all', match: [{ path: { prefix: '/' } }], route: [{ cluster: 'local-app' }] }] }] }],
    clusters: [{ name: 'local-app', protocol: 'http', endpoints: [{ address: '127.0.0.1', port: appPort }], destination: { ...REVIEWS, workload: pod, workloadNamespace: 'shop' } }],
  };
}

/** The client sidecar: outbound listener → both server sidecars. */
function outboundConfig(serverPorts: number[]): object {
  return {
    node: { id: 'sidecar~127.0.0.1~web.shop~shop.svc.cluster.local', metadata: { workload: 'web', namespace: 'shop', app: 'web', version: 'v1' } },
    admin: { address: '127.0.0.1', port: 0 },
    stats: { address: '127.0.0.1', port: 0 },
    health: { address: '127.0.0.1', port: 0 },
    accessLog: 'off',
    drainTimeout: '1s',
    version: '1',
    listeners: [{ name: 'outbound', address: '127.0.0.1', port: 0, protocol: 'http', direction: 'outbound', routeConfig: 'outbound' }],
    routes: [{ name: 'outbound', virtualHosts: [{ name: 'reviews', domains: ['*'], routes: [{ name: 'all', match: [{ path: { prefix: '/' } }], route: [{ cluster: 'reviews' }] }] }] }],
    clusters: [{ name: 'reviews', protocol: 'http', endpoints: serverPorts.map((port) => ({ address: '127.0.0.1', port })), destination: { ...REVIEWS, app: 'reviews' } }],
  };
}

/** `meshbox proxy --config FILE` as a user runs it; its ports come from its "proxy started" log line. */
async function startProxy(dir: string, name: string, config: object): Promise<RunningProxy> {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [BIN, 'proxy', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MESHBOX_LOG_LEVEL: 'info' } });
  let log = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM'); // forwarded to the lean proxy process, which drains and exits
    const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
    await exited;
    clearTimeout(timer);
  };
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`proxy ${name} did not start within 20 s:\n${log}`)), 20_000);
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      for (const line of log.split('\n')) {
        if (!line.includes('"proxy started"')) continue;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { listeners: Record<string, number> }).listeners);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`proxy ${name} exited with ${code}:\n${log}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  return { ports, child, stop };
}

/** `count` GETs through the client sidecar, 8 at a time. */
async function load(port: number, count: number): Promise<number[]> {
  const codes: number[] = [];
  let next = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const one = (): Promise<number> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/reviews/1', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
        .on('error', reject);
    });
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) {
        next++;
        codes.push(await one());
      }
    }),
  );
  agent.destroy();
  return codes;
}

function family(families: MetricFamily[], name: string): MetricFamily {
  const f = families.find((x) => x.name === name);
  assert.ok(f, `family ${name} is served`);
  return f;
}

/** Sum of a family's samples (by sample name) matching every given label. */
function total(f: MetricFamily, sampleName: string, match: Record<string, string>): number {
  return f.samples
    .filter((s) => s.name === sampleName && Object.entries(match).every(([k, v]) => labelValue(s.labels, k) === v))
    .reduce((n, s) => n + s.value, 0);
}


/** "0.42ms", "250ms", "1.5s" → milliseconds */
function ms(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(text);
  assert.ok(m, `${text} is a latency`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

describe('mesh metrics from real proxies', () => {
  it('the aggregator merges both replicas with namespace/pod labels, and top --once computes RPS and success of the load', { timeout: 120_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mbx-metrics-'));
    const upstreams: Upstream[] = [];
    const proxies: RunningProxy[] = [];
    let socketServer: http.Server | undefined;
    try {
      upstreams.push(await upstream(0), await upstream(10));
      const [appA, appB] = upstreams as [Upstream, Upstream];
      proxies.push(await startProxy(dir, 'reviews-a', inboundConfig('reviews-a', appA.port)));
      proxies.push(await startProxy(dir, 'reviews-b', inboundConfig('reviews-b', appB.port)));
      const [a, b] = proxies as [RunningProxy, RunningProxy];
      const web = await startProxy(dir, 'web', outboundConfig([a.ports.inbound!, b.ports.inbound!]));
      proxies.push(web);
      const stats = (p: RunningProxy): string => `http://127.0.0.1:${p.ports.stats}/stats/prometheus`;
      const targets: ScrapeTarget[] = [
        { namespace: 'shop', pod: 'reviews-a', url: stats(a) },
        { namespace: 'shop', pod: 'reviews-b', url: stats(b) },
        { namespace: 'shop', pod: 'web', url: stats(web) },
      ];

      // 1. the merge, after a known load
      const codes = await load(web.ports.outbound!, REQUESTS);
      assert.equal(codes.length, REQUESTS);
      assert.equal(codes.filter((c) => c === 500).length, appB.failures, 'every planned failure reached the client');
      assert.ok(appA.hits > 0 && appB.hits > 0, `both replicas served (a ${appA.hits}, b ${appB.hits})`);
      const aggregator = new MetricsAggregator({ targets: () => targets });
      const text = await aggregator.render();
      const families = parseExposition(text);
      const requests = family(families, 'istio_requests_total');
      assert.equal(text.match(/^# TYPE istio_requests_total /gm)?.length, 1, 'one TYPE line per family');
      assert.equal(total(requests, 'istio_requests_total', { pod: 'reviews-a', reporter: 'destination', response_code: '200' }), appA.hits);
      assert.equal(total(requests, 'istio_requests_total', { pod: 'reviews-b', reporter: 'destination', response_code: '200' }), appB.hits - appB.failures);
      assert.equal(total(requests, 'istio_requests_total', { pod: 'reviews-b', reporter: 'destination', response_code: '500' }), appB.failures);
      assert.equal(total(requests, 'istio_requests_total', { pod: 'web', reporter: 'source', destination_service_name: 'reviews' }), REQUESTS);
      const duration = family(families, 'istio_request_duration_milliseconds');
      assert.equal(total(duration, 'istio_request_duration_milliseconds_count', { pod: 'reviews-a' }), appA.hits);
      assert.equal(total(duration, 'istio_request_duration_milliseconds_count', { pod: 'reviews-b' }), appB.hits);
      assert.equal(total(family(families, 'meshbox_telemetry_target_up'), 'meshbox_telemetry_target_up', {}), 3);

      // 2. top --once through the API socket: a second known load between its two samples
      const metrics = await createMeshMetrics({ pods: () => [], gateways: () => targets, log: silentLogger });
      let scrapes = 0;
      let loadDone: Promise<number[]> | undefined;
      socketServer = http.createServer((req, res) => {
        const nth = ++scrapes;
        // the first sample is taken: the load runs inside the interval
        if (nth === 1) res.once('finish', () => (loadDone = load(web.ports.outbound!, REQUESTS)));
        // on a busy machine the load may outlast the interval: the second sample waits for it
        if (nth === 2 && loadDone) void loadDone.then(() => metrics.handler(req, res), () => metrics.handler(req, res));
        else metrics.handler(req, res);
      });
      await new Promise<void>((r) => socketServer!.listen(join(dir, 'meshbox.sock'), r));
      const hitsBefore = appA.hits + appB.hits;
      const failuresBefore = appB.failures;
      const times: number[] = [];
      const stdout = new Collect();
      const stderr = new Collect();
      const code = await runCli(['--state-dir', dir, 'top', '-n', 'shop', '--once', '--interval', '3'], {
        stdout,
        stderr,
        now: () => {
          const t = Date.now();
          times.push(t);
          return t;
        },
      });
      assert.equal(code, 0, stderr.text);
      t.diagnostic(`meshbox top --once -n shop:\n${stdout.text}`);
      assert.ok(loadDone, 'the load started after the first sample');
      await loadDone;
      await metrics.close();
      assert.equal(scrapes, 2);
      assert.equal(appA.hits + appB.hits - hitsBefore, REQUESTS, 'the load finished inside the interval');
      const failures = appB.failures - failuresBefore;
      const seconds = (times[1]! - times[0]!) / 1000;
      const lines = stdout.text.trimEnd().split('\n');
      assert.match(lines[0]!, /^SERVICE\s+NAMESPACE\s+RPS\s+SUCCESS\s+P50\s+P95\s+P99$/);
      assert.equal(lines.length, 2, `one row, reviews, counted once:\n${stdout.text}`);
      const [service, ns, rps, success, p50, p95, p99] = lines[1]!.split(/\s+/);
      assert.equal(service, 'reviews');
      assert.equal(ns, 'shop');
      // RPS over the measured interval, counted once (both sidecars reported every request)
      assert.equal(rps, formatRps(REQUESTS / seconds), `rps ${rps} vs ${REQUESTS}/${seconds}s`);
      assert.equal(success, formatShare((REQUESTS - failures) / REQUESTS));
      assert.ok(failures >= 15 && failures <= 25, `about 10 % of b's half failed (${failures})`);
      const [m50, m95, m99] = [p50, p95, p99].map((q) => ms(q!));
      assert.ok(m50! > 0 && m50! <= m95! && m95! <= m99!, `quantiles in order: ${p50} ${p95} ${p99}`);
    } finally {
      socketServer?.close();
      for (const p of proxies) await p.stop();
      for (const u of upstreams) await u.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mesh metrics on a real daemon', () => {
  it('GET /metrics serves the DNS metrics and a gateway proxy\'s, and counts a sidecar that does not answer', { timeout: 180_000 }, async () => {
    const h = new MeshboxHarness();
    const ns = `mbx-${randomBytes(3).toString('hex')}`;
    try {
      await h.start();
      // a container named istio-proxy that serves nothing on 15090: a target that fails
      await h.apply(`apiVersion: v1
kind: Namespace
metadata: { name: ${ns} }
---
apiVersion: v1
kind: Pod
metadata: { name: mute-sidecar, namespace: ${ns} }
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: istio-proxy
      image: host
      command: [sleep, "3600"]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: ${ns} }
spec:
  selector: { istio: ${ns} }
  servers:
    - port: { number: ${await freePort()}, name: http, protocol: HTTP }
      hosts: ["*"]
`);
      await h.waitReady('mute-sidecar', ns, 60_000);
      const text = await h.eventually('a scrape failure for the mute sidecar', async () => {
        const res = await h.client.stream('/metrics');
        let body = '';
        for await (const chunk of res as AsyncIterable<Buffer>) body += chunk.toString();
        const failed = body.includes(`meshbox_telemetry_scrape_failures_total{namespace="${ns}",pod="mute-sidecar"`);
        return failed && body.includes(`meshbox_telemetry_target_up{namespace="${ns}",pod="edge"} 1`) ? body : undefined;
      });
      const families = parseExposition(text);
      assert.ok(total(family(families, 'meshbox_dns_queries_total'), 'meshbox_dns_queries_total', {}) >= 0);
      family(families, 'meshbox_dns_cache_entries');
      assert.ok(total(family(families, 'meshbox_telemetry_scrape_failures_total'), 'meshbox_telemetry_scrape_failures_total', { namespace: ns, pod: 'mute-sidecar' }) >= 1);
      assert.equal(total(family(families, 'meshbox_telemetry_target_up'), 'meshbox_telemetry_target_up', { namespace: ns, pod: 'mute-sidecar' }), 0);
      // the gateway proxy's own series, labelled with the Gateway's namespace and name
      assert.ok(total(family(families, 'meshbox_proxy_config_updates_total'), 'meshbox_proxy_config_updates_total', { namespace: ns, pod: 'edge', result: 'accepted' }) >= 1);
      // the CLI end to end, as a user runs it: no request metrics yet, said on stderr
      const top = await h.cli(['top', '-A', '--once', '--interval', '0.5']);
      assert.equal(top.code, 0, top.stderr);
      assert.match(top.stderr, /No mesh services with request metrics in any namespace/);
    } finally {
      const leaks = await h.down();
      assert.deepEqual(leaks, [], 'meshbox down leaves nothing behind');
    }
  });
});

describe('mesh metrics from injected sidecars', () => {
  it('both sidecars report a call; /metrics has the client\'s source and the server\'s destination series; top shows the service once', { timeout: 420_000 }, async (t) => {
    const h = new MeshboxHarness({ mesh: true });
    const ns = `mbx-${randomBytes(3).toString('hex')}`;
    try {
      await h.start();
      // every 10th request the app gets answers 500 (FAIL_RATE spreads failures evenly); no readiness
      // probe, so the only requests the server sidecar sees are the client's
      await h.apply(
        docs(
          `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${ns} }`,
          meshAppConfigMap(ns),
          backendYaml({ name: 'ratings', namespace: ns, readiness: false, env: { FAIL_RATE: '0.1', FAIL_STATUS: '500' } }),
          serviceYaml({ name: 'ratings', namespace: ns }),
          clientPodYaml({ namespace: ns }),
        ),
      );
      const server = await h.eventually(
        'client and ratings pods ready',
        async () => {
          const pods = await h.list<Pod>(`/api/v1/namespaces/${ns}/pods`);
          for (const p of pods) if (p.metadata.uid) h.knownPodUids.add(p.metadata.uid);
          const ratings = pods.find((p) => p.metadata.name.startsWith('ratings-'));
          const client = pods.find((p) => p.metadata.name === 'client');
          return ratings && client && podReady(ratings) && podReady(client) ? ratings : undefined;
        },
        240_000,
      );
      // the client's sidecar gets its config a little after the pod is ready
      await h.eventually('answers from the app through both sidecars', async () => {
        const s = await runLoad(h, 'client', 'http://ratings/', { n: 10, namespace: ns });
        return Object.keys(s.statuses).every((code) => code === '200' || code === '500') && s.n === 10;
      }, 60_000);

      const read = async (): Promise<MetricFamily[]> => {
        const res = await h.client.stream('/metrics');
        let body = '';
        for await (const chunk of res as AsyncIterable<Buffer>) body += chunk.toString();
        return parseExposition(body);
      };
      const count = (families: MetricFamily[], match: Record<string, string>): number =>
        total(family(families, 'istio_requests_total'), 'istio_requests_total', { destination_service_name: 'ratings', destination_service_namespace: ns, ...match });
      const before = await read();
      const s = await runLoad(h, 'client', 'http://ratings/', { n: 200, concurrency: 4, namespace: ns });
      assert.equal((s.statuses['200'] ?? 0) + (s.statuses['500'] ?? 0), 200, JSON.stringify(s.statuses));
      const after = await read();
      const delta = (match: Record<string, string>): number => count(after, match) - count(before, match);
      const serverPod = server.metadata.name;
      assert.equal(delta({ reporter: 'source', namespace: ns, pod: 'client' }), 200, 'the client sidecar reported every call');
      assert.equal(delta({ reporter: 'destination', namespace: ns, pod: serverPod }), 200, 'the server sidecar reported every call');
      assert.equal(delta({ reporter: 'destination', namespace: ns, pod: serverPod, response_code: '500' }), 20);
      assert.equal(delta({ reporter: 'source', namespace: ns, pod: 'client', response_code: '500' }), 20);
      assert.ok(total(family(after, 'meshbox_dns_queries_total'), 'meshbox_dns_queries_total', {}) > 0, 'the client resolved ratings through the cluster DNS');

      // top while paced load runs: one row for ratings, counted once, about 10 % failures
      const load = startLoad(h, 'client', 'http://ratings/', { n: 3000, rate: 40, concurrency: 4, namespace: ns });
      let top: Awaited<ReturnType<typeof h.cli>>;
      try {
        await new Promise((r) => setTimeout(r, 1000));
        top = await h.cli(['top', '-n', ns, '--once', '--interval', '4']);
      } finally {
        const summary = await load.stop();
        t.diagnostic(`paced load: ${summary.n} requests at ${summary.rate}/s, statuses ${JSON.stringify(summary.statuses)}`);
      }
      t.diagnostic(`meshbox top --once -n ${ns}:\n${top.stdout}`);
      assert.equal(top.code, 0, top.stderr);
      const lines = top.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 2, top.stdout);
      const [service, namespace, rps, success] = lines[1]!.split(/\s+/);
      assert.equal(service, 'ratings');
      assert.equal(namespace, ns);
      assert.ok(Number(rps) > 5 && Number(rps) < 60, `rps ${rps} (paced at 40/s; both sidecars' reports would double it)`);
      const share = Number(success!.replace('%', ''));
      assert.ok(share >= 85 && share <= 95, `success ${success}`);
    } finally {
      const leaks = await h.down();
      assert.deepEqual(leaks, [], 'meshbox down leaves nothing behind');
    }
  });
});
