import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject, Pod } from '../../api/types.js';
import type { Store } from '../../store/types.js';
import { InformerFactory } from '../../reconcile/index.js';
import { openTestStore } from '../../reconcile/testing/test-store.js';
import { eventually } from '../../reconcile/testing/eventually.js';
import { endpointSliceController, endpointsController } from './endpoints-controllers.js';
import { MANAGED_BY, SLICE_RESOURCE } from './endpoint-slice-reconciler.js';
import type { EndpointSlice, Endpoints, Service } from './service-types.js';

// The kubelet's side, as a boundary fake: pods are written with the status the kubelet would give them.
function pod(name: string, opts: { ip?: string; ready?: boolean; labels?: Record<string, string>; ports?: { name: string; containerPort: number }[]; hostname?: string; subdomain?: string; phase?: string } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: opts.labels ?? { app: 'web' } },
    spec: {
      containers: [{ name: 'c', image: 'host', ports: (opts.ports ?? []).map((p) => ({ ...p, protocol: 'TCP' as const })) }],
      ...(opts.hostname ? { hostname: opts.hostname } : {}),
      ...(opts.subdomain ? { subdomain: opts.subdomain } : {}),
    },
    status: {
      phase: (opts.phase ?? 'Running') as 'Running',
      ...(opts.ip ? { podIP: opts.ip } : {}),
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
    },
  };
}

function service(name: string, spec: Record<string, unknown> = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', labels: { team: 'a' } },
    spec: { clusterIP: '10.96.0.10', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], ...spec },
  } as Service;
}

function writePod(store: Store, p: Pod): KubeObject {
  const created = store.create('pods', { ...p, status: undefined } as KubeObject);
  return store.updateStatus('pods', { ...created, status: p.status });
}

async function withControllers(fn: (store: Store) => Promise<void>): Promise<void> {
  const ts = openTestStore();
  const informers = new InformerFactory(ts.store);
  const controllers = [endpointsController({ store: ts.store, informers }), endpointSliceController({ store: ts.store, informers })];
  try {
    informers.start();
    for (const c of controllers) await c.start();
    await fn(ts.store);
  } finally {
    for (const c of controllers) await c.stop();
    informers.stop();
    ts.cleanup();
  }
}

const endpointsOf = (store: Store, name: string) => store.get('endpoints', 'default', name) as Endpoints | undefined;
const slicesOf = (store: Store, name: string) =>
  store.list(SLICE_RESOURCE, { namespace: 'default', labelSelector: `kubernetes.io/service-name=${name}` }).items as EndpointSlice[];
const ips = (list: { ip: string }[] | undefined) => (list ?? []).map((a) => a.ip);

test('ready, not-ready and terminating pods in Endpoints and slices; pods without IP or other labels left out', () =>
  withControllers(async (store) => {
    const svc = store.create('services', service('web'));
    writePod(store, pod('a', { ip: '10.1.0.3' }));
    writePod(store, pod('b', { ip: '10.1.0.2' }));
    writePod(store, pod('c', { ip: '10.1.0.4', ready: false }));
    writePod(store, pod('d')); // no IP yet
    writePod(store, pod('e', { ip: '10.1.0.5', labels: { app: 'other' } }));
    writePod(store, pod('f', { ip: '10.1.0.6', phase: 'Succeeded' }));
    // a terminating pod: a finalizer keeps it while deletionTimestamp is set
    const t = writePod(store, pod('t', { ip: '10.1.0.7' }));
    store.update('pods', { ...t, metadata: { ...t.metadata, finalizers: ['test/hold'] } });
    store.delete('pods', 'default', 't');

    await eventually(() => {
      const ep = endpointsOf(store, 'web');
      assert.ok(ep);
      assert.equal(ep.subsets?.length, 1);
      const s = ep.subsets![0]!;
      assert.deepEqual(ips(s.addresses), ['10.1.0.2', '10.1.0.3']);
      assert.deepEqual(ips(s.notReadyAddresses), ['10.1.0.4']);
      assert.deepEqual(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
      assert.deepEqual(s.addresses![0]!.targetRef, { kind: 'Pod', namespace: 'default', name: 'b', uid: (store.get('pods', 'default', 'b')!.metadata.uid)! });
    });
    const ep = endpointsOf(store, 'web')!;
    assert.equal(ep.metadata.labels?.team, 'a');
    assert.deepEqual(ep.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true }]);

    await eventually(() => {
      const slices = slicesOf(store, 'web');
      assert.equal(slices.length, 1);
      const s = slices[0]!;
      assert.match(s.metadata.name, /^web-[0-9a-f]{10}$/);
      assert.equal(s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], MANAGED_BY);
      assert.equal(s.addressType, 'IPv4');
      assert.deepEqual(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
      const byIp = Object.fromEntries(s.endpoints.map((e) => [e.addresses[0], e.conditions]));
      assert.deepEqual(byIp, {
        '10.1.0.2': { ready: true, serving: true, terminating: false },
        '10.1.0.3': { ready: true, serving: true, terminating: false },
        '10.1.0.4': { ready: false, serving: false, terminating: false },
        '10.1.0.7': { ready: false, serving: true, terminating: true },
      });
      assert.equal(s.metadata.ownerReferences?.[0]?.uid, svc.metadata.uid);
    });
  }));

