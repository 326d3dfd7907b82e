import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/types.js';
import { ManualClock } from '../core/clock.js';
import { Controller, controllerOwnerKey, isTerminal, terminal, type Reconciler } from './controller.js';
import { Informer, InformerFactory, splitKey } from './informer.js';
import { eventually } from './testing/eventually.js';
import { openTestStore } from './testing/test-store.js';

const cm = (ns: string, name: string, data: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { namespace: ns, name },
  data,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** lets promise chains and setImmediate callbacks run (ManualClock tests) */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

test('one key never runs on two workers; a re-add during a reconcile runs once more after it', async () => {
  const ts = openTestStore();
  const active = new Map<string, number>();
  let maxConcurrentPerKey = 0;
  let maxConcurrentOverall = 0;
  let running = 0;
  const calls: string[] = [];
  let release!: () => void;
  const firstRunBlocked = new Promise<void>((r) => (release = r));
  const reconciler: Reconciler = {
    async reconcile(key) {
      calls.push(key);
      const n = (active.get(key) ?? 0) + 1;
      active.set(key, n);
      running++;
      maxConcurrentPerKey = Math.max(maxConcurrentPerKey, n);
      maxConcurrentOverall = Math.max(maxConcurrentOverall, running);
      if (key === 'ns/slow' && calls.filter((c) => c === key).length === 1) await firstRunBlocked;
      else await sleep(2);
      active.set(key, (active.get(key) ?? 1) - 1);
      running--;
    },
  };
  const inf = new Informer(ts.store, 'configmaps');
  const c = new Controller({ name: 'test', reconciler, workers: 4 }).for(inf);
  try {
    ts.store.create('configmaps', cm('ns', 'slow'));
    await c.start();
    await eventually(() => assert.deepEqual(calls, ['ns/slow']));
    // Re-add the key three ways while its first reconcile is still running.
    const cur = ts.store.get('configmaps', 'ns', 'slow') as KubeObject;
    ts.store.update('configmaps', { ...cur, data: { v: '2' } });
    c.enqueue('ns/slow');
    c.enqueue('ns/slow');
    for (let i = 0; i < 5; i++) ts.store.create('configmaps', cm('ns', `other${i}`));
    await eventually(() => assert.equal(calls.length, 6));
    await sleep(20);
    assert.equal(calls.filter((k) => k === 'ns/slow').length, 1, 'no second run while the first holds the key');
    release();
    await eventually(() => assert.equal(calls.filter((k) => k === 'ns/slow').length, 2));
    await sleep(20);
    assert.equal(calls.filter((k) => k === 'ns/slow').length, 2, 'the re-adds collapse into one more run');
    assert.equal(maxConcurrentPerKey, 1);
    assert.ok(maxConcurrentOverall > 1, 'other keys did run in parallel');
    assert.equal(c.metrics().successTotal, 7);
  } finally {
    await c.stop();
    ts.cleanup();
  }
});

test('errors back off exponentially per key; a success resets the back-off', async () => {
  const ts = openTestStore();
  const clock = new ManualClock();
  let failuresLeft = 3;
  const calls: number[] = [];
  const reconciler: Reconciler = {
    async reconcile() {
      calls.push(clock.now());
      if (failuresLeft-- > 0) throw new Error('not yet');
    },
  };
  const inf = new Informer(ts.store, 'configmaps');
  const c = new Controller({ name: 'backoff', reconciler, clock, backoff: { baseDelayMs: 10, maxDelayMs: 1000 } }).for(inf);
  try {
    ts.store.create('configmaps', cm('ns', 'a'));
    await c.start();
    await settle();
    assert.deepEqual(calls, [0]);
    clock.advance(9);
    await settle();
    assert.equal(calls.length, 1, 'not before the first back-off of 10 ms');
    clock.advance(1);
    await settle();
    assert.deepEqual(calls, [0, 10]);
    clock.advance(19);
    await settle();
    assert.equal(calls.length, 2, 'second back-off is 20 ms');
    clock.advance(1);
    await settle();
    clock.advance(40);
    await settle();
    assert.deepEqual(calls, [0, 10, 30, 70], 'delays 10, 20, 40; the fourth run succeeds');
    assert.equal(c.metrics().errorsTotal, 3);
    assert.equal(c.metrics().successTotal, 1);

    // After the success the back-off starts again at the base delay.
    failuresLeft = 1;
    c.enqueue('ns/a');
    await settle();
    clock.advance(10);
    await settle();
    assert.deepEqual(calls, [0, 10, 30, 70, 70, 80]);
  } finally {
    await c.stop();
    ts.cleanup();
  }
});

test('requeueAfter reconciles the key again after the delay', async () => {
  const ts = openTestStore();
  const clock = new ManualClock();
  const calls: number[] = [];
  const reconciler: Reconciler = {
    async reconcile() {
      calls.push(clock.now());
      return calls.length < 3 ? { requeueAfter: 1000 } : undefined;
    },
  };
  const c = new Controller({ name: 'poll', reconciler, clock }).for(new Informer(ts.store, 'configmaps'));
  try {
    ts.store.create('configmaps', cm('ns', 'a'));
    await c.start();
    await settle();
    clock.advance(999);
    await settle();
    assert.deepEqual(calls, [0]);
    clock.advance(1);
    await settle();
    assert.deepEqual(calls, [0, 1000]);
    clock.advance(1000);
    await settle();
    clock.advance(5000);
    await settle();
    assert.deepEqual(calls, [0, 1000, 2000], 'stops polling once the reconciler stops asking');
    assert.equal(c.metrics().requeueAfterTotal, 2);
  } finally {
    await c.stop();
    ts.cleanup();
  }
});

test('terminal errors are counted and not retried', async () => {
  const ts = openTestStore();
  const clock = new ManualClock();
  let calls = 0;
  const reconciler: Reconciler = {
    async reconcile() {
      calls++;
      throw terminal(new Error('spec.image is empty'));
    },
  };
  const c = new Controller({ name: 'terminal', reconciler, clock }).for(new Informer(ts.store, 'configmaps'));
  try {
    ts.store.create('configmaps', cm('ns', 'a'));
    await c.start();
    await settle();
    clock.advance(10_000_000);
    await settle();
    assert.equal(calls, 1);
    const m = c.metrics();
    assert.equal(m.terminalErrorsTotal, 1);
    assert.equal(m.errorsTotal, 0);
    assert.equal(m.queueRetriesTotal, 0);
    assert.ok(isTerminal(terminal(new Error('x'))));
    assert.ok(!isTerminal(new Error('x')));
    assert.match(terminal(new Error('spec.image is empty')).message, /spec\.image is empty/);
  } finally {
    await c.stop();
    ts.cleanup();
  }
});

/**
 * A tiny level-triggered reconciler: every ConfigMap "x" with data.want has a Secret "x-copy"
 * owned by it whose data.have equals data.want.
 */
function copyReconciler(factory: InformerFactory, store: import('../store/types.js').Store): Reconciler {
  const cms = factory.informerFor('configmaps');
  return {
    async reconcile(key) {
      const { namespace, name } = splitKey(key);
      const src = cms.get(namespace, name);
      if (!src) return; // the owner GC removes the copy
      const want = (src['data'] as Record<string, string> | undefined)?.['want'] ?? '';
      const copy = store.get('secrets', namespace, `${name}-copy`);
      const desired: KubeObject = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          namespace,
          name: `${name}-copy`,
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name, uid: src.metadata.uid as string, controller: true }],
        },
        stringData: { have: want },
      };
      if (!copy) store.create('secrets', desired);
      else if ((copy['stringData'] as Record<string, string>)['have'] !== want) {
        store.update('secrets', { ...desired, metadata: { ...desired.metadata, resourceVersion: copy.metadata.resourceVersion } });
      }
    },
  };
}

