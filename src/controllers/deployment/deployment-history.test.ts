import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCause } from '../../core/errors.js';
import { eventually } from '../../reconcile/testing/eventually.js';
import { withHarness, type Harness } from '../workloads-shared/testing/harness.js';
import { DeploymentReconciler } from './deployment-reconciler.js';
import { computePodTemplateHash } from './pod-template-hash.js';
import { openTestStore } from '../../reconcile/testing/test-store.js';
import { silentLogger } from '../../core/logger.js';
import { rolloutHistory, rolloutRestartPatch, rolloutStatus, rolloutUndoPatch, formatRolloutHistory } from './rollout.js';
import { countPods, getDeployment, makeDeployment, patchDeployment, replicaSetsOf, setVersion } from './testing/fixtures.js';
import { rolledOut, rolloutControllers as controllers } from './testing/rolled-out.js';

const revisionOfDeploy = (h: Harness) => getDeployment(h.store, 'web').metadata.annotations?.['deployment.kubernetes.io/revision'];

test('revision history, undo to the previous revision and to --to-revision, change-cause carried', () =>
  withHarness({}, async (h) => {
    await h.start(controllers);
    const d = makeDeployment(h.store, 'web', { replicas: 2 }, { 'kubernetes.io/change-cause': 'v1' });
    await rolledOut(h, 'web');
    setVersion(h.store, 'web', '2', 'v2');
    await rolledOut(h, 'web');
    setVersion(h.store, 'web', '3', 'v3');
    await rolledOut(h, 'web');
    let rows = rolloutHistory(getDeployment(h.store, 'web'), replicaSetsOf(h.store, d));
    assert.deepEqual(rows, [
      { revision: 1, changeCause: 'v1' },
      { revision: 2, changeCause: 'v2' },
      { revision: 3, changeCause: 'v3' },
    ]);
    assert.equal(formatRolloutHistory(d, rows), 'deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         v1\n2         v2\n3         v3\n');

    // undo: back to revision 2's template, which becomes revision 4
    const undo = rolloutUndoPatch(getDeployment(h.store, 'web'), replicaSetsOf(h.store, d));
    assert.equal(undo.revision, 2);
    assert.equal(undo.message, 'deployment.apps/web rolled back');
    patchDeployment(h.store, 'web', undo.patch);
    await rolledOut(h, 'web');
    await eventually(() => assert.deepEqual(countPods(h.store, d).byVersion, { '2': 2 }));
    assert.equal(revisionOfDeploy(h), '4');
    assert.equal(replicaSetsOf(h.store, d).length, 3, 'the old ReplicaSet was reused, not a new one made');
    rows = rolloutHistory(getDeployment(h.store, 'web'), replicaSetsOf(h.store, d));
    assert.deepEqual(rows.map((r) => [r.revision, r.changeCause]), [[1, 'v1'], [3, 'v3'], [4, 'v2']]);
    assert.equal(getDeployment(h.store, 'web').metadata.annotations?.['kubernetes.io/change-cause'], 'v2');
    const reused = replicaSetsOf(h.store, d).find((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === '4');
    assert.equal(reused?.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '2');

    // --to-revision=1
    const toOne = rolloutUndoPatch(getDeployment(h.store, 'web'), replicaSetsOf(h.store, d), 1);
    patchDeployment(h.store, 'web', toOne.patch);
    await rolledOut(h, 'web');
    await eventually(() => assert.deepEqual(countPods(h.store, d).byVersion, { '1': 2 }));
    assert.equal(revisionOfDeploy(h), '5');

    // undo to the revision it already runs is skipped
    const same = rolloutUndoPatch(getDeployment(h.store, 'web'), replicaSetsOf(h.store, d), 5);
    assert.equal(same.skipped, true);
    assert.match(same.message, /skipped rollback \(current template already matches revision 5\)/);

    // unknown revision
    assert.throws(
      () => rolloutUndoPatch(getDeployment(h.store, 'web'), replicaSetsOf(h.store, d), 42),
      (err: unknown) => !!findCause(err, 'MBX_WORKLOADS_REVISION_NOT_FOUND') && /unable to find specified revision 42 in history/.test((err as Error).message),
    );
  }));

test('revisionHistoryLimit removes the oldest scaled-down ReplicaSets', () =>
  withHarness({}, async (h) => {
    await h.start(controllers);
    const d = makeDeployment(h.store, 'web', { replicas: 1, revisionHistoryLimit: 1 });
    await rolledOut(h, 'web');
    for (const v of ['2', '3', '4']) {
      setVersion(h.store, 'web', v);
      await rolledOut(h, 'web');
    }
    await eventually(() => {
      const revs = replicaSetsOf(h.store, d)
        .map((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision'])
        .sort();
      assert.deepEqual(revs, ['3', '4']);
    });
  }));

test('a paused Deployment does not roll out a template change, but still scales; resuming rolls out', () =>
  withHarness({}, async (h) => {
    await h.start(controllers);
    const d = makeDeployment(h.store, 'web', { replicas: 2 });
    await rolledOut(h, 'web');
    patchDeployment(h.store, 'web', { spec: { paused: true } });
    setVersion(h.store, 'web', '2');
    await eventually(() => {
      const cur = getDeployment(h.store, 'web');
      assert.equal(cur.status?.observedGeneration, cur.metadata.generation);
      const prog = cur.status?.conditions?.find((c) => c.type === 'Progressing');
      assert.equal(prog?.status, 'Unknown');
      assert.equal(prog?.reason, 'DeploymentPaused');
    });
    patchDeployment(h.store, 'web', { spec: { replicas: 3 } });
    await eventually(() => assert.equal(countPods(h.store, d).active, 3));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(replicaSetsOf(h.store, d).length, 1, 'no new ReplicaSet while paused');
    assert.deepEqual(countPods(h.store, d).byVersion, { '1': 3 });
    assert.throws(() => rolloutUndoPatch(getDeployment(h.store, 'web'), replicaSetsOf(h.store, d)), /paused/);

    patchDeployment(h.store, 'web', { spec: { paused: false } });
    await rolledOut(h, 'web');
    await eventually(() => assert.deepEqual(countPods(h.store, d).byVersion, { '2': 3 }));
  }));

test('a rollout that makes no progress gets Progressing=False ProgressDeadlineExceeded', () =>
  withHarness({}, async (h) => {
    await h.start(controllers);
    const d = makeDeployment(h.store, 'web', { replicas: 2, progressDeadlineSeconds: 1 });
    await rolledOut(h, 'web');
    h.kubelet.setFate(() => 'running'); // new pods never become Ready
    setVersion(h.store, 'web', '2');
    await eventually(() => {
      const prog = getDeployment(h.store, 'web').status?.conditions?.find((c) => c.type === 'Progressing');
      assert.equal(prog?.status, 'False');
      assert.equal(prog?.reason, 'ProgressDeadlineExceeded');
      assert.match(prog?.message ?? '', /^ReplicaSet "web-\w+" has timed out progressing\.$/);
    }, 6000);
    const s = rolloutStatus(getDeployment(h.store, 'web'));
    assert.equal(s.failed, true);
    assert.equal(s.message, 'deployment "web" exceeded its progress deadline');
    assert.ok((countPods(h.store, d).byVersion['1'] ?? 0) >= 1, 'old pods keep serving');
  }));

test('rollout restart stamps the template and replaces every pod through a new ReplicaSet', () =>
  withHarness({}, async (h) => {
    await h.start(controllers);
    const d = makeDeployment(h.store, 'web', { replicas: 2 });
    await rolledOut(h, 'web');
    const before = new Set(h.store.list('pods', { namespace: 'ns' }).items.map((p) => p.metadata.uid));
    const patch = rolloutRestartPatch(Date.parse('2026-01-02T03:04:05Z'));
    assert.deepEqual(patch, { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-01-02T03:04:05Z' } } } } });
    patchDeployment(h.store, 'web', patch);
    await rolledOut(h, 'web');
    await eventually(() => {
      const pods = h.store.list('pods', { namespace: 'ns' }).items;
      assert.equal(pods.length, 2);
      for (const p of pods) {
        assert.ok(!before.has(p.metadata.uid), 'a pod from before the restart remains');
        assert.equal(p.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'], '2026-01-02T03:04:05Z');
      }
    });
    assert.equal(replicaSetsOf(h.store, d).length, 2);
    assert.equal(revisionOfDeploy(h), '2');
  }));

test('a daemon restart in the middle of a rollout: new controllers over the reopened store finish it', () =>
  withHarness({ startDelayMs: 5 }, async (h) => {
    await h.start(controllers);
    const d = makeDeployment(h.store, 'web', { replicas: 4, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } });
    await rolledOut(h, 'web');
    h.kubelet.setFate(() => 'running');
    setVersion(h.store, 'web', '2');
    await eventually(() => assert.equal(countPods(h.store, d).byVersion['2'], 1));
    // Stop everything mid-rollout; the store is closed and opened again, as after a crash.
    await h.restart(controllers, { startDelayMs: 5 });
    await rolledOut(h, 'web', 10000);
    await eventually(() => assert.deepEqual(countPods(h.store, d).byVersion, { '2': 4 }));
    assert.equal(revisionOfDeploy(h), '2');
    assert.equal(replicaSetsOf(h.store, d).length, 2);
  }));

test('deleting a Deployment cascades to its ReplicaSets and pods through the garbage collector', () =>
  withHarness({}, async (h) => {
    await h.start(controllers, { gc: true });
    makeDeployment(h.store, 'web', { replicas: 3 });
    await rolledOut(h, 'web');
    assert.equal(h.store.list('pods').items.length, 3);
    h.store.delete('deployments.apps', 'ns', 'web');
    await eventually(() => {
      assert.equal(h.store.list('replicasets.apps').items.length, 0);
      assert.equal(h.store.list('pods').items.length, 0);
    });
  }));

test('an invalid maxSurge is reported once as a warning event and creates nothing', () =>
  withHarness({}, async (h) => {
    await h.start(controllers);
    makeDeployment(h.store, 'web', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 'lots', maxUnavailable: 1 } } });
    await eventually(() => assert.equal(h.events('InvalidStrategy').length, 1));
    assert.match(h.events('InvalidStrategy')[0]!.message, /maxSurge is "lots"; use a non-negative integer or a percentage/);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.events('InvalidStrategy')[0]!.count, 1, 'not retried in a loop');
    assert.equal(h.store.list('pods').items.length, 0);
  }));

test('a name clash with a foreign ReplicaSet bumps collisionCount and uses a new hash', () =>
  withHarness({}, async (h) => {
    const draft = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'host', env: [{ name: 'V', value: '1' }] }] } };
    const hash = computePodTemplateHash(draft);
    h.store.create('replicasets.apps', {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { namespace: 'ns', name: `web-${hash}`, labels: { other: 'x' } },
      spec: { replicas: 0, selector: { matchLabels: { other: 'x' } }, template: { metadata: { labels: { other: 'x' } }, spec: { containers: [{ name: 'z', image: 'host' }] } } },
    });
    await h.start(controllers);
    const d = makeDeployment(h.store, 'web', { replicas: 1 });
    const done = await rolledOut(h, 'web');
    assert.equal(done.status?.collisionCount, 1);
    const rss = replicaSetsOf(h.store, d);
    assert.equal(rss.length, 1);
    assert.equal(rss[0]!.metadata.name, `web-${computePodTemplateHash(d.spec.template, 1)}`);
    assert.equal(h.store.get('replicasets.apps', 'ns', `web-${hash}`)?.metadata.ownerReferences, undefined, 'the foreign one is left alone');
  }));

test('reconciling twice on a stale view makes one ReplicaSet, not two', async () => {
  const ts = openTestStore();
  try {
    const r = new DeploymentReconciler({ store: ts.store, events: { normal() {}, warning() {} }, log: silentLogger });
    const ctx = { log: silentLogger, signal: new AbortController().signal };
    const d = makeDeployment(ts.store, 'web', { replicas: 2 });
    await r.reconcile('ns/web', ctx);
    await r.reconcile('ns/web', ctx);
    assert.equal(replicaSetsOf(ts.store, d).length, 1);
    setVersion(ts.store, 'web', '2');
    await r.reconcile('ns/web', ctx);
    await r.reconcile('ns/web', ctx);
    assert.equal(replicaSetsOf(ts.store, d).length, 2);
  } finally {
    ts.cleanup();
  }
});
