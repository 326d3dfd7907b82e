// The shop example (examples/shop/) run with plain `node` on 127.0.0.1: the code is taken from the
// ConfigMap in app.yaml (what pods actually run), each service starts as a child process on port 0,
// and the frontend is called like a browser or the loadgen would. Checks the page is built from all
// three backends, headers are propagated, and a failing, slow or absent backend degrades the page
// instead of failing the frontend. Also: every manifest of the example loads without issues, and
// the control plane turns mesh/ into the routes the files describe (canary, header route, ...).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { formatIssue, loadManifests } from '../src/api/manifest.js';
import type { KubeObject } from '../src/api/types.js';
import { MeshIndex, SnapshotBuilder, type MeshState } from '../src/controlplane/translate/index.js';
import { validateSnapshot } from '../src/meshconfig/validate-snapshot.js';

/** The repository root, found from the built test's location (dist/test or .build/NAME/test). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'examples', 'shop', 'app.yaml'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('examples/shop/app.yaml not found above the test');
    dir = up;
  }
  return dir;
}

const SHOP = join(repoRoot(), 'examples', 'shop');
const START_TIMEOUT_MS = 30_000; // node starts slowly on a loaded 2-core CI machine

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
}

const children: ChildProcess[] = [];
let codeDir = '';

/** Starts one service file from the ConfigMap on 127.0.0.1, port 0; resolves with its URL. */
function startService(file: string, env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [join(codeDir, file)], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start within ${START_TIMEOUT_MS} ms:\n${out}`)), START_TIMEOUT_MS);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = out.match(/listening on 127\.0\.0\.1:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: `http://127.0.0.1:${m[1]}`, output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited with ${code}:\n${out}`));
    });
  });
}

/** A stand-in inventory that records the headers the frontend sent. */
function recordingInventory(): Promise<{ url: string; seen: http.IncomingHttpHeaders[]; server: http.Server }> {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ service: 'inventory', version: 'recorder', pod: 'test', inStock: 4 }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server })));
}

interface PageJson {
  product: { name: string } | null;
  inStock: number | null;
  reviews: { reviewer: string; text: string; stars?: number }[] | null;
  backends: Record<'catalog' | 'inventory' | 'reviews', { ok: boolean; status: number; version: string | null; pod: string | null; error?: string }>;
  failed: string[];
  degraded: boolean;
  requestId: string;
}

async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: T }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as T };
}