const have = (store: import('../store/types.js').Store, ns: string, name: string) =>
  (store.get('secrets', ns, name)?.['stringData'] as Record<string, string> | undefined)?.['have'];

test('owns() maps owned objects to their owner: a changed copy is repaired', async () => {
  const ts = openTestStore();
  const factory = new InformerFactory(ts.store);
  const c = new Controller({ name: 'copy', reconciler: copyReconciler(factory, ts.store) })
    .for(factory.informerFor('configmaps'))
    .owns(factory.informerFor('secrets'), 'ConfigMap');
  try {
    await c.start();
    ts.store.create('configmaps', cm('ns', 'a', { want: '1' }));
    await eventually(() => assert.equal(have(ts.store, 'ns', 'a-copy'), '1'));
    const copy = ts.store.get('secrets', 'ns', 'a-copy') as KubeObject;
    ts.store.update('secrets', { ...copy, stringData: { have: 'tampered' } });
    await eventually(() => assert.equal(have(ts.store, 'ns', 'a-copy'), '1'));
  } finally {
    await c.stop();
    factory.stop();
    ts.cleanup();
  }
});

test('level-triggered: state changed while the controller was stopped converges after a restart', async () => {
  const ts = openTestStore();
  let factory = new InformerFactory(ts.store);
  let c = new Controller({ name: 'copy', reconciler: copyReconciler(factory, ts.store), workers: 2 })
    .for(factory.informerFor('configmaps'))
    .owns(factory.informerFor('secrets'), 'ConfigMap');
  try {
    await c.start();
    ts.store.create('configmaps', cm('ns', 'a', { want: '1' }));
    ts.store.create('configmaps', cm('ns', 'b', { want: '1' }));
    await eventually(() => {
      assert.equal(have(ts.store, 'ns', 'a-copy'), '1');
      assert.equal(have(ts.store, 'ns', 'b-copy'), '1');
    });
    await c.stop();
    factory.stop();

    // While nobody watches: a new source, a changed source, a lost copy.
    const store = ts.reopen();
    store.create('configmaps', cm('ns', 'c', { want: '3' }));
    const a = store.get('configmaps', 'ns', 'a') as KubeObject;
    store.update('configmaps', { ...a, data: { want: '2' } });
    store.delete('secrets', 'ns', 'b-copy');
    await sleep(10);
    assert.equal(store.get('secrets', 'ns', 'c-copy'), undefined, 'nothing happens while stopped');

    factory = new InformerFactory(store);
    c = new Controller({ name: 'copy', reconciler: copyReconciler(factory, store), workers: 2 })
      .for(factory.informerFor('configmaps'))
      .owns(factory.informerFor('secrets'), 'ConfigMap');
    await c.start();
    await eventually(() => {
      assert.equal(have(store, 'ns', 'a-copy'), '2');
      assert.equal(have(store, 'ns', 'b-copy'), '1');
      assert.equal(have(store, 'ns', 'c-copy'), '3');
    });
  } finally {
    await c.stop();
    factory.stop();
    ts.cleanup();
  }
});

