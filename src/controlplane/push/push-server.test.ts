import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onFrames, writeFrame } from '../../meshconfig/xds/codec.js';
import { XdsClient } from '../../meshconfig/xds/client.js';
import type { PushMessage } from '../../meshconfig/xds/protocol.js';
import type { Cluster, Snapshot } from '../../meshconfig/types.js';
import { ProxyUnauthorized } from '../errors.js';
import { newDaemonSecret, proxyToken, verifyProxyToken } from './credentials.js';
import { PushServer } from './push-server.js';
import { makeParts, type ProxyResources } from './resource-parts.js';

const secret = newDaemonSecret();

function server(): { server: PushServer; path: string; dir: string; done: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-xds-'));
  const done: string[] = [];
  const s = new PushServer({
    authorize: (hello) => {
      if (!verifyProxyToken(secret, hello.node.id, hello.token)) throw ProxyUnauthorized(hello.node.id, 'the token does not match');
      return { proxyId: hello.node.id, kind: 'sidecar', workload: `shop/${hello.node.id}` };
    },
    onConnect: (id) => connects.get(id.proxyId)?.(),
    onBatchDone: (id, v, err) => done.push(`${id.proxyId}@${v}${err ? ' NACK' : ''}`),
  });
  return { server: s, path: join(dir, 'xds.sock'), dir, done };
}
const connects = new Map<string, () => void>();

function snap(endpointPort: number, extra: Partial<Snapshot> = {}): Pick<Snapshot, 'listeners' | 'routes' | 'clusters'> {
  const cluster: Cluster = { name: 'outbound|9080||reviews', protocol: 'http', endpoints: [{ address: '10.0.0.1', port: endpointPort }] };
  return {
    listeners: [{ name: 'virtualOutbound', address: '127.0.0.1', port: 15001, protocol: 'http', direction: 'outbound', routeConfig: 'outbound' }],
    routes: [{ name: 'outbound', virtualHosts: [{ name: 'reviews:9080', domains: ['reviews:9080'], routes: [{ name: 'default', route: [{ cluster: cluster.name, weight: 100 }] }] }] }],
    clusters: [cluster, { name: 'outbound|9080||ratings', protocol: 'http', endpoints: [] }],
    ...extra,
  };
}

function res(s: Pick<Snapshot, 'listeners' | 'routes' | 'clusters'>, prev?: ReturnType<typeof makeParts>): { parts: ReturnType<typeof makeParts>; res: ProxyResources } {
  const parts = makeParts('own', s, prev);
  return { parts, res: { clusters: [parts.clusters], endpoints: [parts.endpoints], listeners: [parts.listeners], routes: [parts.routes] } };
}

function client(path: string, id: string, token = proxyToken(secret, id)): XdsClient & { refused: string[] } {
  const refused: string[] = [];
  const c = new XdsClient({
    target: { path },
    node: { id, metadata: {} },
    token,
    onSnapshot: () => {},
    onRefused: (code) => refused.push(code),
    backoff: { initialMs: 20, maxMs: 100 },
  });
  return Object.assign(c, { refused });
}