test('pods coming, turning ready and going are followed; a deleted Service takes its objects along', () =>
  withControllers(async (store) => {
    store.create('services', service('web'));
    await eventually(() => {
      assert.deepEqual(endpointsOf(store, 'web')?.subsets, []);
      // a Service without endpoints keeps one empty slice
      const slices = slicesOf(store, 'web');
      assert.equal(slices.length, 1);
      assert.deepEqual(slices[0]!.endpoints, []);
    });
    const a = writePod(store, pod('a', { ip: '10.1.0.2', ready: false }));
    await eventually(() => assert.deepEqual(ips(endpointsOf(store, 'web')?.subsets?.[0]?.notReadyAddresses), ['10.1.0.2']));
    store.updateStatus('pods', { ...a, status: { ...(a.status as object), conditions: [{ type: 'Ready', status: 'True' }] } });
    await eventually(() => {
      assert.deepEqual(ips(endpointsOf(store, 'web')?.subsets?.[0]?.addresses), ['10.1.0.2']);
      assert.equal(slicesOf(store, 'web')[0]?.endpoints[0]?.conditions.ready, true);
    });
    // relabelled away: it leaves the Service
    const cur = store.get('pods', 'default', 'a')!;
    store.update('pods', { ...cur, metadata: { ...cur.metadata, labels: { app: 'gone' } } });
    await eventually(() => assert.deepEqual(endpointsOf(store, 'web')?.subsets, []));
    store.delete('services', 'default', 'web');
    await eventually(() => {
      assert.equal(endpointsOf(store, 'web'), undefined);
      assert.equal(slicesOf(store, 'web').length, 0);
    });
  }));