test('stop() waits for the running reconcile and no key runs after it', async () => {
  const ts = openTestStore();
  let finished = 0;
  let startedAfterStop = 0;
  let stopping = false;
  const reconciler: Reconciler = {
    async reconcile() {
      if (stopping) startedAfterStop++;
      await sleep(30);
      finished++;
    },
  };
  const c = new Controller({ name: 'drain', reconciler }).for(new Informer(ts.store, 'configmaps'));
  try {
    for (let i = 0; i < 3; i++) ts.store.create('configmaps', cm('ns', `k${i}`));
    await c.start();
    await sleep(5);
    stopping = true;
    await c.stop();
    assert.equal(finished, 1, 'the running reconcile finished before stop() resolved');
    assert.equal(startedAfterStop, 0);
    assert.equal(c.metrics().activeWorkers, 0);
  } finally {
    await c.stop();
    ts.cleanup();
  }
});

test('watches() after start is refused; queue depth is visible in metrics', async () => {
  const ts = openTestStore();
  const inf = new Informer(ts.store, 'configmaps');
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const c = new Controller({ name: 'm', reconciler: { reconcile: () => gate } }).for(inf);
  try {
    for (let i = 0; i < 4; i++) ts.store.create('configmaps', cm('ns', `k${i}`));
    await c.start();
    await settle();
    assert.equal(c.metrics().activeWorkers, 1);
    assert.equal(c.metrics().queueDepth, 3);
    assert.throws(() => c.watches(inf, () => []), { code: 'MBX_RECONCILE_ALREADY_STARTED' });
    release();
    await eventually(() => assert.equal(c.metrics().successTotal, 4));
    assert.equal(c.metrics().queueDepth, 0);
  } finally {
    await c.stop();
    ts.cleanup();
  }
});

test('controllerOwnerKey picks the controller reference of the kind', () => {
  const obj: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace: 'ns',
      name: 'p',
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'not-controller', uid: '1' },
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: '2', controller: true },
      ],
    },
  };
  assert.equal(controllerOwnerKey(obj, 'ReplicaSet'), 'ns/rs');
  assert.equal(controllerOwnerKey(obj, 'Deployment'), undefined);
  assert.equal(controllerOwnerKey(obj, 'ReplicaSet', 'apps/v2'), undefined);
  const nsOwned: KubeObject = {
    ...obj,
    metadata: { ...obj.metadata, ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: 'ns', uid: '3', controller: true }] },
  };
  assert.equal(controllerOwnerKey(nsOwned, 'Namespace'), 'ns', 'cluster-scoped owner: bare name');
});

test('resyncEveryMs maps every cached object again', async () => {
  const ts = openTestStore();
  const clock = new ManualClock();
  const calls: string[] = [];
  const c = new Controller({
    name: 'resync',
    clock,
    resyncEveryMs: 60_000,
    reconciler: { reconcile: async (key) => void calls.push(key) },
  }).for(new Informer(ts.store, 'configmaps'));
  try {
    ts.store.create('configmaps', cm('ns', 'a'));
    await c.start();
    await settle();
    assert.deepEqual(calls, ['ns/a']);
    clock.advance(60_000);
    await settle();
    assert.deepEqual(calls, ['ns/a', 'ns/a']);
    clock.advance(60_000);
    await settle();
    assert.equal(calls.length, 3);
  } finally {
    await c.stop();
    ts.cleanup();
  }
});

test('stop() aborts the signal of a long reconcile, which is not counted as an error', async () => {
  const ts = openTestStore();
  let sawAbort = false;
  const c = new Controller({
    name: 'long',
    reconciler: {
      reconcile: (_key, { signal }) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => {
            sawAbort = true;
            reject(new Error('aborted'));
          });
        }),
    },
  }).for(new Informer(ts.store, 'configmaps'));
  try {
    ts.store.create('configmaps', cm('ns', 'a'));
    await c.start();
    await eventually(() => assert.equal(c.metrics().activeWorkers, 1));
    await c.stop();
    assert.equal(sawAbort, true);
    assert.equal(c.metrics().errorsTotal, 0);
    assert.equal(c.metrics().activeWorkers, 0);
  } finally {
    await c.stop();
    ts.cleanup();
  }
});
