/**
 * Progress of a rollout (Kubernetes' deployment util and progress.go): is it complete, has it made
 * progress since the last status, has it run past progressDeadlineSeconds, and the Progressing
 * condition that follows. Pure: a Deployment, a freshly computed status, the time.
 */
import type { Deployment, DeploymentCondition, DeploymentStatus } from '../workloads-shared/types.js';
import {
  NEW_RS_AVAILABLE,
  PROGRESSING,
  RS_UPDATED,
  TIMED_OUT,
  getDeploymentCondition,
  newCondition,
  removeDeploymentCondition,
  setDeploymentCondition,
} from './deployment-conditions.js';
import { desiredReplicas } from './rolling-math.js';

/** Kubernetes treats MaxInt32 as "no deadline". */
const NO_DEADLINE = 2147483647;

export function hasProgressDeadline(d: Deployment): boolean {
  const s = d.spec.progressDeadlineSeconds;
  return s === undefined || (s > 0 && s < NO_DEADLINE);
}

function deadlineMs(d: Deployment): number {
  return (d.spec.progressDeadlineSeconds ?? 600) * 1000;
}

/** Every replica updated and available, and the latest spec observed (DeploymentComplete). */
export function deploymentComplete(d: Deployment, status: DeploymentStatus): boolean {
  const want = desiredReplicas(d);
  return (
    status.updatedReplicas === want &&
    status.replicas === want &&
    status.availableReplicas === want &&
    (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 1)
  );
}

/** More updated, ready or available pods, or fewer old ones, than the stored status says. */
export function deploymentProgressing(d: Deployment, status: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (status.replicas ?? 0) - (status.updatedReplicas ?? 0);
  return (
    (status.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (status.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (status.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

/** No progress for progressDeadlineSeconds since the Progressing condition was last updated. */
export function deploymentTimedOut(d: Deployment, status: DeploymentStatus, nowMs: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getDeploymentCondition(status.conditions, PROGRESSING);
  if (!c || c.reason === NEW_RS_AVAILABLE) return false;
  if (c.reason === TIMED_OUT) return true;
  const from = Date.parse(c.lastUpdateTime ?? c.lastTransitionTime ?? '');
  return !Number.isNaN(from) && from + deadlineMs(d) < nowMs;
}

/** Sets the Progressing condition in `status` (syncRolloutStatus). */
export function updateProgressing(d: Deployment, status: DeploymentStatus, newRSName: string | undefined, nowMs: number): void {
  const conditions = (status.conditions ??= []);
  const cur = getDeploymentCondition(conditions, PROGRESSING);
  const alreadyComplete = status.replicas === status.updatedReplicas && cur?.reason === NEW_RS_AVAILABLE;
  if (!hasProgressDeadline(d) || alreadyComplete || newRSName === undefined) return;
  if (deploymentComplete(d, status)) {
    setDeploymentCondition(conditions, newCondition(PROGRESSING, 'True', NEW_RS_AVAILABLE, `ReplicaSet "${newRSName}" has successfully progressed.`, nowMs));
  } else if (deploymentProgressing(d, status)) {
    const c: DeploymentCondition = newCondition(PROGRESSING, 'True', RS_UPDATED, `ReplicaSet "${newRSName}" is progressing.`, nowMs);
    // Progress refreshes lastUpdateTime even when the reason stays: the deadline starts again.
    if (cur?.status === 'True' && cur.lastTransitionTime) c.lastTransitionTime = cur.lastTransitionTime;
    removeDeploymentCondition(conditions, PROGRESSING);
    setDeploymentCondition(conditions, c);
  } else if (deploymentTimedOut(d, status, nowMs)) {
    setDeploymentCondition(conditions, newCondition(PROGRESSING, 'False', TIMED_OUT, `ReplicaSet "${newRSName}" has timed out progressing.`, nowMs));
  }
}

/** Ms until the deadline check is due (requeueStuckDeployment), or undefined when none is. */
export function nextProgressCheckMs(d: Deployment, status: DeploymentStatus, nowMs: number): number | undefined {
  const c = getDeploymentCondition(status.conditions, PROGRESSING);
  if (!hasProgressDeadline(d) || !c || c.reason === NEW_RS_AVAILABLE || c.reason === TIMED_OUT || deploymentComplete(d, status)) return undefined;
  const from = Date.parse(c.lastUpdateTime ?? c.lastTransitionTime ?? '');
  if (Number.isNaN(from)) return undefined;
  // a second past the deadline: lastUpdateTime has whole seconds
  return Math.max(from + deadlineMs(d) - nowMs + 1000, 10);
}
