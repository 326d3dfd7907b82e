import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../api/types.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { InformerFactory } from '../reconcile/informer.js';
import { XdsClient } from '../meshconfig/xds/client.js';
import { ControlPlane, WATCHED_RESOURCES } from './server.js';
import { newDaemonSecret } from './push/credentials.js';
import { bookinfo, endpoints } from './translate/fixtures.js';
import type { MeshState, Pod } from './translate/mesh-types.js';
import { SnapshotBuilder } from './translate/snapshot-builder.js';
import { MeshIndex } from './translate/mesh-index.js';

async function setup(): Promise<{ store: SqliteStore; cp: ControlPlane; path: string; dir: string; pods: Pod[]; done: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-cp-'));
  const store = new SqliteStore({ stateDir: dir });
  const state = bookinfo();
  const pods: Pod[] = [];
  for (const [key, resource] of Object.entries(WATCHED_RESOURCES)) {
    for (const obj of state[key as keyof MeshState]) {
      const { uid: _u, resourceVersion: _r, creationTimestamp: _c, ...meta } = obj.metadata;
      const created = store.create(resource, { ...obj, metadata: meta } as KubeObject);
      if (created.kind === 'Pod') {
        // status is not written by create: set podIP the way the runtime does
        pods.push(store.updateStatus('pods', { ...created, status: (obj as Pod).status }) as Pod);
      }
    }
  }
  const done: string[] = [];
  const cp = new ControlPlane({
    informers: new InformerFactory(store),
    secret: newDaemonSecret(),
    listen: { path: join(dir, 'xds.sock') },
    debounceMs: 20,
    onBatchDone: (id, v, err) => done.push(`${id}@${v}${err ? ' NACK' : ''}`),
  });
  await cp.start();
  return { store, cp, path: join(dir, 'xds.sock'), dir, pods, done };
}

function nodeId(pod: Pod): string {
  return new SnapshotBuilder(new MeshIndex({ services: [], endpoints: [], pods: [], virtualServices: [], destinationRules: [], gateways: [], serviceEntries: [], sidecars: [] })).sidecarNodeId(pod);
}

test('a sidecar gets its config from the store; an endpoints change reaches it; status and config dump', async () => {
  const { store, cp, path, dir, pods } = await setup();
  const pp = pods.find((p) => p.metadata.name.startsWith('productpage'))!;
  let rejectNext = false;
  const refused: string[] = [];
  const client = new XdsClient({
    target: { path },
    node: { id: nodeId(pp), metadata: {} },
    token: cp.tokenForPod(pp),
    onSnapshot: () => {
      if (rejectNext) throw new Error('listener 15001 could not bind');
    },
    backoff: { initialMs: 20, maxMs: 100 },
  });
  const intruder = new XdsClient({
    target: { path },
    node: { id: nodeId(pp), metadata: {} },
    token: cp.tokenForPod(pods.find((p) => p.metadata.name.startsWith('ratings'))!),
    onSnapshot: () => {},
    onRefused: (code, message) => refused.push(`${code}: ${message}`),
  });
  try {
    client.start();
    await client.waitFor((c) => c.snapshot !== undefined);
    const v3 = () => client.snapshot!.clusters.find((c) => c.name === 'outbound|9080|v3|reviews.shop.svc.cluster.local')!;
    assert.equal(v3().endpoints.length, 1);
    assert.ok(client.snapshot!.routes[0]!.virtualHosts.some((v) => v.name === 'reviews.shop.svc.cluster.local:9080'));

    const before = client.snapshot!.version;
    const reviews = pods.filter((p) => p.metadata.name.startsWith('reviews-v1') || p.metadata.name.startsWith('reviews-v2'));
    const ep = store.get('endpoints', 'shop', 'reviews')!;
    store.update('endpoints', { ...ep, subsets: endpoints('shop', 'reviews', reviews, [{ name: 'http', port: 9080 }]).subsets });
    await client.waitFor((c) => c.snapshot!.version !== before);
    assert.deepEqual(v3().endpoints, [], 'v3 endpoint gone');

    await waitUntil(() => cp.status()[0]?.synced === true, 2000);
    const row = cp.status().find((r) => r.workload === `shop/${pp.metadata.name}`)!;
    assert.equal(row.kind, 'sidecar');
    assert.equal(row.types.endpoints.acked, client.snapshot!.version);
    const dump = cp.configDump(`shop/${pp.metadata.name}`);
    assert.equal(dump.desiredVersion, client.snapshot!.version);
    assert.ok(dump.snapshot.clusters.some((c) => c.name === 'inbound|9080||'));

    // The proxy rejects the next config: proxy-status shows NACKED with the reason, the proxy keeps its config.
    rejectNext = true;
    const vsObj = store.get('virtualservices.networking.istio.io', 'shop', 'reviews')!;
    store.update('virtualservices.networking.istio.io', { ...vsObj, spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v2' } }] }] } });
    await waitUntil(() => cp.status()[0]?.lastNack !== undefined);
    const nacked = cp.status()[0]!;
    assert.equal(nacked.synced, false);
    assert.match(nacked.lastNack!.error, /could not bind/);
    assert.ok(Object.values(nacked.types).some((t) => t.state === 'NACKED'));
    assert.equal(client.snapshot!.routes[0]!.virtualHosts.find((v) => v.name.startsWith('reviews'))!.routes.length, 2, 'old routes still served');

    intruder.start();
    await waitUntil(() => refused.length > 0);
    assert.match(refused[0]!, /MBX_CONTROLPLANE_UNAUTHORIZED: .*the token does not belong to pod shop\/productpage/);
    assert.equal(intruder.snapshot, undefined, "another pod's token gets nothing");
  } finally {
    await client.close();
    await intruder.close();
    await cp.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a registered ingress gateway gets listeners from the Gateway and bound VirtualServices', async () => {
  const { store, cp, path, dir } = await setup();
  const token = cp.registerGateway('shop', 'ingress', { istio: 'ingressgateway' });
  const gw = new XdsClient({ target: { path }, node: { id: cp.gatewayNodeId('shop', 'ingress'), metadata: {} }, token, onSnapshot: () => {} });
  try {
    await new Promise((r) => setTimeout(r, 60));
    gw.start();
    await gw.waitFor((c) => c.snapshot !== undefined);
    assert.deepEqual(gw.snapshot!.listeners.map((l) => `${l.address}:${l.port}`), ['127.0.0.1:8080']);
    assert.equal(cp.status()[0]!.kind, 'gateway');
    await gw.close();

    // the Gateway is deleted: its proxy's token no longer gets a config
    cp.unregisterGateway('shop', 'ingress');
    const refused: string[] = [];
    const again = new XdsClient({ target: { path }, node: { id: cp.gatewayNodeId('shop', 'ingress'), metadata: {} }, token, onSnapshot: () => {}, onRefused: (code) => refused.push(code) });
    again.start();
    try {
      await waitUntil(() => refused.length > 0);
      assert.equal(refused[0], 'MBX_CONTROLPLANE_UNAUTHORIZED');
    } finally {
      await again.close();
    }
  } finally {
    await gw.close();
    await cp.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

async function waitUntil(pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