test('ACK: the proxy gets its snapshot, status says SYNCED per type', async () => {
  const { server: s, path, dir } = server();
  await s.listen({ path });
  const c = client(path, 'p1');
  try {
    connects.set('p1', () => s.update('p1', '1', res(snap(9080)).res));
    c.start();
    await c.waitFor((x) => x.snapshot?.version === '1');
    assert.equal(c.snapshot?.clusters.find((x) => x.name === 'outbound|9080||reviews')?.endpoints[0]?.port, 9080);
    assert.equal(c.snapshot?.routes[0]?.virtualHosts[0]?.name, 'reviews:9080');
    await waitUntil(() => s.status()[0]?.types.routes.state === 'SYNCED');
    const row = s.status()[0]!;
    assert.deepEqual(Object.values(row.types).map((t) => [t.state, t.acked]), [['SYNCED', '1'], ['SYNCED', '1'], ['SYNCED', '1'], ['SYNCED', '1']]);
    assert.equal(row.types.routes.resources, 2, 'route config header + one virtual host');
  } finally {
    await c.close();
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('NACK keeps the last good config and shows the error; the next good config is applied', async () => {
  const { server: s, path, dir, done } = server();
  await s.listen({ path });
  const c = client(path, 'p2');
  try {
    const first = res(snap(9080));
    connects.set('p2', () => s.update('p2', '1', first.res));
    c.start();
    await c.waitFor((x) => x.snapshot?.version === '1');
    // A route to a cluster that does not exist: the proxy must refuse it.
    const bad = snap(9080);
    bad.routes[0]!.virtualHosts[0]!.routes[0]!.route = [{ cluster: 'outbound|9080|v9|reviews', weight: 100 }];
    s.update('p2', '2', res(bad, first.parts).res);
    await waitUntil(() => done.includes('p2@2 NACK'));
    assert.equal(c.snapshot?.version, '1', 'last good config kept');
    assert.match(c.lastError ?? '', /outbound\|9080\|v9\|reviews/);
    const row = s.status()[0]!;
    assert.equal(row.types.routes.state, 'NACKED');
    assert.equal(row.types.clusters.state, 'SYNCED', 'a type outside the rejected batch stays synced');
    assert.equal(row.types.routes.acked, '1');
    assert.match(row.lastNack?.error ?? '', /is not defined in clusters/);
    s.update('p2', '3', res(snap(9081), first.parts).res);
    await c.waitFor((x) => x.snapshot?.version === '3');
    assert.equal(c.snapshot?.clusters.find((x) => x.name === 'outbound|9080||reviews')?.endpoints[0]?.port, 9081);
    await waitUntil(() => s.status()[0]?.types.endpoints.state === 'SYNCED' && s.status()[0]?.types.endpoints.acked === '3');
  } finally {
    await c.close();
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a token for another proxy is refused and gets no config', async () => {
  const { server: s, path, dir } = server();
  await s.listen({ path });
  const c = client(path, 'victim', proxyToken(secret, 'attacker'));
  try {
    connects.set('victim', () => s.update('victim', '1', res(snap(9080)).res));
    c.start();
    await waitUntil(() => c.refused.length > 0);
    assert.deepEqual(c.refused.slice(0, 1), ['MBX_CONTROLPLANE_UNAUTHORIZED']);
    assert.equal(c.snapshot, undefined);
    assert.deepEqual(s.status(), []);
  } finally {
    await c.close();
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the proxy keeps serving while the server is gone and resyncs after a restart', async () => {
  let { server: s, path, dir } = server();
  await s.listen({ path });
  const c = client(path, 'p3');
  try {
    connects.set('p3', () => s.update('p3', '1', res(snap(9080)).res));
    c.start();
    await c.waitFor((x) => x.snapshot?.version === '1');
    await s.close();
    await c.waitFor((x) => !x.connected);
    assert.equal(c.snapshot?.version, '1', 'still has its config');
    const again = server();
    s = again.server;
    rmSync(again.dir, { recursive: true, force: true });
    connects.set('p3', () => s.update('p3', '7', res(snap(9090)).res));
    await s.listen({ path });
    await c.waitFor((x) => x.snapshot?.version === '7', 5000);
    assert.equal(c.snapshot?.clusters.find((x) => x.name === 'outbound|9080||reviews')?.endpoints[0]?.port, 9090);
  } finally {
    await c.close();
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('incremental: an endpoints-only change pushes one endpoints resource; removals are named', async () => {
  const { server: s, path, dir } = server();
  await s.listen({ path });
  const socket: Socket = connect(path);
  const pushes: PushMessage[] = [];
  onFrames(socket, (m) => {
    const p = m as PushMessage;
    pushes.push(p);
    writeFrame(socket, { t: 'ack', type: p.type, version: p.version, nonce: p.nonce });
  });
  try {
    const first = res(snap(9080));
    connects.set('raw', () => s.update('raw', '1', first.res));
    await new Promise((r) => socket.once('connect', r));
    writeFrame(socket, { t: 'hello', protocol: 1, node: { id: 'raw', metadata: {} }, token: proxyToken(secret, 'raw') });
    await waitUntil(() => pushes.length === 4);
    assert.deepEqual(pushes.map((p) => [p.type, p.full, p.last]), [['clusters', true, false], ['endpoints', true, false], ['listeners', true, false], ['routes', true, true]]);
    pushes.length = 0;
    const second = res(snap(9081), first.parts);
    assert.strictEqual(second.parts.clusters, first.parts.clusters, 'unchanged parts keep their identity');
    s.update('raw', '2', second.res);
    await waitUntil(() => pushes.length === 1);
    assert.equal(pushes[0]!.type, 'endpoints');
    assert.equal(pushes[0]!.full, false);
    assert.deepEqual(pushes[0]!.resources.map((r) => r.name), ['outbound|9080||reviews']);
    pushes.length = 0;
    const third = snap(9081);
    third.clusters = third.clusters.filter((c) => c.name !== 'outbound|9080||ratings');
    s.update('raw', '3', res(third, second.parts).res);
    await waitUntil(() => pushes.length === 2);
    assert.deepEqual(pushes.map((p) => [p.type, p.removed, p.resources.length]), [['clusters', ['outbound|9080||ratings'], 0], ['endpoints', ['outbound|9080||ratings'], 0]]);
    // Same desired config again: nothing to send.
    s.update('raw', '4', res(third, second.parts).res);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(pushes.length, 2);
  } finally {
    socket.destroy();
    await s.close();
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
