import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../reconcile/testing/eventually.js';
import { withHarness, type Harness } from '../workloads-shared/testing/harness.js';
import type { Deployment, ReplicaSet } from '../workloads-shared/types.js';
import { computePodTemplateHash } from './pod-template-hash.js';
import { rolloutStatus } from './rollout.js';
import { countPods, getDeployment, makeDeployment, replicaSetsOf, setVersion } from './testing/fixtures.js';
import { rolledOut, rolloutControllers as controllers } from './testing/rolled-out.js';

test('Deployment creates <name>-<pod-template-hash> ReplicaSet, revision 1, and reports status and conditions', () =>
  withHarness({}, async (h) => {
    await h.start(controllers);
    const created = makeDeployment(h.store, 'web', { replicas: 3 }, { 'kubernetes.io/change-cause': 'first' });
    const d = await rolledOut(h, 'web');
    const rss = replicaSetsOf(h.store, d);
    assert.equal(rss.length, 1);
    const rs = rss[0]!;
    const hash = computePodTemplateHash(created.spec.template);
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.equal(rs.spec.selector.matchLabels?.['pod-template-hash'], hash);
    assert.equal(rs.spec.template.metadata?.labels?.['pod-template-hash'], hash);
    assert.equal(rs.metadata.labels?.['pod-template-hash'], hash);
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.equal(rs.metadata.annotations?.['kubernetes.io/change-cause'], 'first');
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '3');
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    const s = d.status!;
    assert.deepEqual(
      [s.observedGeneration, s.replicas, s.updatedReplicas, s.readyReplicas, s.availableReplicas, s.unavailableReplicas],
      [1, 3, 3, 3, 3, 0],
    );
    const avail = s.conditions?.find((c) => c.type === 'Available');
    assert.equal(avail?.status, 'True');
    assert.equal(avail?.reason, 'MinimumReplicasAvailable');
    const prog = s.conditions?.find((c) => c.type === 'Progressing');
    assert.equal(prog?.status, 'True');
    assert.equal(prog?.reason, 'NewReplicaSetAvailable');
    assert.equal(prog?.message, `ReplicaSet "web-${hash}" has successfully progressed.`);
    assert.ok(h.events('ScalingReplicaSet').some((e) => e.message === `Scaled up replica set web-${hash} from 0 to 3`));
  }));

test('the same template always gives the same hash; a different one another', () => {
  const t = { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'host' }] } };
  const reordered = { spec: { containers: [{ image: 'host', name: 'c' }] }, metadata: { labels: { app: 'a' } } };
  assert.equal(computePodTemplateHash(t), computePodTemplateHash(reordered));
  assert.equal(computePodTemplateHash(t), computePodTemplateHash({ ...t, metadata: { labels: { app: 'a', 'pod-template-hash': 'x' } } }));
  assert.notEqual(computePodTemplateHash(t), computePodTemplateHash({ ...t, metadata: { labels: { app: 'b' } } }));
  assert.notEqual(computePodTemplateHash(t), computePodTemplateHash(t, 1));
});

/** Watches pods and checks the rolling-update bounds on every committed change. */
function watchInvariants(h: Harness, d: Deployment, maxTotal: number, minAvailable: number) {
  const violations: string[] = [];
  let observed = 0;
  const check = () => {
    const c = countPods(h.store, d);
    observed++;
    if (c.active > maxTotal) violations.push(`active ${c.active} > ${maxTotal} (${JSON.stringify(c.byVersion)})`);
    if (c.ready < minAvailable) violations.push(`available ${c.ready} < ${minAvailable} (${JSON.stringify(c.byVersion)})`);
  };
  const stop = h.store.watch('pods', {}, check);
  return { violations, observed: () => observed, stop };
}