describe('examples/shop', () => {
  let catalog: Running;
  let inventory: Running;
  let reviewsV1: Running;
  let reviewsV2: Running;
  let frontend: Running;

  before(async () => {
    const text = readFileSync(join(SHOP, 'app.yaml'), 'utf8');
    const loaded = loadManifests([{ path: 'app.yaml', text }]);
    const cm = loaded.documents.find((d) => d.object.kind === 'ConfigMap' && d.object.metadata.name === 'shop-code');
    assert.ok(cm, 'app.yaml holds the ConfigMap shop-code');
    codeDir = mkdtempSync(join(tmpdir(), 'mbx-shop-'));
    for (const [name, code] of Object.entries((cm.object as unknown as { data: Record<string, string> }).data)) writeFileSync(join(codeDir, name), code);

    [catalog, inventory, reviewsV1, reviewsV2] = await Promise.all([
      startService('catalog.mjs'),
      startService('inventory.mjs'),
      startService('reviews.mjs', { VERSION: 'v1' }),
      startService('reviews.mjs', { VERSION: 'v2' }),
    ]);
    frontend = await startService('frontend.mjs', { CATALOG_URL: catalog.url, INVENTORY_URL: inventory.url, REVIEWS_URL: reviewsV2.url });
  });

  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    if (codeDir) rmSync(codeDir, { recursive: true, force: true });
  });

  test('every manifest of the example loads without issues or warnings', () => {
    const files = ['app.yaml', ...readdirSync(join(SHOP, 'mesh')).filter((f) => f.endsWith('.yaml')).map((f) => join('mesh', f))];
    assert.ok(files.length >= 4, 'app.yaml and the mesh files');
    for (const f of files) {
      const r = loadManifests([{ path: f, text: readFileSync(join(SHOP, f), 'utf8') }]);
      assert.deepEqual([...r.issues, ...r.warnings].map(formatIssue), [], f);
      assert.ok(r.documents.length > 0, `${f} has documents`);
    }
  });

  test('the product page is built from catalog, inventory and reviews, each saying who answered', async () => {
    const { status, headers, body } = await getJson<PageJson>(`${frontend.url}/api/products/1`);
    assert.equal(status, 200);
    assert.equal(headers.get('x-shop-degraded'), null);
    assert.deepEqual(body.failed, []);
    assert.equal(body.degraded, false);
    assert.equal(body.product?.name, 'Mesh-woven tote bag');
    assert.equal(body.inStock, 120);
    assert.equal(body.reviews?.length, 2);
    for (const name of ['catalog', 'inventory', 'reviews'] as const) {
      assert.equal(body.backends[name].ok, true, name);
      assert.ok(body.backends[name].pod, `${name} names its pod`);
    }
    assert.equal(body.backends.reviews.version, 'v2');
    assert.ok(body.reviews!.every((r) => typeof r.stars === 'number'), 'v2 reviews carry stars');

    const page = await fetch(`${frontend.url}/products/2`, { signal: AbortSignal.timeout(10_000) });
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(html, /Sidecar coffee mug/);
    assert.match(html, /12\.50 EUR/);
    assert.match(html, /7 in stock/);
    assert.match(html, /★★★★☆/);
    assert.match(html, /catalog: v1 on .* inventory: v1 on .* reviews: v2 on /);
  });

  test('reviews v1 has no stars, v2 has them; both name their version in a header', async () => {
    const v1 = await fetch(`${reviewsV1.url}/reviews/3`, { signal: AbortSignal.timeout(10_000) });
    const v2 = await fetch(`${reviewsV2.url}/reviews/3`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(v1.headers.get('x-shop-version'), 'v1');
    assert.equal(v2.headers.get('x-shop-version'), 'v2');
    const b1 = (await v1.json()) as { reviews: { stars?: number }[] };
    const b2 = (await v2.json()) as { reviews: { stars?: number }[] };
    assert.ok(b1.reviews.length === 2 && b1.reviews.every((r) => r.stars === undefined));
    assert.deepEqual(b2.reviews.map((r) => r.stars), [4, 5]);
  });

  test('x-request-id, traceparent and x-user reach the backends; a missing request id is made', async () => {
    const rec = await recordingInventory();
    try {
      const fe = await startService('frontend.mjs', { CATALOG_URL: catalog.url, INVENTORY_URL: rec.url, REVIEWS_URL: reviewsV1.url });
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const { body } = await getJson<PageJson>(`${fe.url}/api/products/1`, { 'x-request-id': 'req-123', traceparent, 'x-user': 'tester' });
      assert.equal(body.backends.inventory.version, 'recorder');
      assert.equal(rec.seen.length, 1);
      assert.equal(rec.seen[0]!['x-request-id'], 'req-123');
      assert.equal(rec.seen[0]!['traceparent'], traceparent);
      assert.equal(rec.seen[0]!['x-user'], 'tester');
      assert.equal(body.requestId, 'req-123');

      const second = await getJson<PageJson>(`${fe.url}/api/products/1`);
      const made = rec.seen[1]!['x-request-id'];
      assert.match(String(made), /^[0-9a-f-]{36}$/, 'the frontend starts a request id');
      assert.equal(second.body.requestId, made);
      assert.equal(second.headers.get('x-request-id'), made);
      assert.match(String(rec.seen[1]!['traceparent']), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      assert.equal(rec.seen[1]!['x-user'], undefined);
    } finally {
      rec.server.close();
    }
  });

  test('FAIL_PERCENT=100 on catalog degrades the page, names catalog, and the frontend stays up', async () => {
    const broken = await startService('catalog.mjs', { FAIL_PERCENT: '100' });
    const fe = await startService('frontend.mjs', { CATALOG_URL: broken.url, INVENTORY_URL: inventory.url, REVIEWS_URL: reviewsV1.url });
    for (let i = 0; i < 5; i++) {
      const { status, headers, body } = await getJson<PageJson>(`${fe.url}/api/products/1`);
      assert.equal(status, 200, 'a degraded page is still a page');
      assert.equal(headers.get('x-shop-degraded'), 'catalog');
      assert.deepEqual(body.failed, ['catalog']);
      assert.equal(body.product, null);
      assert.equal(body.backends.catalog.status, 503);
      assert.match(body.backends.catalog.error ?? '', /HTTP 503: injected failure/);
      assert.equal(body.backends.inventory.ok, true);
      assert.equal(body.backends.reviews.version, 'v1');
    }
    const html = await (await fetch(`${fe.url}/`, { signal: AbortSignal.timeout(10_000) })).text();
    assert.match(html, /catalog failed: HTTP 503/);
    assert.match(html, /120 in stock/);
    assert.equal((await fetch(`${fe.url}/healthz`)).status, 200);
    assert.equal(fe.child.exitCode, null, 'the frontend is still running');
    // the backend's own health check stays green while it fails requests (probes keep it in service)
    assert.equal((await fetch(`${broken.url}/healthz`)).status, 200);
  });

  test('a backend that is down or slower than the timeout degrades the page, with the reason', async () => {
    const slow = await startService('inventory.mjs', { DELAY_MS: '3000' });
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r)); // nothing listens there any more
    const fe = await startService('frontend.mjs', {
      CATALOG_URL: catalog.url,
      INVENTORY_URL: slow.url,
      REVIEWS_URL: `http://127.0.0.1:${deadPort}`,
      BACKEND_TIMEOUT_MS: '500',
    });
    const started = Date.now();
    const { status, body } = await getJson<PageJson>(`${fe.url}/api/products/1`);
    assert.equal(status, 200);
    assert.ok(Date.now() - started < 2500, 'the page does not wait for the slow backend');
    assert.deepEqual(body.failed.sort(), ['inventory', 'reviews']);
    assert.match(body.backends.inventory.error ?? '', /no answer within 500 ms/);
    assert.match(body.backends.reviews.error ?? '', /ECONNREFUSED/);
    assert.equal(body.product?.name, 'Mesh-woven tote bag');
  });

  test('POST /admin/fault breaks and heals one running backend', async () => {
    const b = await startService('catalog.mjs');
    assert.equal((await fetch(`${b.url}/products/1`)).status, 200);
    const set = await fetch(`${b.url}/admin/fault?failPercent=100`, { method: 'POST' });
    assert.equal(set.status, 200);
    assert.equal((await fetch(`${b.url}/products/1`)).status, 503);
    await fetch(`${b.url}/admin/fault?failPercent=0`, { method: 'POST' });
    assert.equal((await fetch(`${b.url}/products/1`)).status, 200);
  });

  test('buying reserves stock at inventory until it is sold out', async () => {
    const fe = await startService('frontend.mjs', { CATALOG_URL: catalog.url, INVENTORY_URL: (await startService('inventory.mjs')).url, REVIEWS_URL: reviewsV1.url });
    const buy = (id: number) => fetch(`${fe.url}/api/products/${id}/buy`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    const r = await buy(2);
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { inStock: number }).inStock, 6);
    const soldOut = await buy(3);
    assert.equal(soldOut.status, 502);
    assert.match(((await soldOut.json()) as { error: string }).error, /sold out/);
  });

  test('loadgen calls the frontend at its rate for its duration, reports, then idles', async () => {
    const lg = spawn(process.execPath, [join(codeDir, 'loadgen.mjs')], {
      env: { PATH: process.env.PATH ?? '', TARGET: `${frontend.url}/api/products/`, RATE: '20', DURATION_S: '2', TESTER_PERCENT: '50' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(lg);
    let out = '';
    lg.stdout.on('data', (d: Buffer) => (out += d.toString()));
    lg.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 30_000;
    while (!/done after \d+ requests/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const sent = Number(out.match(/done after (\d+) requests/)?.[1]);
    assert.ok(sent > 0 && sent <= 41, `bounded: 20 req/s for 2 s, sent ${sent}\n${out}`);
    assert.match(out, /status=\{"200":\d+\}/);
    assert.match(out, /reviews=\{[^}]*->v2/);
    assert.equal(lg.exitCode, null, 'idles after the run instead of exiting (no restart loop)');
    lg.kill('SIGTERM');
  });
});

/** The whole example as the control plane would see it: one Running pod per Deployment, Endpoints by selector. */
function shopMeshState(): MeshState {
  const files = ['app.yaml', ...readdirSync(join(SHOP, 'mesh')).filter((f) => f.endsWith('.yaml')).map((f) => join('mesh', f))];
  const loaded = loadManifests(files.map((f) => ({ path: f, text: readFileSync(join(SHOP, f), 'utf8') })));
  assert.deepEqual(loaded.issues, []);
  const ns = 'default';
  const placed = <T,>(o: KubeObject): T => ({ ...o, metadata: { ...o.metadata, namespace: ns, creationTimestamp: '2026-01-01T00:00:00Z' } }) as T;
  const objs = loaded.documents.map((d) => d.object as KubeObject & { spec: any });
  const of = (kind: string) => objs.filter((o) => o.kind === kind);
  const pods = of('Deployment').map((d, i) => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: `${d.metadata.name}-5d8f7c9b6-x${i}x1z`, namespace: ns, uid: `uid-${i}`, labels: d.spec.template.metadata.labels },
    spec: d.spec.template.spec,
    status: { phase: 'Running', podIP: `10.244.0.${10 + i}` },
  }));
  const services = of('Service').map((s, i) => ({ ...placed<any>(s), spec: { ...s.spec, clusterIP: `10.96.0.${10 + i}` } }));
  const endpoints = services.map((s) => {
    const selected = pods.filter((p) => Object.entries(s.spec.selector as Record<string, string>).every(([k, v]) => p.metadata.labels[k] === v));
    assert.ok(selected.length > 0, `service ${s.metadata.name} selects a pod`);
    const port = selected[0]!.spec.containers[0].ports[0].containerPort as number;
    return {
      apiVersion: 'v1', kind: 'Endpoints', metadata: { name: s.metadata.name, namespace: ns },
      subsets: [{ addresses: selected.map((p) => ({ ip: p.status.podIP, targetRef: { kind: 'Pod', name: p.metadata.name, namespace: ns } })), ports: [{ name: 'http', port }] }],
    };
  });
  return {
    pods, services, endpoints,
    virtualServices: of('VirtualService').map((o) => placed(o)),
    destinationRules: of('DestinationRule').map((o) => placed(o)),
    gateways: of('Gateway').map((o) => placed(o)),
    serviceEntries: [],
    sidecars: [],
  } as unknown as MeshState;
}

