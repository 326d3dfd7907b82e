// ControlPlane.waitUntilEndpointGone: the kubelet's beforeStop waits on it so a terminating pod's
// app stops only after every other proxy has ACKed a config without the pod's endpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../api/types.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { InformerFactory } from '../reconcile/informer.js';
import { XdsClient } from '../meshconfig/xds/client.js';
import type { Snapshot } from '../meshconfig/types.js';
import { ControlPlane, WATCHED_RESOURCES } from './server.js';
import { newDaemonSecret } from './push/credentials.js';
import { bookinfo, endpoints } from './translate/fixtures.js';
import type { MeshState, Pod } from './translate/mesh-types.js';
import { SnapshotBuilder } from './translate/snapshot-builder.js';
import { MeshIndex } from './translate/mesh-index.js';

function nodeId(pod: Pod): string {
  return new SnapshotBuilder(new MeshIndex({ services: [], endpoints: [], pods: [], virtualServices: [], destinationRules: [], gateways: [], serviceEntries: [], sidecars: [] })).sidecarNodeId(pod);
}

function hasAddress(s: Snapshot | undefined, ip: string): boolean {
  return s?.clusters.some((c) => c.endpoints.some((e) => e.address === ip)) ?? false;
}

test('waitUntilEndpointGone resolves only after the other proxies ACKed a config without the pod, ignoring its own sidecar', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-cp-gone-'));
  const store = new SqliteStore({ stateDir: dir });
  const pods: Pod[] = [];
  const state = bookinfo();
  for (const [key, resource] of Object.entries(WATCHED_RESOURCES)) {
    for (const obj of state[key as keyof MeshState]) {
      const { uid: _u, resourceVersion: _r, creationTimestamp: _c, ...meta } = obj.metadata;
      const created = store.create(resource, { ...obj, metadata: meta } as KubeObject);
      if (created.kind === 'Pod') pods.push(store.updateStatus('pods', { ...created, status: (obj as Pod).status }) as Pod);
    }
  }
  const path = join(dir, 'xds.sock');
  const cp = new ControlPlane({ informers: new InformerFactory(store), secret: newDaemonSecret(), listen: { path }, debounceMs: 20 });
  await cp.start();
  const pp = pods.find((p) => p.metadata.name.startsWith('productpage'))!;
  const v3 = pods.find((p) => p.metadata.name.startsWith('reviews-v3'))!;
  const v3IP = v3.status!.podIP!;
  // productpage's proxy is slow to apply: its ACK of each batch comes 300 ms late.
  let slowMs = 0;
  const client = new XdsClient({
    target: { path },
    node: { id: nodeId(pp), metadata: {} },
    token: cp.tokenForPod(pp),
    onSnapshot: () => new Promise((r) => setTimeout(r, slowMs)),
    backoff: { initialMs: 20, maxMs: 100 },
  });
  // reviews-v3's own sidecar will reject the change and keep its own address: it is not waited for
  let ownRejects = false;
  const own = new XdsClient({
    target: { path },
    node: { id: nodeId(v3), metadata: {} },
    token: cp.tokenForPod(v3),
    onSnapshot: () => {
      if (ownRejects) throw new Error('rejected for the test');
    },
    backoff: { initialMs: 20, maxMs: 100 },
  });
  try {
    client.start();
    own.start();
    await client.waitFor((c) => c.snapshot !== undefined);
    await own.waitFor((c) => c.snapshot !== undefined);
    assert.ok(hasAddress(client.snapshot, v3IP), 'productpage starts with the v3 endpoint');

    const t0 = performance.now();
    assert.equal(await cp.waitUntilEndpointGone(v3IP, 150), false, 'the endpoint is still served: false after the timeout');
    assert.ok(performance.now() - t0 >= 140, 'it waited the timeout');
    assert.equal(await cp.waitUntilEndpointGone('10.255.255.254', 1000), true, 'an address no proxy has: true at once');

    slowMs = 300;
    ownRejects = true;
    const reviews = pods.filter((p) => p.metadata.name.startsWith('reviews-v1') || p.metadata.name.startsWith('reviews-v2'));
    const ep = store.get('endpoints', 'shop', 'reviews')!;
    const t1 = performance.now();
    const gone = cp.waitUntilEndpointGone(v3IP, 3000);
    store.update('endpoints', { ...ep, subsets: endpoints('shop', 'reviews', reviews, [{ name: 'http', port: 9080 }]).subsets });
    assert.equal(await gone, true);
    assert.ok(performance.now() - t1 >= 280, `it waited for the slow ACK (${Math.round(performance.now() - t1)} ms)`);
    assert.equal(hasAddress(client.snapshot, v3IP), false, 'when it resolves, productpage runs a config without v3');
    assert.ok(hasAddress(own.snapshot, v3IP), "v3's own sidecar (NACKed) still lists itself, and was not waited for");
  } finally {
    await client.close();
    await own.close();
    await cp.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
