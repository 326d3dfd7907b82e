import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../core/clock.js';
import type { KubeObject } from '../../api/types.js';
import { openTestStore } from '../../reconcile/testing/test-store.js';
import { ClusterIpAllocator } from './cluster-ip-allocator.js';
import type { Service } from './service-types.js';

function svc(name: string, spec: Record<string, unknown> = {}, namespace = 'default'): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { type: 'ClusterIP', ports: [{ port: 80, protocol: 'TCP' }], selector: { app: name }, ...spec },
  } as Service;
}

function withAllocator(fn: (a: ClusterIpAllocator, write: (s: KubeObject) => Service, clock: ManualClock) => void, cidr = '10.96.0.0/29'): void {
  const ts = openTestStore();
  try {
    const clock = new ManualClock(1_000_000);
    const a = new ClusterIpAllocator({ store: ts.store, serviceCidr: cidr, clock, nodePortRange: { min: 30000, max: 30002 } });
    fn(a, (s) => ts.store.create('services', a.admitService(s)) as Service, clock);
  } finally {
    ts.cleanup();
  }
}

test('allocates distinct addresses, skipping network, broadcast and the first address', () =>
  withAllocator((a, write) => {
    // /29: .0 network, .1 for `kubernetes`, .7 broadcast → .2 to .6 are allocatable
    const got = ['a', 'b', 'c', 'd', 'e'].map((n) => write(svc(n)).spec.clusterIP);
    assert.deepEqual([...got].sort(), ['10.96.0.2', '10.96.0.3', '10.96.0.4', '10.96.0.5', '10.96.0.6']);
    assert.throws(() => a.admitService(svc('f')), { code: 'MBX_SERVICES_CLUSTER_IP_RANGE_FULL' });
    assert.equal(a.firstAddress, '10.96.0.1');
  }));

test('fills clusterIPs, ipFamilies and ipFamilyPolicy', () =>
  withAllocator((_a, write) => {
    const s = write(svc('a'));
    assert.deepEqual(s.spec.clusterIPs, [s.spec.clusterIP]);
    assert.deepEqual(s.spec.ipFamilies, ['IPv4']);
    assert.equal(s.spec.ipFamilyPolicy, 'SingleStack');
  }));

test('honours a requested address and rejects a clash with Kubernetes message', () =>
  withAllocator((a, write) => {
    assert.equal(write(svc('a', { clusterIP: '10.96.0.4' })).spec.clusterIP, '10.96.0.4');
    assert.throws(() => a.admitService(svc('b', { clusterIP: '10.96.0.4' })), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'MBX_SERVICES_CLUSTER_IP_ALLOCATED');
      assert.match(err.message, /provided IP is already allocated/);
      assert.match(err.message, /default\/a/);
      return true;
    });
    // automatic allocation steps around the requested one
    const auto = ['b', 'c', 'd', 'e'].map((n) => write(svc(n)).spec.clusterIP);
    assert.ok(!auto.includes('10.96.0.4'));
  }));

test('rejects requested addresses outside the range or malformed', () =>
  withAllocator((a) => {
    assert.throws(() => a.admitService(svc('a', { clusterIP: '10.97.0.4' })), { code: 'MBX_SERVICES_CLUSTER_IP_OUT_OF_RANGE' });
    assert.throws(() => a.admitService(svc('a', { clusterIP: '10.96.0.7' })), { code: 'MBX_SERVICES_CLUSTER_IP_OUT_OF_RANGE' });
    assert.throws(() => a.admitService(svc('a', { clusterIP: '10.96.0.0' })), { code: 'MBX_SERVICES_CLUSTER_IP_OUT_OF_RANGE' });
    assert.throws(() => a.admitService(svc('a', { clusterIP: 'ten' })), { code: 'MBX_SERVICES_CLUSTER_IP_INVALID' });
    // the first address may be asked for (the `kubernetes` Service does)
    assert.equal(a.admitService(svc('kubernetes', { clusterIP: '10.96.0.1' })).spec.clusterIP, '10.96.0.1');
  }));

test('headless Services keep None and take no address', () =>
  withAllocator((_a, write) => {
    const h = write(svc('h', { clusterIP: 'None' }));
    assert.equal(h.spec.clusterIP, 'None');
    assert.deepEqual(h.spec.clusterIPs, ['None']);
    const all = ['a', 'b', 'c', 'd', 'e'].map((n) => write(svc(n)).spec.clusterIP);
    assert.equal(new Set(all).size, 5);
  }));

test('an update keeps the stored address and refuses to change it', () =>
  withAllocator((a, write) => {
    const stored = write(svc('a'));
    const again = a.admitService(svc('a', { ports: [{ port: 81 }] }), stored);
    assert.equal(again.spec.clusterIP, stored.spec.clusterIP);
    const other = stored.spec.clusterIP === '10.96.0.5' ? '10.96.0.6' : '10.96.0.5';
    assert.throws(() => a.admitService(svc('a', { clusterIP: other }), stored), { code: 'MBX_SERVICES_CLUSTER_IP_IMMUTABLE' });
    // re-admitting its own address is no clash with itself
    assert.equal(a.admitService(svc('a', { clusterIP: stored.spec.clusterIP }), stored).spec.clusterIP, stored.spec.clusterIP);
  }));

