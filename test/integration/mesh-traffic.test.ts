// Istio traffic management end to end, with real pods and their sidecars: a weighted canary split,
// a header route, retries (GET hidden, POST not retried), a route timeout, outlier ejection, fault
// injection (delay, abort, a partial abort), and a plain TCP service through both sidecars.
// Load runs inside the client pod (load.mjs, one exec per batch); which pod answered comes from the
// backend's x-backend header, proxy-made answers from x-meshbox-error.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../src/api/types.js';
import { meshboxForThisFile } from './helpers/meshbox-harness.js';
import { podReady } from './helpers/pod-waits.js';
import {
  backendYaml,
  clientPodYaml,
  docs,
  meshAppConfigMap,
  proxyAdmin,
  runLoad as runLoadIn,
  serviceYaml,
  tcpEcho,
  tcpEchoYaml,
  versionShare,
  type LoadOptions,
  type LoadSummary,
} from './helpers/mesh-fixtures.js';

const h = meshboxForThisFile({ mesh: true });

// Services share backends where a test only needs "some pod that answers": `slow` and `faulty`
// select the reviews pods, so the file starts 8 pods, not 11.
const APPS = docs(
  meshAppConfigMap(),
  backendYaml({ name: 'reviews-v1', app: 'reviews', version: 'v1' }),
  backendYaml({ name: 'reviews-v2', app: 'reviews', version: 'v2' }),
  serviceYaml({ name: 'reviews', app: 'reviews' }),
  serviceYaml({ name: 'slow', app: 'reviews' }),
  serviceYaml({ name: 'faulty', app: 'reviews' }),
  // every second request fails with 500, deterministically (FAIL_RATE spreads failures evenly);
  // 500, not 503, because Istio's default retry policy already retries 503
  backendYaml({ name: 'flaky', env: { FAIL_RATE: '0.5', FAIL_STATUS: '500' } }),
  serviceYaml({ name: 'flaky' }),
  // three pods behind `od`: two good ones and one that answers every request with 500
  backendYaml({ name: 'od-good', app: 'od', version: 'good', replicas: 2 }),
  backendYaml({ name: 'od-bad', app: 'od', version: 'bad', env: { FAIL_RATE: '1', FAIL_STATUS: '500' } }),
  serviceYaml({ name: 'od', app: 'od' }),
  tcpEchoYaml({ name: 'echo' }),
  clientPodYaml(),
);

const SUBSETS = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
`;

/** load.mjs in the client pod; each run's size, wall time and achieved rate go to the test log. */
async function runLoad(hh: typeof h, pod: string, url: string, o: LoadOptions): Promise<LoadSummary> {
  const t0 = Date.now();
  const s = await runLoadIn(hh, pod, url, o);
  console.log(`load ${o.method ?? 'GET'} ${url} n=${o.n} c=${o.concurrency ?? 4}: wall ${Date.now() - t0} ms, in-pod ${s.durationMs} ms (${s.rate}/s), statuses ${JSON.stringify(s.statuses)}, p50 ${s.latencyMs.p50} ms`);
  return s;
}

/** Ready pods whose name starts with `prefix`, once there are exactly `count` of them. */
async function readyPods(prefix: string, count: number): Promise<Pod[]> {
  try {
    return await h.eventually(`${count} ready pod(s) ${prefix}*`, async () => {
      const pods = (await h.list<Pod>('/api/v1/namespaces/default/pods')).filter((p) => p.metadata.name.startsWith(prefix));
      for (const p of pods) if (p.metadata.uid) h.knownPodUids.add(p.metadata.uid);
      return pods.length === count && pods.every(podReady) ? pods : undefined;
    }, 150_000);
  } catch (err) {
    const pods = await h.cli(['get', 'pods', '-o', 'wide']);
    throw new Error(`${(err as Error).message}\n--- pods ---\n${pods.stdout}`);
  }
}

/**
 * Runs small probes until `done(summary)` holds: config reaches the client's sidecar a little after
 * `meshbox apply` returns. Bounded by `timeoutMs`; fails with the last summary.
 */
async function converge(url: string, o: LoadOptions, done: (s: LoadSummary) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: LoadSummary | undefined;
  while (Date.now() < deadline) {
    last = await runLoad(h, 'client', url, o);
    if (done(last)) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.fail(`${what} not in effect within ${timeoutMs} ms; last probe: ${JSON.stringify(last)}`);
}

async function backendCounts(pod: Pod): Promise<Record<string, number>> {
  // from the host through the backend's inbound capture (its sidecar), not through the client
  const res = await fetch(`http://${pod.status!.podIP}:8080/__counts`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200, `/__counts of ${pod.metadata.name}`);
  return (await res.json()) as Record<string, number>;
}