describe('examples/shop/mesh through the control plane', () => {
  const state = shopMeshState();
  const builder = new SnapshotBuilder(new MeshIndex(state));
  const ipOf = (prefix: string) => state.pods.find((p) => p.metadata.name.startsWith(prefix))!.status!.podIP!;

  test("the frontend's sidecar gets the canary, the header route, retries, timeouts and outlier detection", () => {
    const { snapshot, warnings } = builder.sidecar(state.pods.find((p) => p.metadata.name.startsWith('frontend'))!);
    assert.deepEqual(warnings, []);
    assert.deepEqual(validateSnapshot({ ...snapshot, version: '1' }).issues, [], 'the proxy accepts it');
    const hosts = snapshot.routes.find((r) => r.name === 'outbound')!.virtualHosts;
    const host = (name: string) => hosts.find((v) => v.name === `${name}.default.svc.cluster.local:9080`)!;
    const cluster = (name: string) => snapshot.clusters.find((c) => c.name === name)!;

    const [tester, canary] = host('reviews').routes;
    assert.deepEqual(tester!.match, [{ headers: { 'x-user': { exact: 'tester' } } }]);
    assert.deepEqual(tester!.route, [{ cluster: 'outbound|9080|v2|reviews.default.svc.cluster.local', weight: 100 }]);
    assert.deepEqual(canary!.route, [
      { cluster: 'outbound|9080|v1|reviews.default.svc.cluster.local', weight: 90 },
      { cluster: 'outbound|9080|v2|reviews.default.svc.cluster.local', weight: 10 },
    ]);
    assert.deepEqual(cluster('outbound|9080|v1|reviews.default.svc.cluster.local').endpoints, [{ address: ipOf('reviews-v1'), port: 9080 }]);
    assert.deepEqual(cluster('outbound|9080|v2|reviews.default.svc.cluster.local').endpoints, [{ address: ipOf('reviews-v2'), port: 9080 }]);

    const catalogRoute = host('catalog').routes[0]!;
    assert.equal(catalogRoute.timeout, '1s');
    assert.deepEqual(catalogRoute.retries, { attempts: 3, perTryTimeout: '300ms', retryOn: '5xx,reset,connect-failure' });
    assert.equal(cluster('outbound|9080||catalog.default.svc.cluster.local').outlierDetection?.consecutive5xxErrors, 3);
    assert.equal(host('inventory').routes[0]!.timeout, '500ms');
  });

  test('the ingress gateway listens on 127.0.0.1:8080 and sends everything to the frontend', () => {
    const { snapshot, warnings } = builder.gateway({ namespace: 'default', name: 'ingressgateway', labels: { istio: 'ingressgateway' } });
    assert.deepEqual(warnings, []);
    assert.deepEqual(validateSnapshot({ ...snapshot, version: '1' }).issues, []);
    assert.deepEqual(snapshot.listeners.map((l) => [l.address, l.port]), [['127.0.0.1', 8080]]);
    const routes = snapshot.routes.flatMap((r) => r.virtualHosts.flatMap((v) => v.routes));
    assert.deepEqual(routes.map((r) => r.route), [[{ cluster: 'outbound|8080||frontend.default.svc.cluster.local', weight: 100 }]]);
  });
});
