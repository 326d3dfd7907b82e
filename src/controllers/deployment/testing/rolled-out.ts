/** Test helpers for Deployment rollouts running under the workload harness. */
import assert from 'node:assert/strict';
import { eventually } from '../../../reconcile/testing/eventually.js';
import { createReplicaSetController } from '../../replicaset/replicaset-controller.js';
import type { Harness } from '../../workloads-shared/testing/harness.js';
import type { Deployment } from '../../workloads-shared/types.js';
import { createDeploymentController } from '../deployment-controller.js';
import { rolloutStatus } from '../rollout.js';
import { getDeployment } from './fixtures.js';

/** What a Deployment needs to roll out: its own controller and the ReplicaSet controller. */
export const rolloutControllers = [createReplicaSetController, createDeploymentController];

/** Waits until rolloutStatus says the Deployment is done; returns it as it was then. */
export async function rolledOut(h: Harness, name: string, timeoutMs = 8000): Promise<Deployment> {
  let d: Deployment | undefined;
  await eventually(() => {
    d = getDeployment(h.store, name);
    const s = rolloutStatus(d);
    assert.ok(s.done, s.message);
  }, timeoutMs);
  return d!;
}
