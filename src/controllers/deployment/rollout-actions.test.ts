import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCause } from '../../core/errors.js';
import type { Store } from '../../store/types.js';
import { createReplicaSetController } from '../replicaset/replicaset-controller.js';
import { withHarness } from '../workloads-shared/testing/harness.js';
import { DEPLOYMENTS, REPLICASETS, type Deployment, type ReplicaSet } from '../workloads-shared/types.js';
import { createDeploymentController } from './deployment-controller.js';
import { runRollout, type RolloutApi } from './rollout-actions.js';
import { makeDeployment, patchDeployment } from './testing/fixtures.js';

/** The API as the daemon serves it, minus HTTP: reads and merge-patches on the store. */
function storeApi(store: Store): RolloutApi {
  return {
    getDeployment: async (ns, name) => store.get(DEPLOYMENTS, ns, name) as Deployment,
    listReplicaSets: async (ns) => store.list(REPLICASETS, { namespace: ns }).items as ReplicaSet[],
    patchDeployment: async (ns, name, patch) => {
      void ns;
      return patchDeployment(store, name, patch);
    },
  };
}

test('rollout restart, then status follows it to the end with kubectl lines; history and undo print theirs', () =>
  withHarness({ startDelayMs: 30 }, async (h) => {
    await h.start([createReplicaSetController, createDeploymentController]);
    makeDeployment(h.store, 'web', { replicas: 2 });
    const api = storeApi(h.store);
    const lines: string[] = [];
    const out = (l: string) => lines.push(l);
    await runRollout('status', api, 'ns', 'web', out, { pollMs: 5, timeoutMs: 8000 });
    assert.equal(lines.at(-1), 'deployment "web" successfully rolled out\n');

    lines.length = 0;
    await runRollout('restart', api, 'ns', 'web', out, { nowMs: Date.parse('2026-02-03T04:05:06Z') });
    assert.deepEqual(lines, ['deployment.apps/web restarted\n']);
    lines.length = 0;
    await runRollout('status', api, 'ns', 'web', out, { pollMs: 5, timeoutMs: 8000 });
    assert.ok(lines.length >= 2, lines.join(''));
    assert.match(lines[0]!, /^Waiting for (deployment spec update to be observed|deployment "web" rollout to finish: .*)\.\.\.\n$/);
    assert.equal(lines.at(-1), 'deployment "web" successfully rolled out\n');

    lines.length = 0;
    await runRollout('history', api, 'ns', 'web', out);
    assert.equal(lines[0], 'deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n');

    lines.length = 0;
    await runRollout('undo', api, 'ns', 'web', out);
    assert.deepEqual(lines, ['deployment.apps/web rolled back\n']);
    await runRollout('status', api, 'ns', 'web', () => {}, { pollMs: 5, timeoutMs: 8000 });
    const d = h.store.get(DEPLOYMENTS, 'ns', 'web') as Deployment;
    assert.equal(d.spec.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'], undefined);
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');

    await assert.rejects(runRollout('undo', api, 'ns', 'web', out, { toRevision: 9 }), /unable to find specified revision 9 in history/);
    patchDeployment(h.store, 'web', { spec: { paused: true } });
    await assert.rejects(runRollout('restart', api, 'ns', 'web', out), (err: unknown) => !!findCause(err, 'MBX_WORKLOADS_RESTART_PAUSED'));
  }));

test('rollout status fails on a progress deadline and times out when asked to', () =>
  withHarness({ fate: () => 'running' }, async (h) => {
    await h.start([createReplicaSetController, createDeploymentController]);
    makeDeployment(h.store, 'web', { replicas: 1, progressDeadlineSeconds: 1 });
    const api = storeApi(h.store);
    await assert.rejects(runRollout('status', api, 'ns', 'web', () => {}, { pollMs: 5, timeoutMs: 200 }), (err: unknown) => !!findCause(err, 'MBX_WORKLOADS_ROLLOUT_TIMEOUT'));
    await assert.rejects(runRollout('status', api, 'ns', 'web', () => {}, { pollMs: 20, timeoutMs: 8000 }), /deployment "web" exceeded its progress deadline/);
  }));
