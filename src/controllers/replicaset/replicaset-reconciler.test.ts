import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../api/types.js';
import { silentLogger } from '../../core/logger.js';
import { eventually } from '../../reconcile/testing/eventually.js';
import { openTestStore } from '../../reconcile/testing/test-store.js';
import type { Store } from '../../store/types.js';
import { isPodActive } from '../workloads-shared/pod-utils.js';
import { withHarness } from '../workloads-shared/testing/harness.js';
import { PODS, REPLICASETS, type ReplicaSet } from '../workloads-shared/types.js';
import { createReplicaSetController } from './replicaset-controller.js';
import { ReplicaSetReconciler } from './replicaset-reconciler.js';

function makeRs(store: Store, name: string, replicas: number, extra: Partial<ReplicaSet['spec']> = {}): ReplicaSet {
  return store.create(REPLICASETS, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { namespace: 'ns', name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name, tier: 'web' } }, spec: { containers: [{ name: 'c', image: 'host' }] } },
      ...extra,
    },
  }) as ReplicaSet;
}

const podsOf = (store: Store, rs: ReplicaSet) =>
  (store.list(PODS, { namespace: 'ns' }).items as Pod[]).filter((p) =>
    p.metadata.ownerReferences?.some((r) => r.uid === rs.metadata.uid && r.controller),
  );
const activeOf = (store: Store, rs: ReplicaSet) => podsOf(store, rs).filter(isPodActive);
const rsStatus = (store: Store, name: string) => (store.get(REPLICASETS, 'ns', name) as ReplicaSet).status;

test('ReplicaSet creates replicas from its template, owned and named after it, and reports status', () =>
  withHarness({}, async (h) => {
    await h.start([createReplicaSetController]);
    const rs = makeRs(h.store, 'web', 3);
    await eventually(() => {
      const s = rsStatus(h.store, 'web');
      assert.equal(s?.replicas, 3);
      assert.equal(s?.readyReplicas, 3);
      assert.equal(s?.availableReplicas, 3);
      assert.equal(s?.fullyLabeledReplicas, 3);
      assert.equal(s?.observedGeneration, 1);
    });
    const pods = podsOf(h.store, rs);
    assert.equal(pods.length, 3);
    for (const p of pods) {
      assert.match(p.metadata.name, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      assert.deepEqual(p.metadata.labels, { app: 'web', tier: 'web' });
      const ref = p.metadata.ownerReferences?.[0];
      assert.equal(ref?.kind, 'ReplicaSet');
      assert.equal(ref?.blockOwnerDeletion, true);
      assert.equal(p.spec.restartPolicy, 'Always', 'pod spec defaulted');
    }
    assert.equal(h.events('SuccessfulCreate').length, 3);
    assert.match(h.events('SuccessfulCreate')[0]!.message, /^Created pod: web-/);
  }));

test('ReplicaSet scales up and down, deleting not-ready pods first, and heals a deleted pod', () =>
  withHarness({}, async (h) => {
    await h.start([createReplicaSetController]);
    const rs = makeRs(h.store, 'web', 2);
    await eventually(() => assert.equal(rsStatus(h.store, 'web')?.readyReplicas, 2));

    // scale up to 4 with the two new pods never becoming ready
    h.kubelet.setFate(() => 'running');
    const cur = h.store.get(REPLICASETS, 'ns', 'web') as ReplicaSet;
    h.store.update(REPLICASETS, { ...cur, spec: { ...cur.spec, replicas: 4 } });
    await eventually(() => {
      const s = rsStatus(h.store, 'web');
      assert.equal(s?.replicas, 4);
      assert.equal(s?.readyReplicas, 2);
      assert.equal(s?.observedGeneration, 2);
    });
    const readyNames = activeOf(h.store, rs)
      .filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((p) => p.metadata.name)
      .sort();

    // scale down to 2: the not-ready ones go
    const cur2 = h.store.get(REPLICASETS, 'ns', 'web') as ReplicaSet;
    h.store.update(REPLICASETS, { ...cur2, spec: { ...cur2.spec, replicas: 2 } });
    await eventually(() => assert.equal(activeOf(h.store, rs).length, 2));
    assert.deepEqual(activeOf(h.store, rs).map((p) => p.metadata.name).sort(), readyNames);
    assert.equal(h.events('SuccessfulDelete').length, 2);

    // heal: delete a pod, a new one replaces it
    h.kubelet.setFate(() => 'ready');
    h.store.delete(PODS, 'ns', readyNames[0]!);
    await eventually(() => {
      const names = activeOf(h.store, rs).map((p) => p.metadata.name);
      assert.equal(names.length, 2);
      assert.ok(!names.includes(readyNames[0]!));
      assert.equal(rsStatus(h.store, 'web')?.readyReplicas, 2);
    });
  }));

test('ReplicaSet counts terminating pods as gone and replaces them at once', () =>
  withHarness({ graceful: true, graceMs: 300 }, async (h) => {
    await h.start([createReplicaSetController]);
    const rs = makeRs(h.store, 'web', 2);
    await eventually(() => assert.equal(rsStatus(h.store, 'web')?.readyReplicas, 2));
    const victim = activeOf(h.store, rs)[0]!;
    h.store.delete(PODS, 'ns', victim.metadata.name);
    await eventually(() => {
      assert.ok(h.store.get(PODS, 'ns', victim.metadata.name)?.metadata.deletionTimestamp, 'still terminating');
      assert.equal(activeOf(h.store, rs).length, 2);
    });
    assert.equal(podsOf(h.store, rs).length, 3);
  }));

test('ReplicaSet adopts a matching orphan and releases a pod whose labels stop matching', () =>
  withHarness({}, async (h) => {
    await h.start([createReplicaSetController]);
    const orphan = h.store.create(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { namespace: 'ns', name: 'stray', labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', image: 'host' }] },
    });
    const rs = makeRs(h.store, 'web', 2);
    await eventually(() => {
      const got = h.store.get(PODS, 'ns', 'stray');
      assert.equal(got?.metadata.ownerReferences?.[0]?.uid, rs.metadata.uid);
      assert.equal(activeOf(h.store, rs).length, 2);
    });
    assert.equal(h.events('SuccessfulCreate').length, 1, 'only one pod created next to the adopted one');
    assert.ok(orphan);

    const stray = h.store.get(PODS, 'ns', 'stray') as Pod;
    h.store.update(PODS, { ...stray, metadata: { ...stray.metadata, labels: { app: 'other' } } });
    await eventually(() => {
      assert.equal(h.store.get(PODS, 'ns', 'stray')?.metadata.ownerReferences, undefined);
      assert.equal(activeOf(h.store, rs).length, 2);
    });
  }));

test('ReplicaSet does not over-create when its informer cache is stale', async () => {
  const ts = openTestStore();
  try {
    const events = { normal() {}, warning() {} };
    const r = new ReplicaSetReconciler({ store: ts.store, events, log: silentLogger });
    const rs = makeRs(ts.store, 'web', 3);
    const ctx = { log: silentLogger, signal: new AbortController().signal };
    // No informer at all stands in for one that has not seen the creates: reconcile three times in a row.
    await Promise.all([r.reconcile('ns/web', ctx), r.reconcile('ns/web', ctx)]);
    await r.reconcile('ns/web', ctx);
    assert.equal(activeOf(ts.store, rs).length, 3);
    // And after a surplus appears behind its back, it deletes exactly the surplus.
    ts.store.create(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { namespace: 'ns', name: 'extra', labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', image: 'host' }] },
    });
    await r.reconcile('ns/web', ctx);
    assert.equal(activeOf(ts.store, rs).length, 3);
  } finally {
    ts.cleanup();
  }
});

test('ReplicaSet availableReplicas waits for minReadySeconds, and it comes back when they pass', async () => {
  const ts = openTestStore();
  try {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    let now = t0;
    const clock = { now: () => now, monotonic: () => now, setTimeout: () => ({ cancel() {} }) };
    const r = new ReplicaSetReconciler({ store: ts.store, events: { normal() {}, warning() {} }, log: silentLogger, clock });
    const ctx = { log: silentLogger, signal: new AbortController().signal };
    const rs = makeRs(ts.store, 'web', 1, { minReadySeconds: 5 });
    await r.reconcile('ns/web', ctx);
    const pod = activeOf(ts.store, rs)[0]!;
    ts.store.updateStatus(PODS, { ...pod, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] } });
    now = t0 + 1000;
    const res = await r.reconcile('ns/web', ctx);
    assert.equal(rsStatus(ts.store, 'web')?.readyReplicas, 1);
    assert.equal(rsStatus(ts.store, 'web')?.availableReplicas, 0);
    assert.equal(res?.requeueAfter, 4050, 'comes back when the pod becomes available');
    now = t0 + 5000;
    await r.reconcile('ns/web', ctx);
    assert.equal(rsStatus(ts.store, 'web')?.availableReplicas, 1);
  } finally {
    ts.cleanup();
  }
});

