import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject, OwnerReference } from '../api/types.js';
import type { Store } from '../store/types.js';
import { InformerFactory } from './informer.js';
import { GarbageCollector } from './owner-gc.js';
import { eventually } from './testing/eventually.js';
import { openTestStore } from './testing/test-store.js';

const ref = (o: KubeObject, controller = true): OwnerReference => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  name: o.metadata.name,
  uid: o.metadata.uid as string,
  controller,
});

function deployment(store: Store, name: string): KubeObject {
  return store.create('deployments.apps', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { namespace: 'ns', name },
    spec: { replicas: 1 },
  });
}

function owned(store: Store, resource: string, apiVersion: string, kind: string, name: string, owners: OwnerReference[]): KubeObject {
  return store.create(resource, { apiVersion, kind, metadata: { namespace: 'ns', name, ownerReferences: owners }, spec: {} });
}

const exists = (store: Store, resource: string, name: string) => store.get(resource, 'ns', name) !== undefined;

async function withGc(fn: (store: Store, ts: ReturnType<typeof openTestStore>, start: () => Promise<() => Promise<void>>) => Promise<void>) {
  const ts = openTestStore();
  const running: (() => Promise<void>)[] = [];
  const start = async () => {
    const informers = new InformerFactory(ts.store);
    const gc = new GarbageCollector({ store: ts.store, informers });
    await gc.start();
    const stop = async () => {
      await gc.stop();
      informers.stop();
    };
    running.push(stop);
    return stop;
  };
  try {
    await fn(ts.store, ts, start);
  } finally {
    for (const stop of running) await stop();
    ts.cleanup();
  }
}

test('deleting an owner deletes its dependents, and theirs in turn (background cascade)', () =>
  withGc(async (store, _ts, start) => {
    await start();
    const d = deployment(store, 'web');
    const rs = owned(store, 'replicasets.apps', 'apps/v1', 'ReplicaSet', 'web-abc', [ref(d)]);
    owned(store, 'pods', 'v1', 'Pod', 'web-abc-1', [ref(rs)]);
    owned(store, 'pods', 'v1', 'Pod', 'web-abc-2', [ref(rs)]);
    const other = deployment(store, 'api');
    owned(store, 'replicasets.apps', 'apps/v1', 'ReplicaSet', 'api-xyz', [ref(other)]);
    await new Promise((r) => setTimeout(r, 30));
    assert.ok(exists(store, 'replicasets.apps', 'web-abc'), 'dependents of live owners stay');

    store.delete('deployments.apps', 'ns', 'web');
    await eventually(() => {
      assert.equal(exists(store, 'replicasets.apps', 'web-abc'), false);
      assert.equal(exists(store, 'pods', 'web-abc-1'), false);
      assert.equal(exists(store, 'pods', 'web-abc-2'), false);
    });
    assert.ok(exists(store, 'replicasets.apps', 'api-xyz'), 'another owner’s dependents are untouched');
  }));

test('owners deleted while the collector was stopped are found after a restart', () =>
  withGc(async (store, ts, start) => {
    const stop = await start();
    const d = deployment(store, 'web');
    owned(store, 'replicasets.apps', 'apps/v1', 'ReplicaSet', 'web-abc', [ref(d)]);
    await stop();

    const reopened = ts.reopen();
    reopened.delete('deployments.apps', 'ns', 'web');
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(exists(reopened, 'replicasets.apps', 'web-abc'), 'nothing happens while stopped');

    await start();
    await eventually(() => assert.equal(exists(reopened, 'replicasets.apps', 'web-abc'), false));
  }));

test('a re-created owner with the same name but a new uid does not keep old dependents', () =>
  withGc(async (store, _ts, start) => {
    const old = deployment(store, 'web');
    store.delete('deployments.apps', 'ns', 'web');
    deployment(store, 'web');
    owned(store, 'replicasets.apps', 'apps/v1', 'ReplicaSet', 'stale', [ref(old)]);
    await start();
    await eventually(() => assert.equal(exists(store, 'replicasets.apps', 'stale'), false));
  }));

test('with several owners, only dangling references go; the object stays while one owner lives', () =>
  withGc(async (store, _ts, start) => {
    await start();
    const a = deployment(store, 'a');
    const b = deployment(store, 'b');
    owned(store, 'configmaps', 'v1', 'ConfigMap', 'shared', [ref(a, false), ref(b, false)]);
    store.delete('deployments.apps', 'ns', 'a');
    await eventually(() => {
      const cm = store.get('configmaps', 'ns', 'shared');
      assert.ok(cm);
      assert.deepEqual(cm.metadata.ownerReferences?.map((r) => r.name), ['b']);
    });
    store.delete('deployments.apps', 'ns', 'b');
    await eventually(() => assert.equal(exists(store, 'configmaps', 'shared'), false));
  }));

test('a dependent of an owner kind meshbox does not serve is kept', () =>
  withGc(async (store, _ts, start) => {
    const gcStop = await start();
    owned(store, 'configmaps', 'v1', 'ConfigMap', 'foreign', [
      { apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', uid: 'u-1', controller: true },
    ]);
    const d = deployment(store, 'gone');
    owned(store, 'configmaps', 'v1', 'ConfigMap', 'marker', [ref(d)]);
    store.delete('deployments.apps', 'ns', 'gone');
    // The marker proves the collector ran after the foreign object was seen.
    await eventually(() => assert.equal(exists(store, 'configmaps', 'marker'), false));
    assert.ok(exists(store, 'configmaps', 'foreign'));
    await gcStop();
  }));