/** Sum of the client sidecar's istio_requests_total (reporter=source) samples carrying all `labels`. */
async function clientRequests(labels: Record<string, string>): Promise<number> {
  const client = await h.pod('client');
  const text = await (await fetch(`http://${client!.status!.podIP}:15090/stats/prometheus`, { signal: AbortSignal.timeout(5000) })).text();
  let n = 0;
  for (const l of text.split('\n')) {
    if (!l.startsWith('istio_requests_total{') || !l.includes('reporter="source"')) continue;
    if (Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`))) n += Number(l.split(' ').at(-1));
  }
  return n;
}

describe('mesh traffic management', () => {
  before(async () => {
    await h.apply(APPS);
    await Promise.all([
      readyPods('client', 1),
      readyPods('reviews-v1-', 1),
      readyPods('reviews-v2-', 1),
      readyPods('flaky-', 1),
      readyPods('od-good-', 2),
      readyPods('od-bad-', 1),
      readyPods('echo-', 1),
    ]);
  });

  it('splits 90/10 between subsets over 2,000 requests', async () => {
    await h.apply(docs(SUBSETS, `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
    - match: [{ headers: { end-user: { exact: jason } } }]
      route: [{ destination: { host: reviews, subset: v2 } }]
    - route:
        - { destination: { host: reviews, subset: v1 }, weight: 90 }
        - { destination: { host: reviews, subset: v2 }, weight: 10 }
`));
    // without the VirtualService the two pods share ~50/50; wait until v2 drops well below that
    await converge('http://reviews/', { n: 100, concurrency: 4 }, (s) => s.ok === 100 && versionShare(s, 'v2') < 0.3, 'the 90/10 split');
    const s = await runLoad(h, 'client', 'http://reviews/', { n: 2000, concurrency: 8 });
    assert.equal(s.ok, 2000, `every request answered 2xx: ${JSON.stringify(s)}`);
    const v2 = versionShare(s, 'v2');
    console.log(`90/10 split measured: v2 ${(v2 * 100).toFixed(1)}% of 2000`);
    if (v2 < 0.07 || v2 > 0.13) {
      // what the client's sidecar ran at the end, and how often its config changed meanwhile
      const dump = JSON.parse(await proxyAdmin(h, 'client', '/config_dump')) as { version?: string; updates?: unknown; snapshot?: { routes?: { virtualHosts?: { name: string }[] }[] } };
      const vhosts = (dump.snapshot?.routes ?? []).flatMap((r) => r.virtualHosts ?? []).filter((v) => v.name.startsWith('reviews.'));
      assert.fail(`v2 share ${(v2 * 100).toFixed(1)}% is not within [7%, 13%]: ${JSON.stringify(s.backends)}; client sidecar at version ${dump.version}, updates ${JSON.stringify(dump.updates)}, reviews routes ${JSON.stringify(vhosts)}`);
    }
    assert.ok(versionShare(s, 'v1') + v2 > 0.999, `only v1 and v2 answered: ${JSON.stringify(s.backends)}`);
  });

  it('routes end-user: jason to v2 and everyone else to v1', async () => {
    const jason = await runLoad(h, 'client', 'http://reviews/', { n: 100, concurrency: 4, headers: { 'end-user': 'jason' } });
    assert.equal(jason.ok, 100, JSON.stringify(jason));
    assert.equal(versionShare(jason, 'v2'), 1, `every jason request went to v2: ${JSON.stringify(jason.backends)}`);
    // a header route that only selects v1 proves the header, not the split, decides
    await h.apply(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
    - match: [{ headers: { end-user: { exact: jason } } }]
      route: [{ destination: { host: reviews, subset: v2 } }]
    - route: [{ destination: { host: reviews, subset: v1 } }]
`);
    // no header → v1 only (before: ~10 % v2 by the split)
    await converge('http://reviews/', { n: 100, concurrency: 4 }, (s) => s.ok === 100 && versionShare(s, 'v1') === 1, 'the header-only VirtualService');
    const mixed = await Promise.all([
      runLoad(h, 'client', 'http://reviews/', { n: 100, concurrency: 4, headers: { 'end-user': 'jason' } }),
      // another user: the match is on the value, not on the header being present
      runLoad(h, 'client', 'http://reviews/', { n: 100, concurrency: 4, headers: { 'end-user': 'alice' } }),
    ]);
    assert.equal(versionShare(mixed[0], 'v2'), 1, `jason → v2 only: ${JSON.stringify(mixed[0].backends)}`);
    assert.equal(versionShare(mixed[1], 'v1'), 1, `alice → v1 only: ${JSON.stringify(mixed[1].backends)}`);
    assert.equal(mixed[0].ok + mixed[1].ok, 200);
  });

  it('retries hide a 50%-failing backend for GET and do not retry POST', async () => {
    const [flaky] = await readyPods('flaky-', 1);
    const plain = await runLoad(h, 'client', 'http://flaky/', { n: 40, concurrency: 1 });
    assert.equal(plain.ok, 20, `without a retry policy for 500, every second GET fails: ${JSON.stringify(plain.statuses)}`);
    await h.apply(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: flaky }
spec:
  hosts: [flaky]
  http:
    - name: flaky-retries
      route: [{ destination: { host: flaky } }]
      retries: { attempts: 3, retryOn: 5xx }
`);
    await converge('http://flaky/', { n: 20, concurrency: 1 }, (s) => s.ok === 20, 'the retry policy');
    const before = await backendCounts(flaky!);
    // concurrency 1: the backend's alternation then guarantees a retry lands on a good slot
    const get = await runLoad(h, 'client', 'http://flaky/', { n: 200, concurrency: 1 });
    const mid = await backendCounts(flaky!);
    assert.ok(get.ok >= 198, `≥ 99% of GETs succeed through retries: ${JSON.stringify(get)}`);
    // one at a time against a strict alternation, each GET's first try lands on a failing slot
    // once the pattern is in step, and its retry on a good one: close to 2 tries per GET
    const getTries = (mid.GET ?? 0) - (before.GET ?? 0);
    assert.ok(getTries >= 300 && getTries <= 400, `the failed GETs were retried (1.5-2 tries per GET), saw ${getTries} tries for 200 GETs`);

    const post = await runLoad(h, 'client', 'http://flaky/', { n: 200, concurrency: 1, method: 'POST' });
    const after = await backendCounts(flaky!);
    const postTries = (after.POST ?? 0) - (before.POST ?? 0);
    assert.equal(postTries, 200, `each POST reached the backend exactly once (no retry of non-idempotent requests): ${JSON.stringify(after)}`);
    const post5xx = Object.entries(post.statuses).filter(([c]) => Number(c) >= 500).reduce((n, [, v]) => n + v, 0);
    assert.ok(post5xx >= 80 && post5xx <= 120, `about half the POSTs fail with 5xx: ${JSON.stringify(post.statuses)}`);
    assert.equal(post.ok + post5xx, 200, JSON.stringify(post));
  });

  it('a route timeout answers 504 with flag UT naming the route and the upstream', async () => {
    await h.apply(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: slow }
spec:
  hosts: [slow]
  http:
    - name: slow-timeout
      route: [{ destination: { host: slow } }]
      timeout: 0.5s
`);
    // the app sleeps 2 s when asked; a fast request shows the route works at all
    await converge('http://slow/?sleep=2000', { n: 1, concurrency: 1 }, (s) => s.statuses['504'] === 1, 'the 0.5 s timeout');
    const fast = await runLoad(h, 'client', 'http://slow/', { n: 5, concurrency: 1 });
    assert.equal(fast.ok, 5, JSON.stringify(fast));
    const s = await runLoad(h, 'client', 'http://slow/?sleep=2000', { n: 6, concurrency: 3 });
    assert.deepEqual(s.statuses, { 504: 6 }, JSON.stringify(s));
    assert.deepEqual(s.flags, { UT: 6 }, JSON.stringify(s));
    const reason = s.failures[0]?.error ?? '';
    assert.match(reason, /^UT /);
    assert.match(reason, /route \S*slow-timeout\b/, `x-meshbox-error names the route: ${reason}`);
    assert.match(reason, /outbound\|80\|\|slow\.default\.svc\.cluster\.local/, `x-meshbox-error names the upstream cluster: ${reason}`);
    assert.match(reason, /upstream \d+\.\d+\.\d+\.\d+:8080/, `x-meshbox-error names the upstream endpoint: ${reason}`);
    assert.ok(s.latencyMs.max < 1800, `answered at the timeout, not after the 2 s sleep: ${JSON.stringify(s.latencyMs)}`);
    assert.ok(s.latencyMs.p50 >= 450, `not before the timeout: ${JSON.stringify(s.latencyMs)}`);
    // the client sidecar's metrics say why too (1 from the convergence probe, maybe more)
    const ut = await clientRequests({ destination_service_name: 'slow', response_code: '504', response_flags: 'UT' });
    assert.ok(ut >= 7, `istio_requests_total counts the timeouts with response_flags="UT": ${ut}`);
  });

  it('outlier detection ejects the one pod of three that returns 5xx', async () => {
    const [bad] = await readyPods('od-bad-', 1);
    const badName = bad!.metadata.name;
    const good = await readyPods('od-good-', 2);
    await h.apply(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: od }
spec:
  host: od
  trafficPolicy:
    outlierDetection:
      consecutive5xxErrors: 3
      interval: 1s
      baseEjectionTime: 30s
      # Envoy >= 1.27 counts the cap strictly: the default 10 % ejects nothing among 3 hosts
      maxEjectionPercent: 50
`);
    const cluster = 'outbound|80||od.default.svc.cluster.local';
    // warm-up: the bad pod answers 500 until it has failed 3 times in a row, then it is ejected
    await h.eventually('the bad od pod ejected on the client sidecar', async () => {
      await runLoad(h, 'client', 'http://od/', { n: 30, concurrency: 2 });
      const clusters = JSON.parse(await proxyAdmin(h, 'client', '/clusters')) as { clusters: { name: string; endpoints: { address: string; health: string }[]; outlier_detection: Record<string, number> | null }[] };
      const c = clusters.clusters.find((x) => x.name === cluster);
      const ep = c?.endpoints.find((e) => e.address.startsWith(`${bad!.status!.podIP}:`));
      return ep?.health === 'ejected' ? c : undefined;
    }, 30_000);
    const badBefore = await backendCounts(bad!);
    const s = await runLoad(h, 'client', 'http://od/', { n: 300, concurrency: 4 });
    const badAfter = await backendCounts(bad!);
    // 6: on a slow machine the 30 s ejection may end mid-run; 3 more failures eject it again
    const fromBad = Object.entries(s.backends).filter(([k]) => k.startsWith(`${badName} `)).reduce((n, [, v]) => n + v, 0);
    assert.ok(fromBad <= 6, `after ejection almost nothing reaches ${badName}: ${fromBad} of 300 answered by it (${JSON.stringify(s.backends)})`);
    const badSaw = (badAfter.GET ?? 0) - (badBefore.GET ?? 0);
    assert.ok(badSaw <= 6, `${badName} itself counted ${badSaw} of the 300 requests`);
    assert.ok(s.ok >= 297, `the good pods answer: ${JSON.stringify(s.statuses)}`);
    for (const g of good) {
      const n = Object.entries(s.backends).filter(([k]) => k.startsWith(`${g.metadata.name} `)).reduce((a, [, v]) => a + v, 0);
      assert.ok(n >= 60, `both good pods still serve: ${g.metadata.name} got ${n}`);
    }
    const view = JSON.parse(await proxyAdmin(h, 'client', '/clusters')) as { clusters: { name: string; outlier_detection: Record<string, number> | null }[] };
    const od = view.clusters.find((x) => x.name === cluster)?.outlier_detection;
    assert.ok(od, `/clusters shows outlier detection on ${cluster}`);
    assert.equal(od.ejectionsActive, 1, `/clusters: ${JSON.stringify(od)}`);
    assert.ok((od.ejectionsConsecutive5xx ?? 0) >= 1, `/clusters: ${JSON.stringify(od)}`);
    const stats = await proxyAdmin(h, 'client', '/stats');
    const line = `cluster.${cluster}.outlier_detection.ejections_active: 1`;
    assert.ok(stats.split('\n').includes(line), `Envoy-style /stats count the ejection (${line}):\n${stats}`);
  });

  it('fault injection delays, aborts with FI, and aborts about half at 50%', async () => {
    const vs = (fault: string) => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: faulty }
spec:
  hosts: [faulty]
  http:
    - name: faulty-route
      route: [{ destination: { host: faulty } }]
      fault: ${fault}
`;
    const base = await runLoad(h, 'client', 'http://faulty/', { n: 20, concurrency: 2 });
    assert.equal(base.ok, 20, JSON.stringify(base));

    await h.apply(vs('{ delay: { fixedDelay: 1s, percentage: { value: 100 } } }'));
    // p50 of 3 parallel requests: two of them delayed, not one slow answer on a loaded machine
    await converge('http://faulty/', { n: 3, concurrency: 3 }, (s) => s.latencyMs.p50 >= 950, 'the 1 s delay');
    const delayed = await runLoad(h, 'client', 'http://faulty/', { n: 8, concurrency: 4 });
    assert.equal(delayed.ok, 8, `a delay still serves: ${JSON.stringify(delayed)}`);
    assert.ok(delayed.latencyMs.p50 >= 950 && delayed.latencyMs.p50 >= base.latencyMs.p50 + 900, `delayed by ~1 s: ${JSON.stringify(delayed.latencyMs)} vs ${JSON.stringify(base.latencyMs)}`);
    assert.ok(delayed.latencyMs.max < 3000, `by about 1 s, not more: ${JSON.stringify(delayed.latencyMs)}`);

    await h.apply(vs('{ abort: { httpStatus: 418, percentage: { value: 100 } } }'));
    await converge('http://faulty/', { n: 1, concurrency: 1 }, (s) => s.statuses['418'] === 1, 'the 418 abort');
    const aborted = await runLoad(h, 'client', 'http://faulty/', { n: 50, concurrency: 4 });
    assert.deepEqual(aborted.statuses, { 418: 50 }, JSON.stringify(aborted));
    assert.deepEqual(aborted.flags, { FI: 50 }, JSON.stringify(aborted));
    assert.deepEqual(aborted.backends, {}, 'no aborted request reached a backend');
    assert.match(aborted.failures[0]?.error ?? '', /route \S*faulty-route\b/);
    assert.match(aborted.failures[0]?.error ?? '', /cluster outbound\|80\|\|faulty\.default\.svc\.cluster\.local/, 'the abort names the destination the route picked');
    const fi = await clientRequests({ destination_service_name: 'faulty', response_code: '418', response_flags: 'FI' });
    assert.ok(fi >= 50, `istio_requests_total counts the aborts with response_flags="FI": ${fi}`);

    await h.apply(vs('{ abort: { httpStatus: 503, percentage: { value: 50 } } }'));
    await converge('http://faulty/', { n: 40, concurrency: 4 }, (s) => (s.statuses['503'] ?? 0) > 0 && s.ok > 0, 'the 50% abort');
    const half = await runLoad(h, 'client', 'http://faulty/', { n: 400, concurrency: 4 });
    const abortedHalf = half.flags.FI ?? 0;
    console.log(`50% abort measured: ${abortedHalf} of 400`);
    // binomial(400, 0.5): sd 10; [160, 240] is 4 sd
    assert.ok(abortedHalf >= 160 && abortedHalf <= 240, `about half of 400 aborted: ${abortedHalf} (${JSON.stringify(half.statuses)})`);
    assert.equal(half.statuses['503'], abortedHalf, `every 503 is an injected abort: ${JSON.stringify(half)}`);
    assert.equal(half.ok, 400 - abortedHalf, JSON.stringify(half.statuses));
  });

  it('a TCP (non-HTTP) service works through both sidecars', async () => {
    const [echo] = await readyPods('echo-', 1);
    const r = await tcpEcho(h, 'client', 'echo', 9000, 'hello-tcp');
    assert.equal(r.code, 0, `TCP round trip through the sidecars failed (the proxy needs original-destination routing for non-HTTP ports): ${r.stderr}${r.stdout}`);
    assert.equal(r.stdout.trim(), `echo ${echo!.metadata.name} hello-tcp`,
      `the echo server's answer comes back unchanged; an HTTP status line here means a sidecar parsed the TCP bytes as HTTP (no original-destination routing for port 9000): ${r.stdout}`);
    // both sidecars saw the connection
    const client = await h.pod('client');
    const metric = async (p: Pod) => (await (await fetch(`http://${p.status!.podIP}:15090/stats/prometheus`)).text())
      .split('\n').filter((l) => l.startsWith('istio_tcp_connections_opened_total{') && l.includes('destination_service_name="echo"'));
    const src = (await metric(client!)).filter((l) => l.includes('reporter="source"'));
    const dst = (await metric(echo!)).filter((l) => l.includes('reporter="destination"'));
    assert.ok(src.length > 0, 'the client sidecar reports the TCP connection (reporter=source)');
    assert.ok(dst.length > 0, 'the echo sidecar reports the TCP connection (reporter=destination)');
  });
});