test('ReplicaSet with an empty selector gets a warning event and creates nothing', () =>
  withHarness({}, async (h) => {
    await h.start([createReplicaSetController]);
    makeRs(h.store, 'bad', 2, { selector: {} });
    await eventually(() => assert.equal(h.events('InvalidSelector').length, 1));
    assert.equal(h.store.list(PODS).items.length, 0);
  }));

test('pods go through the admission hook the daemon passes (node binding, finalizers, injection)', async () => {
  const ts = openTestStore();
  try {
    const r = new ReplicaSetReconciler({
      store: ts.store,
      events: { normal() {}, warning() {} },
      log: silentLogger,
      admitPod: (pod) => ({ ...pod, spec: { ...pod.spec, nodeName: 'this-machine' } }),
    });
    const rs = makeRs(ts.store, 'web', 2);
    await r.reconcile('ns/web', { log: silentLogger, signal: new AbortController().signal });
    const pods = activeOf(ts.store, rs);
    assert.equal(pods.length, 2);
    for (const p of pods) assert.equal(p.spec.nodeName, 'this-machine');
  } finally {
    ts.cleanup();
  }
});

test('a pod the store refuses gives a FailedCreate event and a ReplicaFailure condition, cleared once creation works', async () => {
  const ts = openTestStore();
  try {
    const warnings: string[] = [];
    let refuse = true;
    const r = new ReplicaSetReconciler({
      store: ts.store,
      events: { normal() {}, warning: (_o: unknown, reason: string, message: string) => warnings.push(`${reason}: ${message}`) },
      log: silentLogger,
      admitPod: (pod) => {
        if (refuse) throw new Error('admission says no');
        return pod;
      },
    });
    const ctx = { log: silentLogger, signal: new AbortController().signal };
    makeRs(ts.store, 'web', 1);
    await assert.rejects(r.reconcile('ns/web', ctx), /admission says no/);
    assert.deepEqual(warnings, ['FailedCreate: Error creating: admission says no']);
    const failed = rsStatus(ts.store, 'web')?.conditions?.find((c) => c.type === 'ReplicaFailure');
    assert.equal(failed?.status, 'True');
    assert.equal(failed?.reason, 'FailedCreate');
    refuse = false;
    await r.reconcile('ns/web', ctx);
    assert.equal(rsStatus(ts.store, 'web')?.replicas, 1);
    assert.equal(rsStatus(ts.store, 'web')?.conditions, undefined);
  } finally {
    ts.cleanup();
  }
});
