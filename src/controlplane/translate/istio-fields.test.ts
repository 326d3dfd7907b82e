// Istio fields the schemas accept and the translator must act on (not silently drop): fault
// percentages, ignoreUriCase, exportTo, wildcard VirtualService hosts, Sidecar egress ports and
// ServiceEntry addresses. Each test asserts the proxy config produced, and that the proxy accepts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateSnapshot } from '../../meshconfig/validate-snapshot.js';
import type { Route, Snapshot, VirtualHost } from '../../meshconfig/types.js';
import { MeshIndex } from './mesh-index.js';
import { SnapshotBuilder } from './snapshot-builder.js';
import { bookinfo, dr, endpoints, gateway, pod, service, sidecarRes, vs } from './fixtures.js';
import type { MeshState, Pod, ServiceEntry } from './mesh-types.js';

function sidecarOf(state: MeshState, p: Pod): Snapshot {
  const { snapshot } = new SnapshotBuilder(new MeshIndex(state)).sidecar(p);
  const v = validateSnapshot({ ...snapshot, version: '1' });
  assert.deepEqual(v.issues, [], 'the proxy accepts the snapshot');
  return snapshot;
}

const podOf = (state: MeshState, prefix: string): Pod => state.pods.find((p) => p.metadata.name.startsWith(prefix))!;
const vhost = (s: Snapshot, name: string): VirtualHost | undefined => s.routes.find((r) => r.name === 'outbound')!.virtualHosts.find((v) => v.name === name);
const REVIEWS = 'reviews.shop.svc.cluster.local:9080';
const RATINGS = 'ratings.shop.svc.cluster.local:9080';

/** bookinfo plus a client pod in namespace "other" (its own outbound view). */
function withOtherNamespace(): { state: MeshState; client: Pod } {
  const state = bookinfo();
  const client = pod('other', 'client-1', '10.244.0.90', { app: 'client' });
  state.pods = [...state.pods, client];
  return { state, client };
}

function serviceEntry(ns: string, name: string, spec: ServiceEntry['spec']): ServiceEntry {
  return { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name, namespace: ns, creationTimestamp: '2026-01-01T00:00:00Z' }, spec };
}

function faultOf(fault: NonNullable<NonNullable<MeshState['virtualServices'][number]['spec']['http']>[number]['fault']>): Route['fault'] {
  const state = bookinfo();
  state.virtualServices = [vs('shop', 'ratings', { hosts: ['ratings'], http: [{ route: [{ destination: { host: 'ratings' } }], fault }] })];
  return vhost(sidecarOf(state, podOf(state, 'productpage')), RATINGS)!.routes[0]!.fault;
}

test('fault: percentage wins, then the deprecated percent (delay and abort), else 0 as in Istio (no request)', () => {
  assert.deepEqual(faultOf({ delay: { fixedDelay: '1s' }, abort: { httpStatus: 503 } }), {
    delay: { fixedDelay: '1s', percentage: { value: 0 } },
    abort: { httpStatus: 503, percentage: { value: 0 } },
  });
  assert.deepEqual(faultOf({ delay: { fixedDelay: '1s', percent: 30 }, abort: { httpStatus: 500, percent: 20 } }), {
    delay: { fixedDelay: '1s', percentage: { value: 30 } },
    abort: { httpStatus: 500, percentage: { value: 20 } },
  });
  assert.deepEqual(faultOf({ abort: { httpStatus: 500, percent: 20, percentage: { value: 2.5 } } }), { abort: { httpStatus: 500, percentage: { value: 2.5 } } });
});

