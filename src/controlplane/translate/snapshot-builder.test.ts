import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateSnapshot } from '../../meshconfig/validate-snapshot.js';
import type { Snapshot } from '../../meshconfig/types.js';
import { MeshIndex } from './mesh-index.js';
import { SnapshotBuilder } from './snapshot-builder.js';
import { bookinfo, dr, sidecarRes, vs } from './fixtures.js';
import type { MeshState, Pod } from './mesh-types.js';

// Golden files live in the source tree; the test runs from .build/<who>/src/..., so walk up to package.json.
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || dir.includes('/.build/')) dir = dirname(dir);
  return dir;
}
const GOLDEN = resolve(repoRoot(), 'src/controlplane/translate/testdata');

function golden(name: string, value: unknown): void {
  const file = join(GOLDEN, name);
  const text = JSON.stringify(value, null, 2) + '\n';
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) writeFileSync(file, text);
  assert.equal(text, readFileSync(file, 'utf8'), `${name} differs from the golden file; rerun with UPDATE_GOLDEN=1 if the change is intended`);
}

function build(state: MeshState): SnapshotBuilder {
  return new SnapshotBuilder(new MeshIndex(state));
}

function valid(s: Snapshot): Snapshot {
  const v = validateSnapshot({ ...s, version: '1' });
  assert.deepEqual(v.issues, [], 'the proxy accepts the snapshot');
  return v.snapshot!;
}

const podOf = (state: MeshState, prefix: string): Pod => state.pods.find((p) => p.metadata.name.startsWith(prefix))!;

test('bookinfo productpage sidecar: golden snapshot, valid for the proxy', () => {
  const state = bookinfo();
  const { snapshot, warnings } = build(state).sidecar(podOf(state, 'productpage'));
  valid(snapshot);
  assert.deepEqual(warnings, []);
  golden('bookinfo-productpage-sidecar.json', snapshot);
});

test('reviews: header route to v2, 90/10 split v1/v3, subset endpoints filtered by labels, DR policy merged', () => {
  const state = bookinfo();
  const { snapshot } = build(state).sidecar(podOf(state, 'productpage'));
  const vh = snapshot.routes.find((r) => r.name === 'outbound')!.virtualHosts.find((v) => v.name === 'reviews.shop.svc.cluster.local:9080')!;
  assert.ok(vh.domains.includes('reviews:9080') && vh.domains.includes('10.96.0.20:9080') && !vh.domains.includes('reviews'));
  assert.deepEqual(vh.routes[0]!.match, [{ headers: { 'end-user': { exact: 'jason' } } }]);
  assert.deepEqual(vh.routes[0]!.route, [{ cluster: 'outbound|9080|v2|reviews.shop.svc.cluster.local', weight: 100 }]);
  assert.deepEqual(vh.routes[1]!.route, [
    { cluster: 'outbound|9080|v1|reviews.shop.svc.cluster.local', weight: 90 },
    { cluster: 'outbound|9080|v3|reviews.shop.svc.cluster.local', weight: 10 },
  ]);
  assert.equal(vh.routes[1]!.timeout, '3s');
  const c = (n: string) => snapshot.clusters.find((x) => x.name === n)!;
  assert.deepEqual(c('outbound|9080|v2|reviews.shop.svc.cluster.local').endpoints, [{ address: '10.244.0.22', port: 9080 }]);
  assert.equal(c('outbound|9080||reviews.shop.svc.cluster.local').endpoints.length, 3);
  // portLevelSettings beat the top-level LB; the subset's own LB beats both; the rest is inherited.
  assert.deepEqual(c('outbound|9080||reviews.shop.svc.cluster.local').lbPolicy, { simple: 'LEAST_REQUEST' });
  assert.deepEqual(c('outbound|9080|v2|reviews.shop.svc.cluster.local').lbPolicy, { simple: 'RANDOM' });
  assert.deepEqual(c('outbound|9080|v2|reviews.shop.svc.cluster.local').outlierDetection, { consecutive5xxErrors: 3, interval: '5s', baseEjectionTime: '30s' });
  assert.equal(c('outbound|9080|v3|reviews.shop.svc.cluster.local').destination?.version, 'v3');
  // ratings has no DR: its fault (deprecated percent too) is translated.
  const ratings = snapshot.routes[0]!.virtualHosts.find((v) => v.name.startsWith('ratings.'))!;
  assert.deepEqual(ratings.routes[0]!.fault, { delay: { fixedDelay: '2s', percentage: { value: 10 } }, abort: { httpStatus: 503, percentage: { value: 5 } } });
  // productpage has no VirtualService: the default route.
  const pp = snapshot.routes[0]!.virtualHosts.find((v) => v.name.startsWith('productpage.'))!;
  assert.deepEqual(pp.routes, [{ name: 'default', route: [{ cluster: 'outbound|9080||productpage.shop.svc.cluster.local', weight: 100 }] }]);
  // tcp-mongo: a cluster, no HTTP virtual host.
  assert.equal(c('outbound|27017||mongodb.shop.svc.cluster.local').protocol, 'tcp');
  assert.ok(!snapshot.routes[0]!.virtualHosts.some((v) => v.name.startsWith('mongodb.')));
});