test('a deleted Service releases its address (the store is the truth)', () => {
  const ts = openTestStore();
  try {
    const a = new ClusterIpAllocator({ store: ts.store, serviceCidr: '10.96.0.0/30' });
    // /30 has exactly one allocatable address (.2)
    ts.store.create('services', a.admitService(svc('a')));
    assert.throws(() => a.admitService(svc('b')), { code: 'MBX_SERVICES_CLUSTER_IP_RANGE_FULL' });
    ts.store.delete('services', 'default', 'a');
    assert.equal(a.admitService(svc('b')).spec.clusterIP, '10.96.0.2');
  } finally {
    ts.cleanup();
  }
});

test('a new allocator over the same store sees every address (restart)', () => {
  const ts = openTestStore();
  try {
    const first = new ClusterIpAllocator({ store: ts.store, serviceCidr: '10.96.0.0/29' });
    const used = new Set(['a', 'b', 'c'].map((n) => (ts.store.create('services', first.admitService(svc(n))) as Service).spec.clusterIP));
    const store = ts.reopen();
    const second = new ClusterIpAllocator({ store, serviceCidr: '10.96.0.0/29' });
    for (const n of ['d', 'e']) {
      const ip = (store.create('services', second.admitService(svc(n))) as Service).spec.clusterIP!;
      assert.ok(!used.has(ip), `${ip} was handed out twice`);
      used.add(ip);
    }
    assert.throws(() => second.admitService(svc('f')), { code: 'MBX_SERVICES_CLUSTER_IP_RANGE_FULL' });
  } finally {
    ts.cleanup();
  }
});

test('addresses admitted but not yet written are not handed out twice (apply of many documents)', () =>
  withAllocator((a, _write, clock) => {
    const x = a.admitService(svc('x'));
    const y = a.admitService(svc('y'));
    assert.notEqual(x.spec.clusterIP, y.spec.clusterIP);
    // the same Service admitted again (a retried apply) keeps its reservation
    assert.equal(a.admitService(svc('x')).spec.clusterIP, x.spec.clusterIP);
    assert.throws(() => a.admitService(svc('z', { clusterIP: x.spec.clusterIP })), { code: 'MBX_SERVICES_CLUSTER_IP_ALLOCATED' });
    // a reservation whose write never came expires
    clock.advance(61_000);
    assert.equal(a.admitService(svc('z', { clusterIP: x.spec.clusterIP })).spec.clusterIP, x.spec.clusterIP);
  }));

test('NodePort: allocates in range, honours requests, rejects clashes and out-of-range, keeps on update', () =>
  withAllocator((a, write) => {
    const n1 = write(svc('n1', { type: 'NodePort', ports: [{ port: 80 }, { port: 443, name: 'https' }] }));
    const ports = n1.spec.ports!.map((p) => p.nodePort!);
    assert.equal(new Set(ports).size, 2);
    for (const p of ports) assert.ok(p >= 30000 && p <= 30002);
    const free = [30000, 30001, 30002].find((p) => !ports.includes(p))!;
    assert.throws(() => a.admitService(svc('n2', { type: 'NodePort', ports: [{ port: 80, nodePort: ports[0] }] })), {
      code: 'MBX_SERVICES_NODE_PORT_ALLOCATED',
    });
    assert.throws(() => a.admitService(svc('n2', { type: 'NodePort', ports: [{ port: 80, nodePort: 29999 }] })), {
      code: 'MBX_SERVICES_NODE_PORT_OUT_OF_RANGE',
    });
    const updated = a.admitService(svc('n1', { type: 'NodePort', ports: [{ port: 80 }, { port: 443, name: 'https' }] }), n1);
    assert.deepEqual(updated.spec.ports!.map((p) => p.nodePort), ports);
    assert.equal(write(svc('n3', { type: 'NodePort', ports: [{ port: 1 }] })).spec.ports![0]!.nodePort, free);
    assert.throws(() => a.admitService(svc('n4', { type: 'NodePort' })), { code: 'MBX_SERVICES_NODE_PORT_RANGE_FULL' });
    // ClusterIP Services carry no node port
    assert.equal(a.admitService(svc('c', { ports: [{ port: 80, nodePort: 30000 }] })).spec.ports![0]!.nodePort, undefined);
  }));

test('ExternalName Services get no address', () =>
  withAllocator((a) => {
    const s = a.admitService(svc('x', { type: 'ExternalName', externalName: 'example.com', clusterIP: '' }));
    assert.equal(s.spec.clusterIP, undefined);
  }));

test('an invalid service CIDR is refused with a hint', () => {
  const ts = openTestStore();
  try {
    assert.throws(() => new ClusterIpAllocator({ store: ts.store, serviceCidr: '10.96.0.0' }), { code: 'MBX_SERVICES_INVALID_CIDR' });
  } finally {
    ts.cleanup();
  }
});
