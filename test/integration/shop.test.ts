// The shop example (examples/shop/app.yaml) on a real daemon: real pods (runc + CNI), Deployments,
// readiness probes, Services with ClusterIPs and cluster DNS. A client pod calls the frontend by its
// Service name; every backend must answer from a pod of its own Deployment, the loadgen must get
// pages, the mesh config in mesh/ must be accepted, and a backend scaled to zero must degrade the
// page, not fail it. No sidecars yet: the traffic runs over the plain Service path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from '../../src/api/types.js';
import { REPO_ROOT, withMeshbox, type MeshboxHarness } from './helpers/meshbox-harness.js';

const NS = 'default';
const DEPLOYMENTS = ['catalog', 'inventory', 'reviews-v1', 'reviews-v2', 'frontend', 'loadgen'];

interface DeploymentStatus {
  status?: { readyReplicas?: number; availableReplicas?: number; conditions?: { type: string; status: string }[] };
}

interface Page {
  product: { name: string } | null;
  backends: Record<string, { ok: boolean; status: number; version: string | null; pod: string | null; error?: string }>;
  failed: string[];
  requestId: string;
}

// Runs inside the client pod: calls the frontend by Service name N times, one JSON page per line.
const CLIENT_SCRIPT = `
const n = Number(process.argv[1]);
(async () => {
  for (let i = 0; i < n; i++) {
    const res = await fetch('http://frontend:8080/api/products/' + (i % 3 + 1), {
      headers: { 'x-request-id': 'it-' + i, 'x-user': i % 2 ? 'tester' : 'anonymous' }, signal: AbortSignal.timeout(10000) });
    console.log(JSON.stringify({ status: res.status, page: await res.json() }));
  }
})().catch((err) => { console.error(String(err.cause ?? err)); process.exit(1); });
`;

async function callFrontend(h: MeshboxHarness, n: number): Promise<{ status: number; page: Page }[]> {
  const r = await h.cli(['exec', 'shop-client', '--', 'node', '-e', CLIENT_SCRIPT, String(n)]);
  assert.equal(r.code, 0, `client pod's calls: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { status: number; page: Page });
}

async function podsByApp(h: MeshboxHarness): Promise<Map<string, Set<string>>> {
  const byApp = new Map<string, Set<string>>();
  for (const p of await h.list<Pod>(`/api/v1/namespaces/${NS}/pods`)) {
    if (p.metadata.uid) h.knownPodUids.add(p.metadata.uid);
    const app = p.metadata.labels?.app;
    if (!app) continue;
    if (!byApp.has(app)) byApp.set(app, new Set());
    byApp.get(app)!.add(p.metadata.name);
  }
  return byApp;
}

test('the shop comes up from app.yaml and the frontend answers from every backend', { timeout: 600_000 }, async () => {
  await withMeshbox(async (h) => {
    await h.apply(readFileSync(join(REPO_ROOT, 'examples', 'shop', 'app.yaml'), 'utf8'));
    await h.apply(`apiVersion: v1
kind: Pod
metadata: { name: shop-client, annotations: { sidecar.istio.io/inject: "false" } }
spec:
  terminationGracePeriodSeconds: 1
  containers: [{ name: c, image: host, command: ["sleep", "3600"] }]
`);

    for (const name of DEPLOYMENTS) {
      await h.eventually(`deployment ${name} Available`, async () => {
        const d = await h.client.get<DeploymentStatus>(`/apis/apps/v1/namespaces/${NS}/deployments/${name}`);
        const available = d.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True');
        return available && (d.status?.readyReplicas ?? 0) >= 1;
      }, 180_000);
    }
    await h.waitReady('shop-client', NS, 60_000);
    const pods = await podsByApp(h);

    const answers = await callFrontend(h, 12);
    assert.equal(answers.length, 12);
    const reviewVersions = new Set<string>();
    for (const [i, { status, page }] of answers.entries()) {
      assert.equal(status, 200);
      assert.deepEqual(page.failed, [], `request ${i}: ${JSON.stringify(page.backends)}`);
      assert.equal(page.requestId, `it-${i}`, 'the request id is propagated');
      assert.ok(page.product?.name, 'catalog gave the product');
      for (const [backend, app] of [['catalog', 'catalog'], ['inventory', 'inventory'], ['reviews', 'reviews']] as const) {
        const b = page.backends[backend]!;
        assert.equal(b.ok, true, backend);
        assert.ok(pods.get(app)?.has(b.pod ?? ''), `${backend} answered from one of its own pods (${b.pod}; pods ${[...(pods.get(app) ?? [])]})`);
      }
      reviewVersions.add(page.backends.reviews!.version ?? '');
      // the reviews pod's name says its version: reviews-v1-<hash>-<id> answers as v1
      assert.ok(page.backends.reviews!.pod!.startsWith(`reviews-${page.backends.reviews!.version}-`));
    }
    assert.ok([...reviewVersions].every((v) => v === 'v1' || v === 'v2'), `reviews versions ${[...reviewVersions]}`);

    // the loadgen's report (every 10 s) shows pages served
    const loadgenPod = [...(pods.get('loadgen') ?? [])][0];
    assert.ok(loadgenPod, 'a loadgen pod exists');
    await h.eventually('loadgen reports answered requests', async () => {
      const logs = await h.cli(['logs', loadgenPod]);
      return /status=\{[^}]*"200":\d+/.test(logs.stdout);
    }, 60_000);

    // the daemon accepts the mesh config as written (sidecars that act on it come with the mesh)
    const mesh = await h.cli(['apply', '-f', join(REPO_ROOT, 'examples', 'shop', 'mesh')]);
    assert.equal(mesh.code, 0, mesh.stderr);
    const vs = await h.list(`/apis/networking.istio.io/v1/namespaces/${NS}/virtualservices`);
    assert.deepEqual(vs.map((o) => o.metadata.name).sort(), ['catalog', 'inventory', 'reviews', 'shop-ingress']);
    const dr = await h.list(`/apis/networking.istio.io/v1/namespaces/${NS}/destinationrules`);
    assert.deepEqual(dr.map((o) => o.metadata.name).sort(), ['catalog', 'reviews']);

    // a backend without ready pods degrades the page at once; the frontend names it
    const scaled = await h.cli(['scale', 'deployment/catalog', '--replicas', '0']);
    assert.equal(scaled.code, 0, scaled.stderr);
    await h.eventually('catalog pods gone', async () => !(await podsByApp(h)).get('catalog')?.size, 90_000);
    const degraded = await callFrontend(h, 3);
    for (const { status, page } of degraded) {
      assert.equal(status, 200);
      assert.deepEqual(page.failed, ['catalog']);
      assert.equal(page.product, null);
      assert.equal(page.backends.inventory!.ok, true);
      assert.equal(page.backends.reviews!.ok, true);
    }

    // remember every pod for the leak check in down()
    await podsByApp(h);
  });
});
