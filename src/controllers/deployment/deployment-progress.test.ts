import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment, DeploymentStatus } from '../workloads-shared/types.js';
import { deploymentTimedOut, hasProgressDeadline, nextProgressCheckMs, updateProgressing } from './deployment-progress.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function deploy(progressDeadlineSeconds: number | undefined, status: DeploymentStatus = {}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', generation: 2 },
    spec: { replicas: 3, selector: {}, template: { spec: { containers: [] } }, ...(progressDeadlineSeconds !== undefined ? { progressDeadlineSeconds } : {}) },
    status,
  };
}

const updating = (): DeploymentStatus => ({
  observedGeneration: 2,
  replicas: 4,
  updatedReplicas: 1,
  readyReplicas: 3,
  availableReplicas: 3,
  conditions: [{ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', lastUpdateTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z' }],
});

test('the deadline counts from the last progress; MaxInt32 means none', () => {
  assert.equal(hasProgressDeadline(deploy(2147483647)), false);
  assert.equal(hasProgressDeadline(deploy(undefined)), true);
  assert.equal(deploymentTimedOut(deploy(10), updating(), T0 + 10_000), false);
  assert.equal(deploymentTimedOut(deploy(10), updating(), T0 + 10_001), true);
  assert.equal(nextProgressCheckMs(deploy(10), updating(), T0 + 4_000), 7_000);
  assert.equal(nextProgressCheckMs(deploy(2147483647), updating(), T0), undefined);
});

test('no progress past the deadline sets Progressing=False; progress refreshes lastUpdateTime only', () => {
  const d = deploy(10, updating());
  const stuck = updating();
  updateProgressing(d, stuck, 'web-abc', T0 + 11_000);
  const c = stuck.conditions?.find((x) => x.type === 'Progressing');
  assert.equal(c?.status, 'False');
  assert.equal(c?.reason, 'ProgressDeadlineExceeded');

  const moved = { ...updating(), updatedReplicas: 2 };
  updateProgressing(d, moved, 'web-abc', T0 + 5_000);
  const p = moved.conditions?.find((x) => x.type === 'Progressing');
  assert.equal(p?.reason, 'ReplicaSetUpdated');
  assert.equal(p?.lastUpdateTime, '2026-01-01T00:00:05Z');
  assert.equal(p?.lastTransitionTime, '2026-01-01T00:00:00Z');
});
