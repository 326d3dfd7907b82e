import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { KubeObject } from '../api/types.js';
import { ManualClock } from '../core/clock.js';
import { SqliteStore, ALL_RESOURCES } from './sqlite-store.js';
import type { WatchEvent } from './types.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'mbx-store-'));
}

function cm(name: string, data: Record<string, string> = { k: 'v' }, labels?: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) }, data };
}

function withStore(fn: (s: SqliteStore, dir: string) => void | Promise<void>) {
  return async () => {
    const dir = tempDir();
    const s = new SqliteStore({ stateDir: dir, clock: new ManualClock(Date.UTC(2024, 0, 1)) });
    try {
      await fn(s, dir);
    } finally {
      s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('create assigns uid, resourceVersion, generation, creationTimestamp; duplicates fail', withStore((s) => {
  const a = s.create('configmaps', cm('a'));
  assert.match(a.metadata.uid!, /^[0-9a-f-]{36}$/);
  assert.equal(a.metadata.generation, 1);
  assert.equal(a.metadata.creationTimestamp, '2024-01-01T00:00:00Z');
  assert.equal(a.metadata.resourceVersion, s.currentResourceVersion());
  assert.throws(() => s.create('configmaps', cm('a')), { code: 'MBX_STORE_ALREADY_EXISTS', httpStatus: 409 });
  const g = s.create('configmaps', { ...cm(''), metadata: { name: '', generateName: 'gen-' } });
  assert.match(g.metadata.name, /^gen-[a-z0-9]{5}$/);
  assert.equal(g.metadata.namespace, 'default');
  assert.throws(() => s.create('configmaps', { ...cm(''), metadata: { name: '' } }), { code: 'MBX_STORE_INVALID' });
  // cluster-scoped kinds have no namespace
  const ns = s.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', namespace: 'y' } });
  assert.equal(ns.metadata.namespace, undefined);
  assert.equal(s.get('namespaces', undefined, 'x')?.metadata.uid, ns.metadata.uid);
}));

test('update: conflicts, generation only on spec/data change, status kept, no-op writes', withStore((s) => {
  const a = s.create('configmaps', cm('a'));
  const stale = a.metadata.resourceVersion!;
  const b = s.update('configmaps', { ...a, data: { k: 'v2' } });
  assert.equal(b.metadata.generation, 2);
  assert.ok(Number(b.metadata.resourceVersion) > Number(stale));
  assert.throws(() => s.update('configmaps', { ...a, data: { k: 'v3' } }), { code: 'MBX_STORE_CONFLICT', httpStatus: 409 });
  const c = s.update('configmaps', { ...b, metadata: { ...b.metadata, labels: { x: 'y' } } });
  assert.equal(c.metadata.generation, 2, 'labels do not bump generation');
  const same = s.update('configmaps', c);
  assert.equal(same.metadata.resourceVersion, c.metadata.resourceVersion, 'a no-op update does not bump resourceVersion');
  assert.throws(() => s.update('configmaps', cm('missing')), { code: 'MBX_STORE_NOT_FOUND', httpStatus: 404 });

  const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [] } };
  const p1 = s.create('pods', pod);
  const p2 = s.updateStatus('pods', { ...p1, status: { phase: 'Running' }, spec: { containers: [{ name: 'x' }] } });
  assert.deepEqual(p2.status, { phase: 'Running' });
  assert.deepEqual(p2.spec, { containers: [] }, 'updateStatus ignores spec');
  assert.equal(p2.metadata.generation, 1);
  const p3 = s.update('pods', { ...p2, metadata: { ...p2.metadata, resourceVersion: undefined }, status: { phase: 'Failed' }, spec: { containers: [{ name: 'y' }] } } as KubeObject);
  assert.deepEqual(p3.status, { phase: 'Running' }, 'update keeps the stored status');
  assert.equal(p3.metadata.generation, 2);
  assert.equal(p3.metadata.uid, p1.metadata.uid);
}));

test('list with namespace, label and field selectors', withStore((s) => {
  s.create('configmaps', cm('a', {}, { app: 'web' }));
  s.create('configmaps', cm('b', {}, { app: 'db' }));
  s.create('configmaps', { ...cm('c', {}, { app: 'web' }), metadata: { name: 'c', namespace: 'other', labels: { app: 'web' } } });
  assert.deepEqual(s.list('configmaps').items.map((o) => o.metadata.name), ['a', 'b', 'c']);
  assert.deepEqual(s.list('configmaps', { namespace: 'default' }).items.map((o) => o.metadata.name), ['a', 'b']);
  assert.deepEqual(s.list('configmaps', { labelSelector: 'app=web' }).items.map((o) => o.metadata.name), ['a', 'c']);
  assert.deepEqual(s.list('configmaps', { fieldSelector: 'metadata.name!=a', labelSelector: 'app in (web,db)' }).items.map((o) => o.metadata.name), ['b', 'c']);
  assert.equal(s.list('configmaps').resourceVersion, s.currentResourceVersion());
}));

test('finalizers: delete marks, emptying finalizers removes', withStore((s) => {
  const events: WatchEvent[] = [];
  s.watch('configmaps', {}, (e) => events.push(e));
  const a = s.create('configmaps', { ...cm('a'), metadata: { name: 'a', finalizers: ['meshbox.dev/teardown'] } });
  const marked = s.delete('configmaps', 'default', 'a', { gracePeriodSeconds: 5 });
  assert.ok(marked?.metadata.deletionTimestamp);
  assert.equal(marked?.metadata.deletionGracePeriodSeconds, 5);
  assert.ok(s.get('configmaps', 'default', 'a'), 'still there while finalizers remain');
  const again = s.delete('configmaps', 'default', 'a');
  assert.equal(again?.metadata.deletionTimestamp, marked?.metadata.deletionTimestamp, 'deletionTimestamp is set once');
  assert.equal(again?.metadata.resourceVersion, marked?.metadata.resourceVersion);
  // an update cannot clear the deletionTimestamp
  const cur = s.get('configmaps', 'default', 'a')!;
  const kept = s.update('configmaps', { ...cur, metadata: { ...cur.metadata, deletionTimestamp: undefined, labels: { a: 'b' } } } as KubeObject);
  assert.ok(kept.metadata.deletionTimestamp);
  s.update('configmaps', { ...kept, metadata: { ...kept.metadata, finalizers: [] } });
  assert.equal(s.get('configmaps', 'default', 'a'), undefined);
  assert.deepEqual(events.map((e) => e.type), ['ADDED', 'MODIFIED', 'MODIFIED', 'DELETED']);
  assert.equal(events[3]!.object.metadata.uid, a.metadata.uid);
  // uid precondition
  const b = s.create('configmaps', cm('b'));
  assert.throws(() => s.delete('configmaps', 'default', 'b', { uid: 'nope' }), { code: 'MBX_STORE_CONFLICT' });
  assert.equal(s.delete('configmaps', 'default', 'b', { uid: b.metadata.uid })?.metadata.name, 'b');
  assert.equal(s.delete('configmaps', 'default', 'b'), undefined);
}));

test('transactions: all or nothing, events only after commit, in order', withStore((s) => {
  const events: string[] = [];
  s.watch(ALL_RESOURCES, {}, (e) => events.push(`${e.type} ${e.resource} ${e.object.metadata.name}`));
  const rv0 = s.currentResourceVersion();
  assert.throws(() =>
    s.transaction(() => {
      s.create('configmaps', cm('a'));
      s.create('secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } });
      s.create('configmaps', cm('a'));
    }),
  { code: 'MBX_STORE_ALREADY_EXISTS' });
  assert.equal(s.get('configmaps', 'default', 'a'), undefined);
  assert.equal(s.currentResourceVersion(), rv0);
  assert.deepEqual(events, []);
  s.transaction(() => {
    s.create('configmaps', cm('a'));
    assert.deepEqual(events, [], 'no event before commit');
    s.create('secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } });
  });
  assert.deepEqual(events, ['ADDED configmaps a', 'ADDED secrets s']);
}));

test('watch: replay from a resourceVersion, selector transitions, writes from callbacks stay ordered', withStore((s) => {
  const a = s.create('configmaps', cm('a', {}, { app: 'web' }));
  const from = a.metadata.resourceVersion!;
  s.update('configmaps', { ...a, data: { k: '2' } });
  s.create('configmaps', cm('b'));
  s.delete('configmaps', 'default', 'a');
  const replayed: string[] = [];
  const stop = s.watch('configmaps', { resourceVersion: from }, (e) => replayed.push(`${e.type} ${e.object.metadata.name}`));
  assert.deepEqual(replayed, ['MODIFIED a', 'ADDED b', 'DELETED a']);
  s.create('configmaps', cm('c'));
  assert.deepEqual(replayed.at(-1), 'ADDED c');
  stop();
  s.create('configmaps', cm('d'));
  assert.equal(replayed.length, 4);

  const sel: string[] = [];
  s.watch('configmaps', { labelSelector: 'app=web' }, (e) => sel.push(`${e.type} ${e.object.metadata.name}`));
  const c = s.get('configmaps', 'default', 'c')!;
  const c2 = s.update('configmaps', { ...c, metadata: { ...c.metadata, labels: { app: 'web' } } });
  s.update('configmaps', { ...c2, metadata: { ...c2.metadata, labels: { app: 'db' } } });
  assert.deepEqual(sel, ['ADDED c', 'DELETED c']);

  // a callback that writes: its event comes after the one being delivered, to everybody
  const order: string[] = [];
  s.watch('configmaps', {}, (e) => {
    order.push(`1:${e.object.metadata.name}`);
    if (e.object.metadata.name === 'x') s.create('configmaps', cm('y'));
  });
  s.watch('configmaps', {}, (e) => order.push(`2:${e.object.metadata.name}`));
  s.create('configmaps', cm('x'));
  assert.deepEqual(order, ['1:x', '2:x', '1:y', '2:y']);
}));

test('watch from a compacted resourceVersion is MBX_STORE_EXPIRED', async () => {
  const dir = tempDir();
  const s = new SqliteStore({ stateDir: dir, changeLogSize: 10 });
  try {
    const first = s.create('configmaps', cm('a'));
    for (let i = 0; i < 30; i++) s.update('configmaps', { ...s.get('configmaps', 'default', 'a')!, data: { i: String(i) } });
    assert.throws(() => s.watch('configmaps', { resourceVersion: first.metadata.resourceVersion }, () => {}), {
      code: 'MBX_STORE_EXPIRED',
      httpStatus: 410,
    });
    const seen: string[] = [];
    s.watch('configmaps', { resourceVersion: String(Number(s.currentResourceVersion()) - 3) }, (e) => seen.push(e.object.metadata.resourceVersion!));
    assert.equal(seen.length, 3);
  } finally {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resourceVersion stays monotonic across reopen', async () => {
  const dir = tempDir();
  try {
    let s = new SqliteStore({ stateDir: dir });
    s.create('configmaps', cm('a'));
    s.create('configmaps', cm('b'));
    s.delete('configmaps', 'default', 'b');
    const rv = Number(s.currentResourceVersion());
    s.close();
    s = new SqliteStore({ stateDir: dir });
    assert.equal(Number(s.currentResourceVersion()), rv);
    const c = s.create('configmaps', cm('c'));
    assert.equal(Number(c.metadata.resourceVersion), rv + 1);
    // the change log survives too
    const seen: string[] = [];
    s.watch('configmaps', { resourceVersion: String(rv - 1) }, (e) => seen.push(`${e.type} ${e.object.metadata.name}`));
    assert.deepEqual(seen, ['DELETED b', 'ADDED c']);
    s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every acknowledged write survives SIGKILL of the writing process', async () => {
  const dir = tempDir();
  const storeModule = fileURLToPath(new URL('./sqlite-store.js', import.meta.url));
  const script = join(dir, 'writer.mjs');
  writeFileSync(
    script,
    `import { SqliteStore } from ${JSON.stringify(storeModule)};
const s = new SqliteStore({ stateDir: ${JSON.stringify(dir)} });
for (let i = 0; ; i++) {
  const o = s.create('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-' + i }, data: { i: String(i) } });
  process.stdout.write(o.metadata.name + ' ' + o.metadata.resourceVersion + '\\n');
}
`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked: { name: string; rv: string }[] = [];
  let buf = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('writer produced too few writes in 20 s')), 20_000);
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) {
          const [name, rv] = l.split(' ');
          acked.push({ name: name!, rv: rv! });
        }
        if (acked.length >= 150 && !child.killed) {
          child.kill('SIGKILL');
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('error', reject);
    });
    await new Promise((r) => child.once('exit', r));
    // lines still in the pipe were acknowledged too
    const s = new SqliteStore({ stateDir: dir });
    try {
      for (const a of acked) {
        const o = s.get('configmaps', 'default', a.name);
        assert.ok(o, `${a.name} was acknowledged but is missing after SIGKILL`);
        assert.equal(o.metadata.resourceVersion, a.rv);
      }
      assert.ok(Number(s.currentResourceVersion()) >= Number(acked.at(-1)!.rv));
    } finally {
      s.close();
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
