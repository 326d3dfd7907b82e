import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment, ReplicaSet } from '../workloads-shared/types.js';
import { mergePatch, rolloutHistory, rolloutStatus, rolloutUndoPatch } from './rollout.js';
import { applyMergePatch } from './testing/fixtures.js';

function deploy(status: Deployment['status'], generation = 2, replicas = 3): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'ns', uid: 'd1', generation },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'v3' }] } } },
    status,
  };
}

test('rollout status speaks kubectl', () => {
  assert.deepEqual(rolloutStatus(deploy({ observedGeneration: 1 })), { done: false, failed: false, message: 'Waiting for deployment spec update to be observed...' });
  assert.equal(rolloutStatus(deploy({ observedGeneration: 2, updatedReplicas: 1, replicas: 4 })).message, 'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...');
  assert.equal(rolloutStatus(deploy({ observedGeneration: 2, updatedReplicas: 3, replicas: 4 })).message, 'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...');
  assert.equal(rolloutStatus(deploy({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 1 })).message, 'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...');
  assert.deepEqual(rolloutStatus(deploy({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 3 })), { done: true, failed: false, message: 'deployment "web" successfully rolled out' });
  const timedOut = rolloutStatus(deploy({ observedGeneration: 2, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] }));
  assert.deepEqual(timedOut, { done: false, failed: true, message: 'deployment "web" exceeded its progress deadline' });
});

function rs(name: string, revision: number, image: string, owner = 'd1', changeCause?: string): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: 'ns',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: owner, controller: true }],
      annotations: { 'deployment.kubernetes.io/revision': String(revision), ...(changeCause ? { 'kubernetes.io/change-cause': changeCause } : {}) },
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'web', 'pod-template-hash': name } },
      template: { metadata: { labels: { app: 'web', 'pod-template-hash': name }, annotations: image === 'v1' ? { note: 'old' } : {} }, spec: { containers: [{ name: 'c', image }] } },
    },
  };
}

test('history lists only owned ReplicaSets, by revision, with <none> for a missing change-cause', () => {
  const rows = rolloutHistory(deploy({}), [rs('c', 3, 'v3', 'd1', 'third'), rs('a', 1, 'v1'), rs('x', 9, 'vx', 'other'), rs('b', 2, 'v2', 'd1', 'second')]);
  assert.deepEqual(rows, [
    { revision: 1, changeCause: '<none>' },
    { revision: 2, changeCause: 'second' },
    { revision: 3, changeCause: 'third' },
  ]);
});

test('undo picks the second-newest revision; the patch gives exactly its template back', () => {
  const d = deploy({});
  d.spec.template.metadata!.annotations = { 'kubectl.kubernetes.io/restartedAt': 'x' };
  const rss = [rs('a', 1, 'v1', 'd1', 'one'), rs('b', 2, 'v2'), rs('c', 3, 'v3')];
  const undo = rolloutUndoPatch(d, rss);
  assert.equal(undo.revision, 2);
  const patched = applyMergePatch(d, undo.patch) as Deployment;
  assert.deepEqual(patched.spec.template, { metadata: { labels: { app: 'web' }, annotations: {} }, spec: { containers: [{ name: 'c', image: 'v2' }] } });
  const toOne = applyMergePatch(d, rolloutUndoPatch(d, rss, 1).patch) as Deployment;
  assert.deepEqual(toOne.spec.template.metadata, { labels: { app: 'web' }, annotations: { note: 'old' } }, 'restartedAt removed, the old annotation back');
  assert.equal(toOne.metadata.annotations?.['kubernetes.io/change-cause'], 'one');
  assert.throws(() => rolloutUndoPatch(d, [rs('c', 3, 'v3')]), /no rollout history found for deployment "web"/);
  assert.throws(() => rolloutUndoPatch(d, rss, 7), /unable to find specified revision 7 in history/);
});

test('mergePatch nulls vanished keys and replaces arrays whole', () => {
  assert.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 }, e: [1, 2] }, { a: 1, b: { c: 5 }, e: [1] }), { b: { c: 5, d: null }, e: [1] });
  assert.deepEqual(mergePatch({ a: 1 }, { a: 1 }), {});
});
