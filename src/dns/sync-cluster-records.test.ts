import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../api/types.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { ClusterRecords } from './cluster-records.js';
import { syncClusterRecords } from './sync-cluster-records.js';

const A = (r: ClusterRecords, name: string) => {
  const res = r.lookup(name, 'A');
  return res?.rcode === 'NOERROR' ? res.answers.map((a) => (a as { data: string }).data) : res?.rcode;
};

test('records follow the real store: list first, then watch adds, updates and deletes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mbx-dns-sync-'));
  const store = new SqliteStore({ stateDir: dir });
  try {
    store.create('services', {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10' },
    } as KubeObject);
    const records = new ClusterRecords();
    const stop = syncClusterRecords(store, records);
    try {
      assert.deepEqual(A(records, 'web.default.svc.cluster.local'), ['10.96.0.10'], 'listed at start');
      store.create('services', {
        apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'default' }, spec: { clusterIP: 'None' },
      } as KubeObject);
      store.create('endpoints', {
        apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'db', namespace: 'default' },
        subsets: [{ addresses: [{ ip: '10.244.0.9' }] }],
      } as KubeObject);
      assert.deepEqual(A(records, 'db.default.svc.cluster.local'), ['10.244.0.9']);
      const pod = store.create('pods', {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [] },
      } as KubeObject);
      assert.equal(A(records, '10-244-0-7.default.pod.cluster.local'), 'NXDOMAIN');
      store.updateStatus('pods', { ...pod, status: { phase: 'Running', podIP: '10.244.0.7' } });
      assert.deepEqual(A(records, '10-244-0-7.default.pod.cluster.local'), ['10.244.0.7']);
      store.delete('services', 'default', 'web');
      assert.equal(A(records, 'web.default.svc.cluster.local'), 'NXDOMAIN');
    } finally {
      stop();
    }
    store.create('services', {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'late', namespace: 'default' }, spec: { clusterIP: '10.96.0.11' },
    } as KubeObject);
    assert.equal(A(records, 'late.default.svc.cluster.local'), 'NXDOMAIN', 'stopped watches apply nothing');
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