test('inbound listener routes to the app on 127.0.0.1 with the workload metadata', () => {
  const state = bookinfo();
  const { snapshot } = build(state).sidecar(podOf(state, 'reviews-v2'));
  valid(snapshot);
  const inbound = snapshot.clusters.find((c) => c.name === 'inbound|9080||')!;
  assert.deepEqual(inbound.endpoints, [{ address: '127.0.0.1', port: 9080 }]);
  assert.equal(inbound.destination?.version, 'v2');
  assert.equal(snapshot.listeners.find((l) => l.name === 'virtualInbound')?.port, 15006);
  const rc = snapshot.routes.find((r) => r.name === 'inbound')!;
  assert.ok(rc.virtualHosts[0]!.domains.includes('reviews:9080'));
  // No catch-all: a Host no domain names goes by the original destination's podIP:port, else passes through.
  assert.ok(!rc.virtualHosts.some((v) => v.domains.includes('*')));
  assert.deepEqual(snapshot.listeners.find((l) => l.name === 'virtualInbound')?.originalDst, { passthrough: true });
});

test('a route to an undefined subset answers 503 with the reason; the rest of the config stays', () => {
  const state = bookinfo();
  state.virtualServices = [
    vs('shop', 'reviews', {
      hosts: ['reviews'],
      http: [
        { name: 'all-missing', match: [{ uri: { prefix: '/x' } }], route: [{ destination: { host: 'reviews', subset: 'v9' } }] },
        { name: 'half', route: [{ destination: { host: 'reviews', subset: 'v1' }, weight: 50 }, { destination: { host: 'reviews', subset: 'v8' }, weight: 50 }] },
      ],
    }),
  ];
  const { snapshot, warnings } = build(state).sidecar(podOf(state, 'productpage'));
  valid(snapshot);
  const vh = snapshot.routes[0]!.virtualHosts.find((v) => v.name.startsWith('reviews.'))!;
  assert.equal(vh.routes[0]!.directResponse?.status, 503);
  assert.match(vh.routes[0]!.directResponse!.headers!['x-meshbox-error']!, /subset v9 of reviews.shop.svc.cluster.local is not defined by any DestinationRule/);
  assert.deepEqual(vh.routes[1]!.route?.map((w) => w.cluster), ['outbound|9080|v1|reviews.shop.svc.cluster.local', 'outbound|9080|v8|reviews.shop.svc.cluster.local']);
  assert.deepEqual(snapshot.clusters.find((c) => c.name === 'outbound|9080|v8|reviews.shop.svc.cluster.local')?.endpoints, []);
  assert.deepEqual(warnings.map((w) => w.code), ['MBX_ANALYZE_SUBSET_UNDEFINED', 'MBX_ANALYZE_SUBSET_UNDEFINED']);
});

test('Sidecar egress scoping limits outbound clusters and hosts', () => {
  const state = bookinfo();
  state.sidecars = [sidecarRes('shop', 'default', { egress: [{ hosts: ['./reviews.shop.svc.cluster.local'] }] })];
  const { snapshot } = build(state).sidecar(podOf(state, 'productpage'));
  valid(snapshot);
  assert.deepEqual(snapshot.routes[0]!.virtualHosts.map((v) => v.name), ['reviews.shop.svc.cluster.local:9080']);
  assert.ok(snapshot.clusters.every((c) => c.name.startsWith('inbound|') || c.name.endsWith('|reviews.shop.svc.cluster.local')));
});

