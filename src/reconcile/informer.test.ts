import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/types.js';
import { Informer, InformerFactory, objectKey, splitKey } from './informer.js';
import { openTestStore } from './testing/test-store.js';

const cm = (ns: string, name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { namespace: ns, name, labels },
  data,
});

test('cache follows creates, updates and deletes; handlers see each', () => {
  const ts = openTestStore();
  try {
    const { store } = ts;
    store.create('configmaps', cm('a', 'pre'));
    const inf = new Informer(store, 'configmaps');
    const seen: string[] = [];
    inf.addEventHandler({
      onAdd: (o) => seen.push(`add ${objectKey(o)}`),
      onUpdate: (o, n) => seen.push(`update ${objectKey(n)} ${JSON.stringify(o['data'])}->${JSON.stringify(n['data'])}`),
      onDelete: (o) => seen.push(`delete ${objectKey(o)}`),
    });
    assert.equal(inf.hasSynced(), false);
    inf.start();
    assert.equal(inf.hasSynced(), true);
    assert.equal(inf.get('a', 'pre')?.metadata.name, 'pre', 'the initial list fills the cache');

    store.create('configmaps', cm('a', 'x', { k: '1' }));
    assert.deepEqual(inf.get('a', 'x')?.['data'], { k: '1' });
    const cur = store.get('configmaps', 'a', 'x') as KubeObject;
    store.update('configmaps', { ...cur, data: { k: '2' } });
    assert.deepEqual(inf.get('a', 'x')?.['data'], { k: '2' });
    store.delete('configmaps', 'a', 'x');
    assert.equal(inf.get('a', 'x'), undefined);
    assert.deepEqual(seen, ['add a/pre', 'add a/x', 'update a/x {"k":"1"}->{"k":"2"}', 'delete a/x']);
    inf.stop();
  } finally {
    ts.cleanup();
  }
});

test('cached objects are frozen deep copies', () => {
  const ts = openTestStore();
  try {
    ts.store.create('configmaps', cm('a', 'x', { k: '1' }));
    const inf = new Informer(ts.store, 'configmaps');
    inf.start();
    const o = inf.get('a', 'x') as KubeObject;
    assert.ok(Object.isFrozen(o) && Object.isFrozen(o.metadata) && Object.isFrozen(o['data']));
    assert.throws(() => {
      (o['data'] as Record<string, string>)['k'] = 'changed';
    }, TypeError);
    assert.deepEqual(ts.store.get('configmaps', 'a', 'x')?.['data'], { k: '1' });
    inf.stop();
  } finally {
    ts.cleanup();
  }
});

test('indexes follow changes, including objects that move between index values', () => {
  const ts = openTestStore();
  try {
    const { store } = ts;
    const inf = new Informer(store, 'configmaps');
    inf.addIndex('app', (o) => (o.metadata.labels?.['app'] ? [o.metadata.labels['app']] : []));
    store.create('configmaps', cm('a', 'one', {}, { app: 'web' }));
    inf.start();
    store.create('configmaps', cm('b', 'two', {}, { app: 'web' }));
    store.create('configmaps', cm('b', 'three', {}, { app: 'db' }));
    assert.deepEqual(inf.byIndex('app', 'web').map(objectKey).sort(), ['a/one', 'b/two']);
    const two = store.get('configmaps', 'b', 'two') as KubeObject;
    store.update('configmaps', { ...two, metadata: { ...two.metadata, labels: { app: 'db' } } });
    assert.deepEqual(inf.byIndex('app', 'web').map(objectKey), ['a/one']);
    assert.deepEqual(inf.byIndex('app', 'db').map(objectKey).sort(), ['b/three', 'b/two']);
    store.delete('configmaps', 'b', 'three');
    assert.deepEqual(inf.byIndex('app', 'db').map(objectKey), ['b/two']);
    assert.deepEqual(inf.list('b').map(objectKey), ['b/two'], 'built-in namespace index');
    assert.throws(() => inf.byIndex('nope', 'x'), { code: 'MBX_RECONCILE_UNKNOWN_INDEX' });
    assert.throws(() => inf.addIndex('app', () => []), { code: 'MBX_RECONCILE_DUPLICATE_INDEX' });
    inf.stop();
  } finally {
    ts.cleanup();
  }
});