for (const { surge, unavailable, maxTotal, minAvailable, label } of [
  { surge: 1, unavailable: 1, maxTotal: 5, minAvailable: 3, label: 'maxSurge 1, maxUnavailable 1' },
  { surge: 0, unavailable: 1, maxTotal: 4, minAvailable: 3, label: 'maxSurge 0, maxUnavailable 1' },
  { surge: 2, unavailable: 0, maxTotal: 6, minAvailable: 4, label: 'maxSurge 2, maxUnavailable 0' },
  { surge: '25%', unavailable: '25%', maxTotal: 5, minAvailable: 3, label: 'defaults 25%/25% of 4 (surge rounds up to 1, unavailable down to 1)' },
  { surge: '30%', unavailable: '30%', maxTotal: 6, minAvailable: 3, label: '30%/30% of 4 (surge 2, unavailable 1)' },
] as const) {
  test(`RollingUpdate respects ${label} at every observed state`, () =>
    withHarness({ graceful: true, graceMs: 15, startDelayMs: 15 }, async (h) => {
      await h.start(controllers);
      const d = makeDeployment(h.store, 'web', {
        replicas: 4,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } },
      });
      await rolledOut(h, 'web');
      const inv = watchInvariants(h, d, maxTotal, minAvailable);
      try {
        setVersion(h.store, 'web', '2');
        const done = await rolledOut(h, 'web', 15000);
        await eventually(() => assert.equal(countPods(h.store, d).all, 4));
        assert.deepEqual(countPods(h.store, d).byVersion, { '2': 4 });
        assert.equal(done.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
        const rss = replicaSetsOf(h.store, d);
        assert.equal(rss.length, 2);
        const old = rss.find((rs: ReplicaSet) => rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === '1');
        assert.equal(old?.spec.replicas, 0);
      } finally {
        inv.stop();
      }
      assert.ok(inv.observed() > 10, `observed ${inv.observed()} states`);
      assert.deepEqual(inv.violations, []);
      assert.ok(h.events('ScalingReplicaSet').some((e) => /^Scaled down replica set web-\w+ from \d to \d$/.test(e.message)));
    }));
}

test('Recreate scales the old ReplicaSet to 0 and waits for its pods to go before creating new ones', () =>
  withHarness({ graceful: true, graceMs: 40, startDelayMs: 10 }, async (h) => {
    await h.start(controllers);
    const d = makeDeployment(h.store, 'web', { replicas: 3, strategy: { type: 'Recreate' } });
    await rolledOut(h, 'web');
    const mixed: string[] = [];
    const stop = h.store.watch('pods', {}, () => {
      const c = countPods(h.store, d);
      if ((c.byVersion['1'] ?? 0) > 0 && (c.byVersion['2'] ?? 0) > 0) mixed.push(JSON.stringify(c.byVersion));
    });
    try {
      setVersion(h.store, 'web', '2');
      await rolledOut(h, 'web');
    } finally {
      stop();
    }
    assert.deepEqual(mixed, [], 'old and new pods never exist together');
    assert.deepEqual(countPods(h.store, d).byVersion, { '2': 3 });
  }));

test('scaling a Deployment scales its ReplicaSet (a scaling event, not a rollout)', () =>
  withHarness({}, async (h) => {
    await h.start(controllers);
    const d = makeDeployment(h.store, 'web', { replicas: 2 });
    await rolledOut(h, 'web');
    const cur = getDeployment(h.store, 'web');
    h.store.update('deployments.apps', { ...cur, spec: { ...cur.spec, replicas: 5 } });
    await rolledOut(h, 'web');
    assert.equal(countPods(h.store, d).active, 5);
    assert.equal(replicaSetsOf(h.store, d).length, 1);
    const cur2 = getDeployment(h.store, 'web');
    h.store.update('deployments.apps', { ...cur2, spec: { ...cur2.spec, replicas: 1 } });
    await eventually(() => assert.equal(countPods(h.store, d).active, 1));
    await rolledOut(h, 'web');
  }));

test('scaling in the middle of a rollout shares the new size between the ReplicaSets and converges', () =>
  withHarness({ startDelayMs: 5 }, async (h) => {
    await h.start(controllers);
    const d = makeDeployment(h.store, 'web', { replicas: 4 });
    await rolledOut(h, 'web');
    h.kubelet.setFate(() => 'running'); // the new pods hold the rollout midway
    setVersion(h.store, 'web', '2');
    await eventually(() => assert.equal(replicaSetsOf(h.store, d).length, 2));
    await eventually(() => assert.ok((countPods(h.store, d).byVersion['2'] ?? 0) > 0));
    const cur = getDeployment(h.store, 'web');
    h.store.update('deployments.apps', { ...cur, spec: { ...cur.spec, replicas: 8 } });
    await eventually(() => {
      const total = replicaSetsOf(h.store, d).reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0);
      assert.ok(total >= 8 && total <= 10, `total ${total}`);
      for (const rs of replicaSetsOf(h.store, d)) assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '8');
    });
    h.kubelet.setFate(() => 'ready');
    await eventually(() => {
      // pods the kubelet started as never-ready: make them ready now (again, if a late start undid it)
      for (const p of h.store.list('pods', { namespace: 'ns' }).items) h.kubelet.setReady('ns', p.metadata.name, true);
      assert.ok(rolloutStatus(getDeployment(h.store, 'web')).done);
    }, 10000, 50);
    await eventually(() => assert.deepEqual(countPods(h.store, d).byVersion, { '2': 8 }));
  }));