test('sourceLabels and several VirtualServices for one host', () => {
  const state = bookinfo();
  state.virtualServices = [
    vs('shop', 'reviews', { hosts: ['reviews'], http: [{ match: [{ sourceLabels: { app: 'productpage' } }], route: [{ destination: { host: 'reviews', subset: 'v3' } }] }] }),
    vs('shop', 'reviews-late', { hosts: ['reviews.shop.svc.cluster.local'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] }, '2026-02-01T00:00:00Z'),
  ];
  const b = build(state);
  const fromPp = b.sidecar(podOf(state, 'productpage'));
  const vhPp = fromPp.snapshot.routes[0]!.virtualHosts.find((v) => v.name.startsWith('reviews.'))!;
  assert.equal(vhPp.routes[0]!.route?.[0]?.cluster, 'outbound|9080|v3|reviews.shop.svc.cluster.local');
  assert.ok(fromPp.warnings.some((w) => w.code === 'MBX_ANALYZE_MULTIPLE_VIRTUALSERVICES' && w.object === 'VirtualService shop/reviews-late'));
  const fromRatings = b.sidecar(podOf(state, 'ratings'));
  assert.deepEqual(fromRatings.snapshot.routes[0]!.virtualHosts.find((v) => v.name.startsWith('reviews.'))!.routes, [], 'no route applies: the proxy answers NR');
});

test('outbound parts are shared between proxies of one namespace (memory at scale)', () => {
  const state = bookinfo();
  const b = build(state);
  const a = b.sidecar(podOf(state, 'reviews-v1'));
  const c = b.sidecar(podOf(state, 'reviews-v2'));
  assert.strictEqual(a.snapshot.routes[0]!.virtualHosts, c.snapshot.routes[0]!.virtualHosts);
});

test('ingress gateway: listener on 127.0.0.1:8080, routes from the bound VirtualService, golden', () => {
  const state = bookinfo();
  state.destinationRules = [...state.destinationRules, dr('shop', 'productpage', { host: 'productpage', trafficPolicy: { connectionPool: { tcp: { maxConnections: 10 } } } })];
  const { snapshot, warnings } = build(state).gateway({ namespace: 'shop', name: 'ingress', labels: { istio: 'ingressgateway' } });
  valid(snapshot);
  assert.deepEqual(warnings, []);
  assert.deepEqual(snapshot.listeners, [{ name: 'gateway_8080', address: '127.0.0.1', port: 8080, protocol: 'http', direction: 'outbound', routeConfig: 'http.8080' }]);
  assert.deepEqual(snapshot.clusters.map((c) => c.name), ['outbound|9080||productpage.shop.svc.cluster.local']);
  assert.deepEqual(snapshot.clusters[0]!.connectionPool, { tcp: { maxConnections: 10 } });
  golden('bookinfo-gateway.json', snapshot);
  const none = build(state).gateway({ namespace: 'shop', name: 'other', labels: { istio: 'egress' } });
  assert.deepEqual(none.snapshot.listeners, []);
});

test('generations reuse unchanged objects and never serve stale ones (DR, pod labels, VS changes)', () => {
  const state = bookinfo();
  const pp = podOf(state, 'productpage');
  const first = build(state).sidecar(pp).snapshot;
  const again = build(state).sidecar(pp).snapshot;
  const cl = (s: Snapshot, n: string) => s.clusters.find((c) => c.name === n)!;
  const v1 = 'outbound|9080|v1|reviews.shop.svc.cluster.local';
  assert.strictEqual(cl(again, v1), cl(first, v1), 'unchanged inputs: the same cluster object');
  assert.strictEqual(again.routes[0]!.virtualHosts[1], first.routes[0]!.virtualHosts[1]);

  // A pod changes labels (v2 → v1): the v1 subset gains it, through a new Pod object as the informer hands out.
  const relabeled = state.pods.map((p) => (p.metadata.name.startsWith('reviews-v2') ? { ...p, metadata: { ...p.metadata, labels: { app: 'reviews', version: 'v1' } } } : p));
  const s2 = build({ ...state, pods: relabeled }).sidecar(pp).snapshot;
  assert.deepEqual(cl(s2, v1).endpoints.map((e) => e.address), ['10.244.0.21', '10.244.0.22']);

  // A new DestinationRule object: new policy.
  const dr2 = { ...state.destinationRules[0]!, spec: { ...state.destinationRules[0]!.spec, trafficPolicy: { loadBalancer: { simple: 'RANDOM' as const } } } };
  const s3 = build({ ...state, destinationRules: [dr2] }).sidecar(pp).snapshot;
  assert.deepEqual(cl(s3, v1).lbPolicy, { simple: 'RANDOM' });

  // A new VirtualService object: new routes.
  const vs2 = vs('shop', 'reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v3' } }] }] });
  const s4 = build({ ...state, virtualServices: [vs2, ...state.virtualServices.slice(1)] }).sidecar(pp).snapshot;
  const vh = s4.routes[0]!.virtualHosts.find((v) => v.name.startsWith('reviews.'))!;
  assert.deepEqual(vh.routes.map((r) => r.route?.[0]?.cluster), ['outbound|9080|v3|reviews.shop.svc.cluster.local']);
});