test('a handler added after sync gets the cache as adds; a throwing handler does not break the writer', () => {
  const ts = openTestStore();
  try {
    const { store } = ts;
    store.create('configmaps', cm('a', 'x'));
    const inf = new Informer(store, 'configmaps');
    inf.start();
    const late: string[] = [];
    inf.addEventHandler({ onAdd: () => { throw new Error('boom'); } });
    inf.addEventHandler({ onAdd: (o) => late.push(objectKey(o)) });
    store.create('configmaps', cm('a', 'y'));
    assert.deepEqual(late, ['a/x', 'a/y']);
    inf.stop();
  } finally {
    ts.cleanup();
  }
});

test('handlers see events in order when a handler writes to the store', () => {
  const ts = openTestStore();
  try {
    const { store } = ts;
    const inf = new Informer(store, 'configmaps');
    inf.start();
    const order: string[] = [];
    inf.addEventHandler({
      onAdd: (o) => {
        order.push(`h1 ${o.metadata.name}`);
        if (o.metadata.name === 'first') store.create('configmaps', cm('a', 'second'));
      },
    });
    inf.addEventHandler({ onAdd: (o) => order.push(`h2 ${o.metadata.name}`) });
    store.create('configmaps', cm('a', 'first'));
    assert.deepEqual(order, ['h1 first', 'h2 first', 'h1 second', 'h2 second']);
    inf.stop();
  } finally {
    ts.cleanup();
  }
});

test('a restarted informer drops objects deleted while it was stopped', () => {
  const ts = openTestStore();
  try {
    const { store } = ts;
    store.create('configmaps', cm('a', 'x'));
    const inf = new Informer(store, 'configmaps');
    const deleted: string[] = [];
    inf.addEventHandler({ onDelete: (o) => deleted.push(objectKey(o)) });
    inf.start();
    inf.stop();
    store.delete('configmaps', 'a', 'x');
    store.create('configmaps', cm('a', 'y'));
    assert.equal(inf.hasSynced(), false);
    inf.start();
    assert.deepEqual(inf.keys(), ['a/y']);
    assert.deepEqual(deleted, ['a/x']);
    inf.stop();
  } finally {
    ts.cleanup();
  }
});

test('InformerFactory shares one informer per resource and starts late ones', async () => {
  const ts = openTestStore();
  try {
    const f = new InformerFactory(ts.store);
    const a = f.informerFor('configmaps');
    assert.equal(f.informerFor('configmaps'), a);
    f.start();
    await a.waitForSync();
    const late = f.informerFor('secrets');
    assert.equal(late.hasSynced(), true);
    f.stop();
    assert.equal(a.hasSynced(), false);
  } finally {
    ts.cleanup();
  }
});

test('objectKey and splitKey', () => {
  assert.equal(objectKey({ metadata: { namespace: 'ns', name: 'n' } }), 'ns/n');
  assert.equal(objectKey({ metadata: { name: 'cluster-scoped' } }), 'cluster-scoped');
  assert.deepEqual(splitKey('ns/n'), { namespace: 'ns', name: 'n' });
  assert.deepEqual(splitKey('n'), { namespace: undefined, name: 'n' });
  assert.throws(() => splitKey('a/b/c'), { code: 'MBX_RECONCILE_INVALID_KEY' });
  assert.throws(() => splitKey(''), { code: 'MBX_RECONCILE_INVALID_KEY' });
});

test('a label-selected informer drops objects relabelled out of the selector and picks up ones relabelled in', () => {
  const ts = openTestStore();
  try {
    const { store } = ts;
    const inf = new Informer(store, 'configmaps', { labelSelector: 'app=web' });
    const deleted: string[] = [];
    inf.addEventHandler({ onDelete: (o) => deleted.push(objectKey(o)) });
    store.create('configmaps', cm('a', 'web', {}, { app: 'web' }));
    store.create('configmaps', cm('a', 'db', {}, { app: 'db' }));
    inf.start();
    assert.deepEqual(inf.keys(), ['a/web']);
    const web = store.get('configmaps', 'a', 'web') as KubeObject;
    store.update('configmaps', { ...web, metadata: { ...web.metadata, labels: { app: 'other' } } });
    assert.deepEqual(inf.keys(), []);
    assert.deepEqual(deleted, ['a/web']);
    const db = store.get('configmaps', 'a', 'db') as KubeObject;
    store.update('configmaps', { ...db, metadata: { ...db.metadata, labels: { app: 'web' } } });
    assert.deepEqual(inf.keys(), ['a/db']);
    inf.stop();
  } finally {
    ts.cleanup();
  }
});
