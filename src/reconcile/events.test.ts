import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventObject, KubeObject } from '../api/types.js';
import { ManualClock } from '../core/clock.js';
import { EventRecorder } from './events.js';
import { openTestStore } from './testing/test-store.js';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

test('records a v1 Event and aggregates repeats into count and lastTimestamp, also after a restart', () => {
  const ts = openTestStore();
  try {
    const clock = new ManualClock(T0);
    const pod = ts.store.create('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'ns', name: 'web-1' }, spec: {} });
    const rec = new EventRecorder({ store: ts.store, component: 'kubelet', clock });
    const first = rec.warning(pod, 'BackOff', 'Back-off restarting failed container app');
    assert.ok(first);
    assert.match(first.metadata.name, /^web-1\.[0-9a-f]{16}$/);
    assert.equal(first.metadata.namespace, 'ns');
    assert.deepEqual(first.involvedObject, { apiVersion: 'v1', kind: 'Pod', name: 'web-1', namespace: 'ns', uid: pod.metadata.uid });
    assert.equal(first.type, 'Warning');
    assert.equal(first.reason, 'BackOff');
    assert.equal(first.count, 1);
    assert.deepEqual(first.source, { component: 'kubelet' });
    assert.equal(first.firstTimestamp, '2026-01-01T00:00:00Z');

    clock.advance(30_000);
    const again = rec.warning(pod, 'BackOff', 'Back-off restarting failed container app');
    assert.equal(again?.metadata.name, first.metadata.name);
    assert.equal(again?.count, 2);
    assert.equal(again?.firstTimestamp, '2026-01-01T00:00:00Z');
    assert.equal(again?.lastTimestamp, '2026-01-01T00:00:30Z');

    rec.normal(pod, 'Started', 'Started container app');
    assert.equal(ts.store.list('events', { namespace: 'ns' }).items.length, 2, 'a different event is a new Event');

    const store = ts.reopen();
    const afterRestart = new EventRecorder({ store, component: 'kubelet', clock });
    clock.advance(1000);
    assert.equal(afterRestart.warning(pod, 'BackOff', 'Back-off restarting failed container app')?.count, 3);
    assert.equal(store.list('events', { namespace: 'ns' }).items.length, 2);
  } finally {
    ts.cleanup();
  }
});

test('events about cluster-scoped objects go to "default"; messages are truncated at 1 KiB', () => {
  const ts = openTestStore();
  try {
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', uid: 'u1' } };
    const rec = new EventRecorder({ store: ts.store, component: 'namespace-controller' });
    const e = rec.normal(ns, 'Created', 'x'.repeat(5000));
    assert.equal(e?.metadata.namespace, 'default');
    assert.equal(e?.involvedObject.namespace, undefined);
    assert.equal(e?.message.length, 1024);
  } finally {
    ts.cleanup();
  }
});

test('each namespace keeps a bounded number of Events, dropping the oldest', () => {
  const ts = openTestStore();
  try {
    const clock = new ManualClock(T0);
    const rec = new EventRecorder({ store: ts.store, component: 'test', clock, maxPerNamespace: 10 });
    const obj: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns', name: 'c', uid: 'u' } };
    const other: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'other', name: 'c', uid: 'u2' } };
    rec.normal(other, 'Keep', 'in another namespace');
    for (let i = 0; i < 25; i++) {
      clock.advance(1000);
      rec.normal(obj, 'Step', `step ${i}`);
    }
    const items = ts.store.list('events', { namespace: 'ns' }).items as EventObject[];
    assert.ok(items.length <= 10, `kept ${items.length}`);
    const messages = items.map((e) => e.message);
    assert.ok(messages.includes('step 24'), 'the newest is kept');
    assert.ok(!messages.includes('step 0'), 'the oldest is gone');
    assert.equal(ts.store.list('events', { namespace: 'other' }).items.length, 1, 'other namespaces are not pruned');
    assert.ok(rec.metrics().prunedTotal >= 15);
  } finally {
    ts.cleanup();
  }
});

test('recording never throws, even when the store is unusable', () => {
  const ts = openTestStore();
  const rec = new EventRecorder({ store: ts.store, component: 'test' });
  ts.cleanup();
  const obj: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'ns', name: 'p' } };
  assert.equal(rec.warning(obj, 'Failed', 'boom'), undefined);
  assert.equal(rec.metrics().failedTotal, 1);
});
