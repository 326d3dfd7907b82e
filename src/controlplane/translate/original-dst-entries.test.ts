import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateSnapshot } from '../../meshconfig/validate-snapshot.js';
import type { Listener, Snapshot } from '../../meshconfig/types.js';
import { MeshIndex } from './mesh-index.js';
import { SnapshotBuilder } from './snapshot-builder.js';
import { bookinfo, sidecarRes } from './fixtures.js';
import type { MeshState } from './mesh-types.js';

function sidecarOf(state: MeshState, podPrefix: string): Snapshot {
  const pod = state.pods.find((p) => p.metadata.name.startsWith(podPrefix))!;
  const { snapshot } = new SnapshotBuilder(new MeshIndex(state)).sidecar(pod);
  const v = validateSnapshot({ ...snapshot, version: '1' });
  assert.deepEqual(v.issues, [], 'the proxy accepts the snapshot');
  return snapshot;
}

const listener = (s: Snapshot, name: string): Listener => s.listeners.find((l) => l.name === name)!;

test('virtualOutbound: TCP service ports by VIP:port, passthrough on (ALLOW_ANY)', () => {
  const s = sidecarOf(bookinfo(), 'productpage');
  assert.deepEqual(listener(s, 'virtualOutbound').originalDst, {
    tcp: { '10.96.0.40:27017': 'outbound|27017||mongodb.shop.svc.cluster.local' },
    passthrough: true,
  });
  // HTTP services need no tcp entry: their virtual hosts list VIP:port domains.
  const vhosts = s.routes.find((r) => r.name === 'outbound')!.virtualHosts;
  assert.ok(vhosts.some((v) => v.domains.includes('10.96.0.20:9080')));
});

test('a headless TCP service is reached by podIP:port per endpoint', () => {
  const state = bookinfo();
  const mongo = state.services.find((x) => x.metadata.name === 'mongodb')!;
  mongo.spec.clusterIP = 'None';
  const s = sidecarOf(state, 'productpage');
  assert.deepEqual(listener(s, 'virtualOutbound').originalDst?.tcp, { '10.244.0.40:27017': 'outbound|27017||mongodb.shop.svc.cluster.local' });
});

test('Sidecar egress scoping drops the tcp entries of services the proxy does not see', () => {
  const state = bookinfo();
  state.sidecars = [sidecarRes('shop', 'default', { egress: [{ hosts: ['./reviews.shop.svc.cluster.local'] }] })];
  const s = sidecarOf(state, 'productpage');
  assert.deepEqual(listener(s, 'virtualOutbound').originalDst, { passthrough: true });
});

test('virtualInbound: the app\'s TCP ports by *:port, no tcpCluster, no catch-all virtual host', () => {
  const s = sidecarOf(bookinfo(), 'mongodb-0');
  const l = listener(s, 'virtualInbound');
  assert.deepEqual(l.originalDst, { tcp: { '*:27017': 'inbound|27017||' }, passthrough: true });
  assert.equal(l.tcpCluster, undefined);
  assert.ok(!s.routes.find((r) => r.name === 'inbound')!.virtualHosts.some((v) => v.domains.includes('*')));
});

test('a pod without declared ports still gets virtualInbound, passing everything through', () => {
  const state = bookinfo();
  const pp = state.pods.find((p) => p.metadata.name.startsWith('productpage'))!;
  for (const c of pp.spec.containers) delete c.ports;
  state.services = state.services.filter((x) => x.metadata.name !== 'productpage');
  state.endpoints = state.endpoints.filter((x) => x.metadata.name !== 'productpage');
  const s = sidecarOf(state, 'productpage');
  assert.deepEqual(listener(s, 'virtualInbound').originalDst, { passthrough: true });
  assert.deepEqual(s.routes.find((r) => r.name === 'inbound')?.virtualHosts, []);
});