test('ignoreUriCase: exact and prefix uri matches ignore case, a regex does not (Envoy, Istio)', () => {
  const state = bookinfo();
  state.virtualServices = [
    vs('shop', 'reviews', {
      hosts: ['reviews'],
      http: [
        { match: [{ uri: { prefix: '/API/' }, ignoreUriCase: true }, { uri: { exact: '/Health' }, ignoreUriCase: true }], route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
        { match: [{ uri: { regex: '/v[0-9]+' }, ignoreUriCase: true }, { uri: { prefix: '/Case' } }], route: [{ destination: { host: 'reviews', subset: 'v2' } }] },
      ],
    }),
  ];
  const routes = vhost(sidecarOf(state, podOf(state, 'productpage')), REVIEWS)!.routes;
  assert.deepEqual(routes[0]!.match, [{ path: { prefix: '/API/', ignoreCase: true } }, { path: { exact: '/Health', ignoreCase: true } }]);
  assert.deepEqual(routes[1]!.match, [{ path: { regex: '/v[0-9]+' } }, { path: { prefix: '/Case' } }]);
});

test('exportTo ".": a VirtualService routes only clients of its own namespace; others get the default route', () => {
  const { state, client } = withOtherNamespace();
  state.virtualServices = [vs('shop', 'reviews', { hosts: ['reviews'], exportTo: ['.'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v3' } }] }] })];
  const inShop = vhost(sidecarOf(state, podOf(state, 'productpage')), REVIEWS)!;
  assert.equal(inShop.routes[0]!.route![0]!.cluster, 'outbound|9080|v3|reviews.shop.svc.cluster.local');
  const fromOther = vhost(sidecarOf(state, client), REVIEWS)!;
  assert.deepEqual(fromOther.routes, [{ name: 'default', route: [{ cluster: 'outbound|9080||reviews.shop.svc.cluster.local', weight: 100 }] }]);
  // A namespace by name, and "*", export to it.
  for (const exportTo of [['other'], ['*']]) {
    state.virtualServices = [vs('shop', 'reviews', { hosts: ['reviews'], exportTo, http: [{ route: [{ destination: { host: 'reviews', subset: 'v3' } }] }] })];
    assert.equal(vhost(sidecarOf(state, client), REVIEWS)!.routes[0]!.route![0]!.cluster, 'outbound|9080|v3|reviews.shop.svc.cluster.local', exportTo.join());
  }
});

test('exportTo ".": a DestinationRule (policy and subsets) applies only to clients of its namespace', () => {
  const { state, client } = withOtherNamespace();
  state.virtualServices = [];
  state.destinationRules = [dr('shop', 'reviews', { host: 'reviews', exportTo: ['.'], trafficPolicy: { loadBalancer: { simple: 'RANDOM' } }, subsets: [{ name: 'v1', labels: { version: 'v1' } }] })];
  const inShop = sidecarOf(state, podOf(state, 'productpage'));
  assert.deepEqual(inShop.clusters.find((c) => c.name === 'outbound|9080||reviews.shop.svc.cluster.local')!.lbPolicy, { simple: 'RANDOM' });
  assert.ok(inShop.clusters.some((c) => c.name === 'outbound|9080|v1|reviews.shop.svc.cluster.local'));
  const fromOther = sidecarOf(state, client);
  assert.equal(fromOther.clusters.find((c) => c.name === 'outbound|9080||reviews.shop.svc.cluster.local')!.lbPolicy, undefined);
  assert.ok(!fromOther.clusters.some((c) => c.name === 'outbound|9080|v1|reviews.shop.svc.cluster.local'));
});

test('exportTo on a ServiceEntry: "." keeps it in its namespace, "~" hides it everywhere', () => {
  const { state, client } = withOtherNamespace();
  const entry = (name: string, host: string, exportTo?: string[]) =>
    serviceEntry('shop', name, { hosts: [host], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', endpoints: [{ address: '10.30.0.5' }], ...(exportTo ? { exportTo } : {}) });
  state.serviceEntries = [entry('local', 'local.example.com', ['.']), entry('hidden', 'hidden.example.com', ['~']), entry('open', 'open.example.com')];
  const names = (s: Snapshot) => s.routes[0]!.virtualHosts.map((v) => v.name).filter((n) => n.includes('example.com'));
  assert.deepEqual(names(sidecarOf(state, podOf(state, 'productpage'))), ['local.example.com:80', 'open.example.com:80']);
  assert.deepEqual(names(sidecarOf(state, client)), ['open.example.com:80']);
  // A route from the other namespace to the hidden entry is a route to an unknown host (503, warned).
  state.virtualServices = [vs('other', 'to-local', { hosts: ['open.example.com'], http: [{ route: [{ destination: { host: 'local.example.com' } }] }] })];
  const { snapshot, warnings } = new SnapshotBuilder(new MeshIndex(state)).sidecar(client);
  assert.equal(snapshot.routes[0]!.virtualHosts.find((v) => v.name === 'open.example.com:80')!.routes[0]!.directResponse?.status, 503);
  assert.deepEqual(warnings.map((w) => w.code), ['MBX_ANALYZE_UNKNOWN_HOST']);
});

test('exportTo ".": a gateway in another namespace does not see the VirtualService', () => {
  const state = bookinfo();
  const bound = (exportTo: string[]) => vs('shop', 'bookinfo', { hosts: ['*'], gateways: ['edge/gw'], exportTo, http: [{ route: [{ destination: { host: 'productpage.shop.svc.cluster.local' } }] }] });
  state.gateways = [gateway('edge', 'gw', { selector: { istio: 'edge' }, servers: [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts: ['*/*'] }] })];
  const listeners = () => new SnapshotBuilder(new MeshIndex(state)).gateway({ namespace: 'edge', name: 'gw', labels: { istio: 'edge' } }).snapshot.listeners.map((l) => l.name);
  state.virtualServices = [bound(['.'])];
  assert.deepEqual(listeners(), []);
  state.virtualServices = [bound(['edge'])];
  assert.deepEqual(listeners(), ['gateway_8080']);
});

test('a wildcard VirtualService host applies to the services it covers; an exact host and a more specific wildcard win', () => {
  const state = bookinfo();
  const to = (subsetHost: string) => [{ route: [{ destination: { host: subsetHost } }] }];
  state.virtualServices = [
    vs('shop', 'reviews', { hosts: ['reviews'], http: to('reviews') }),
    vs('shop', 'any-svc', { hosts: ['*.svc.cluster.local'], http: [{ match: [{ uri: { prefix: '/broad' } }], route: [{ destination: { host: 'productpage' } }] }] }),
    vs('shop', 'any-shop', { hosts: ['*.shop.svc.cluster.local'], http: [{ match: [{ uri: { prefix: '/narrow' } }], route: [{ destination: { host: 'productpage' } }] }] }),
  ];
  const s = sidecarOf(state, podOf(state, 'productpage'));
  assert.deepEqual(vhost(s, RATINGS)!.routes.map((r) => r.match?.[0]?.path), [{ prefix: '/narrow' }]);
  assert.equal(vhost(s, REVIEWS)!.routes[0]!.route![0]!.cluster, 'outbound|9080||reviews.shop.svc.cluster.local');
  assert.equal(vhost(s, REVIEWS)!.routes[0]!.match, undefined);
});

test('Sidecar egress: a listener with a port owns that port; the listener without one covers the others', () => {
  const state = bookinfo();
  state.sidecars = [
    sidecarRes('shop', 'default', {
      egress: [{ port: { number: 9080 }, hosts: ['./reviews.shop.svc.cluster.local'] }, { hosts: ['./*'] }],
    }),
  ];
  const s = sidecarOf(state, podOf(state, 'productpage'));
  assert.deepEqual(s.routes[0]!.virtualHosts.map((v) => v.name), [REVIEWS]);
  const outbound = s.clusters.filter((c) => c.name.startsWith('outbound|')).map((c) => c.name.split('|').slice(1, 4).join('|'));
  assert.ok(outbound.includes('27017||mongodb.shop.svc.cluster.local'), 'port 27017 comes from the catch-all listener');
  assert.ok(!outbound.some((n) => n.endsWith('ratings.shop.svc.cluster.local')), 'port 9080 is owned by the first listener');
});

test('ServiceEntry: every address is a name the client may dial (IPv6 in brackets); IPv6 endpoints are kept', () => {
  const state = bookinfo();
  state.serviceEntries = [
    serviceEntry('shop', 'db', {
      hosts: ['db.internal'],
      addresses: ['10.20.1.4', '10.20.1.5', 'fd00::5'],
      ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
      resolution: 'STATIC',
      endpoints: [{ address: '10.20.0.7' }, { address: 'fd00::7' }],
    }),
  ];
  const s = sidecarOf(state, podOf(state, 'productpage'));
  assert.deepEqual(vhost(s, 'db.internal:8080')!.domains, ['db.internal:8080', '10.20.1.4:8080', '10.20.1.5:8080', '[fd00::5]:8080']);
  assert.deepEqual(s.clusters.find((c) => c.name === 'outbound|8080||db.internal')!.endpoints, [{ address: '10.20.0.7', port: 8080 }, { address: 'fd00::7', port: 8080 }]);
});

test('a Service in the other namespace stays visible (Services have no exportTo field)', () => {
  const { state, client } = withOtherNamespace();
  state.services = [...state.services, service('other', 'local', '10.96.0.90', [{ name: 'http', port: 9080 }])];
  state.endpoints = [...state.endpoints, endpoints('other', 'local', [], [{ name: 'http', port: 9080 }])];
  const s = sidecarOf(state, podOf(state, 'productpage'));
  assert.ok(vhost(s, 'local.other.svc.cluster.local:9080'));
  assert.ok(vhost(sidecarOf(state, client), REVIEWS));
});

test('a VirtualService host that is no service gets a virtual host on port 80 (Istio), scoped by Sidecar egress', () => {
  const state = bookinfo();
  state.virtualServices = [
    vs('shop', 'legacy', { hosts: ['legacy.example.com'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] }),
  ];
  const s = sidecarOf(state, podOf(state, 'productpage'));
  const legacy = vhost(s, 'legacy.example.com:80')!;
  assert.deepEqual(legacy.domains, ['legacy.example.com', 'legacy.example.com:80']);
  assert.deepEqual(legacy.routes[0]!.route, [{ cluster: 'outbound|9080|v1|reviews.shop.svc.cluster.local', weight: 100 }]);
  state.sidecars = [sidecarRes('shop', 'default', { egress: [{ hosts: ['./reviews.shop.svc.cluster.local'] }] })];
  assert.equal(vhost(sidecarOf(state, podOf(state, 'productpage')), 'legacy.example.com:80'), undefined);
});

test('gateway server hosts: "./host" admits VirtualServices of the gateway\'s namespace only', () => {
  const state = bookinfo();
  state.gateways = [gateway('edge', 'gw', { selector: { istio: 'edge' }, servers: [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts: ['./*'] }] })];
  const bound = (ns: string) => vs(ns, 'front', { hosts: ['shop.example.com'], gateways: ['edge/gw'], http: [{ route: [{ destination: { host: 'productpage.shop.svc.cluster.local' } }] }] });
  const hosts = () => new SnapshotBuilder(new MeshIndex(state)).gateway({ namespace: 'edge', name: 'gw', labels: { istio: 'edge' } }).snapshot.routes.flatMap((r) => r.virtualHosts.map((v) => v.name));
  state.virtualServices = [bound('shop')];
  assert.deepEqual(hosts(), []);
  state.virtualServices = [bound('edge')];
  assert.deepEqual(hosts(), ['shop.example.com:8080']);
});

test('Sidecar outboundTrafficPolicy: ALLOW_ANY (default) passes unknown destinations through, REGISTRY_ONLY does not', () => {
  const state = bookinfo();
  const outboundListener = (s: Snapshot) => s.listeners.find((l) => l.name === 'virtualOutbound')!;
  assert.equal(outboundListener(sidecarOf(state, podOf(state, 'productpage'))).originalDst?.passthrough, true);
  state.sidecars = [sidecarRes('shop', 'default', { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } })];
  const locked = sidecarOf(state, podOf(state, 'productpage'));
  assert.equal(outboundListener(locked).originalDst?.passthrough, false);
  // The TCP service stays reachable by VIP:port, and a Sidecar without egress still sees every service.
  assert.equal(outboundListener(locked).originalDst?.tcp?.['10.96.0.40:27017'], 'outbound|27017||mongodb.shop.svc.cluster.local');
  assert.ok(vhost(locked, REVIEWS) && vhost(locked, RATINGS));
  state.sidecars = [sidecarRes('shop', 'default', { outboundTrafficPolicy: { mode: 'ALLOW_ANY' } })];
  assert.equal(outboundListener(sidecarOf(state, podOf(state, 'productpage'))).originalDst?.passthrough, true);
});

test('VirtualService tcp route: the TCP port\'s VIP goes to the route\'s destination (a subset); its HTTP ports keep the default route', () => {
  const state = bookinfo();
  const mongo = podOf(state, 'mongodb');
  state.pods = state.pods.map((p) => (p === mongo ? { ...p, metadata: { ...p.metadata, labels: { app: 'mongodb', version: 'v2' } } } : p));
  state.destinationRules = [...state.destinationRules, dr('shop', 'mongodb', { host: 'mongodb', subsets: [{ name: 'v2', labels: { version: 'v2' } }] })];
  state.virtualServices = [
    vs('shop', 'mongodb', { hosts: ['mongodb'], tcp: [{ match: [{ port: 27017 }], route: [{ destination: { host: 'mongodb', subset: 'v2' } }] }] }),
    vs('shop', 'ratings', { hosts: ['ratings'], tcp: [{ route: [{ destination: { host: 'mongodb', subset: 'v2' } }] }] }),
  ];
  const s = sidecarOf(state, podOf(state, 'productpage'));
  const od = s.listeners.find((l) => l.name === 'virtualOutbound')!.originalDst!;
  assert.equal(od.tcp?.['10.96.0.40:27017'], 'outbound|27017|v2|mongodb.shop.svc.cluster.local');
  assert.deepEqual(s.clusters.find((c) => c.name === 'outbound|27017|v2|mongodb.shop.svc.cluster.local')!.endpoints, [{ address: '10.244.0.40', port: 27017 }]);
  // ratings' only port is HTTP: a tcp-only VirtualService leaves it on the default route.
  assert.deepEqual(vhost(s, RATINGS)!.routes, [{ name: 'default', route: [{ cluster: 'outbound|9080||ratings.shop.svc.cluster.local', weight: 100 }] }]);
});

test('VirtualService tcp route to an undefined subset: an empty cluster (the proxy closes, UH) and a warning, never a dropped config', () => {
  const state = bookinfo();
  state.virtualServices = [vs('shop', 'mongodb', { hosts: ['mongodb'], tcp: [{ route: [{ destination: { host: 'mongodb', subset: 'v9' } }] }] })];
  const { snapshot, warnings } = new SnapshotBuilder(new MeshIndex(state)).sidecar(podOf(state, 'productpage'));
  assert.deepEqual(validateSnapshot({ ...snapshot, version: '1' }).issues, []);
  const target = snapshot.listeners.find((l) => l.name === 'virtualOutbound')!.originalDst!.tcp!['10.96.0.40:27017'];
  assert.equal(target, 'outbound|27017|v9|mongodb.shop.svc.cluster.local');
  assert.deepEqual(snapshot.clusters.find((c) => c.name === target), { name: target, protocol: 'tcp', endpoints: [], destination: { service: 'mongodb.shop.svc.cluster.local' } });
  assert.deepEqual(warnings.map((w) => [w.code, w.field]), [['MBX_ANALYZE_SUBSET_UNDEFINED', 'spec.tcp[0].route[0].destination']]);
});

test('VirtualService tcp route whose match names another port leaves the port on its default cluster', () => {
  const state = bookinfo();
  state.virtualServices = [vs('shop', 'mongodb', { hosts: ['mongodb'], tcp: [{ match: [{ port: 27018 }], route: [{ destination: { host: 'ratings' } }] }] })];
  const od = sidecarOf(state, podOf(state, 'productpage')).listeners.find((l) => l.name === 'virtualOutbound')!.originalDst!;
  assert.equal(od.tcp?.['10.96.0.40:27017'], 'outbound|27017||mongodb.shop.svc.cluster.local');
});