test('named targetPorts resolve per pod; pods without the port are left out; different ports make separate subsets and slices', () =>
  withControllers(async (store) => {
    store.create('services', service('web', { ports: [{ name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' }] }));
    writePod(store, pod('a', { ip: '10.1.0.2', ports: [{ name: 'web', containerPort: 8080 }] }));
    writePod(store, pod('b', { ip: '10.1.0.3', ports: [{ name: 'web', containerPort: 9090 }] }));
    writePod(store, pod('c', { ip: '10.1.0.4', ports: [{ name: 'other', containerPort: 7070 }] }));
    await eventually(() => {
      const subsets = endpointsOf(store, 'web')?.subsets ?? [];
      const byPort = Object.fromEntries(subsets.map((s) => [s.ports![0]!.port, ips(s.addresses)]));
      assert.deepEqual(byPort, { 8080: ['10.1.0.2'], 9090: ['10.1.0.3'] });
      const slices = slicesOf(store, 'web');
      assert.deepEqual(slices.map((s) => [s.ports![0]!.port, s.endpoints.map((e) => e.addresses[0])]).sort(), [
        [8080, ['10.1.0.2']],
        [9090, ['10.1.0.3']],
      ]);
    });
  }));

test('publishNotReadyAddresses puts not-ready and terminating pods among the ready', () =>
  withControllers(async (store) => {
    store.create('services', service('web', { publishNotReadyAddresses: true }));
    writePod(store, pod('a', { ip: '10.1.0.2', ready: false }));
    const t = writePod(store, pod('t', { ip: '10.1.0.3' }));
    store.update('pods', { ...t, metadata: { ...t.metadata, finalizers: ['test/hold'] } });
    store.delete('pods', 'default', 't');
    await eventually(() => {
      const s = endpointsOf(store, 'web')?.subsets?.[0];
      assert.deepEqual(ips(s?.addresses), ['10.1.0.2', '10.1.0.3']);
      assert.equal(s?.notReadyAddresses, undefined);
      const conds = slicesOf(store, 'web')[0]?.endpoints.map((e) => e.conditions);
      assert.deepEqual(conds, [
        { ready: true, serving: false, terminating: false },
        { ready: true, serving: true, terminating: true },
      ]);
    });
  }));

test('headless: hostname for pods whose subdomain names the Service, headless label, port-less Service', () =>
  withControllers(async (store) => {
    store.create('services', service('db', { clusterIP: 'None', ports: [] }));
    writePod(store, pod('db-0', { ip: '10.1.0.2', hostname: 'db-0', subdomain: 'db' }));
    writePod(store, pod('x', { ip: '10.1.0.3', hostname: 'x', subdomain: 'other' }));
    await eventually(() => {
      const ep = endpointsOf(store, 'db');
      assert.equal(ep?.metadata.labels?.['service.kubernetes.io/headless'], '');
      const addrs = ep?.subsets?.[0]?.addresses ?? [];
      assert.deepEqual(addrs.map((a) => [a.ip, a.hostname]), [['10.1.0.2', 'db-0'], ['10.1.0.3', undefined]]);
      assert.equal(ep?.subsets?.[0]?.ports, undefined);
      const slice = slicesOf(store, 'db')[0];
      assert.equal(slice?.endpoints[0]?.hostname, 'db-0');
    });
  }));

test('more than 100 endpoints split into slices of at most 100 with stable names', () =>
  withControllers(async (store) => {
    store.create('services', service('big'));
    store.transaction(() => {
      for (let i = 0; i < 150; i++) writePod(store, pod(`p${i}`, { ip: `10.1.${Math.floor(i / 200)}.${(i % 200) + 2}` }));
    });
    await eventually(() => {
      const slices = slicesOf(store, 'big');
      assert.deepEqual(slices.map((s) => s.endpoints.length).sort(), [100, 50]);
      const all = new Set(slices.flatMap((s) => s.endpoints.map((e) => e.addresses[0])));
      assert.equal(all.size, 150);
    });
  }));

test('no write when nothing changed; Services without a selector are left to the user', () =>
  withControllers(async (store) => {
    store.create('services', service('web'));
    writePod(store, pod('a', { ip: '10.1.0.2' }));
    await eventually(() => assert.deepEqual(ips(endpointsOf(store, 'web')?.subsets?.[0]?.addresses), ['10.1.0.2']));
    await eventually(() => assert.equal(slicesOf(store, 'web')[0]?.endpoints.length, 1));
    const epRv = endpointsOf(store, 'web')!.metadata.resourceVersion;
    const sliceRv = slicesOf(store, 'web')[0]!.metadata.resourceVersion;
    // events that reach the reconcilers but change nothing they write
    const cur = store.get('pods', 'default', 'a')!;
    store.update('pods', { ...cur, metadata: { ...cur.metadata, annotations: { touched: '1' } } });
    const s = store.get('services', 'default', 'web')!;
    store.update('services', { ...s, metadata: { ...s.metadata, annotations: { touched: '1' } } });
    store.create('services', service('marker', { selector: { app: 'none' } }));
    // once the later Service has its Endpoints, the earlier events have been handled too
    await eventually(() => assert.ok(endpointsOf(store, 'marker')));
    await eventually(() => assert.equal(slicesOf(store, 'marker').length, 1));
    assert.equal(endpointsOf(store, 'web')!.metadata.resourceVersion, epRv);
    assert.equal(slicesOf(store, 'web')[0]!.metadata.resourceVersion, sliceRv);

    // a user-managed Endpoints object of a selector-less Service is not touched
    store.create('services', service('manual', { selector: undefined }));
    store.create('endpoints', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'manual', namespace: 'default' }, subsets: [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 80 }] }] });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(ips(endpointsOf(store, 'manual')?.subsets?.[0]?.addresses), ['192.0.2.1']);
    assert.equal(slicesOf(store, 'manual').length, 0);
  }));

test('a controller started over an existing store converges (level-triggered after a restart)', async () => {
  const ts = openTestStore();
  try {
    ts.store.create('services', service('web'));
    writePod(ts.store, pod('a', { ip: '10.1.0.2' }));
    // stale objects left from before: an Endpoints with a pod that is gone, a slice of a deleted Service
    ts.store.create('endpoints', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'default', ownerReferences: [] }, subsets: [{ addresses: [{ ip: '10.9.9.9' }] }] });
    ts.store.create(SLICE_RESOURCE, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'gone-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'gone', 'endpointslice.kubernetes.io/managed-by': MANAGED_BY } },
      addressType: 'IPv4',
      endpoints: [],
    });
    const informers = new InformerFactory(ts.store);
    const cs = [endpointsController({ store: ts.store, informers }), endpointSliceController({ store: ts.store, informers })];
    informers.start();
    for (const c of cs) await c.start();
    try {
      await eventually(() => {
        assert.deepEqual(ips(endpointsOf(ts.store, 'web')?.subsets?.[0]?.addresses), ['10.1.0.2']);
        assert.equal(slicesOf(ts.store, 'gone').length, 0);
      });
    } finally {
      for (const c of cs) await c.stop();
      informers.stop();
    }
  } finally {
    ts.cleanup();
  }
});
