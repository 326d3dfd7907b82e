/**
 * Deployment conditions, with Kubernetes' reasons and its SetDeploymentCondition rules: a condition
 * with the same status and reason is left alone; lastTransitionTime moves only when the status does;
 * lastUpdateTime is when it was last written (the progress deadline counts from it).
 */
import { rfc3339 } from '../../core/clock.js';
import type { DeploymentCondition } from '../workloads-shared/types.js';

export const AVAILABLE = 'Available';
export const PROGRESSING = 'Progressing';

export const MIN_REPLICAS_AVAILABLE = 'MinimumReplicasAvailable';
export const MIN_REPLICAS_UNAVAILABLE = 'MinimumReplicasUnavailable';
export const NEW_RS_CREATED = 'NewReplicaSetCreated';
export const FOUND_NEW_RS = 'FoundNewReplicaSet';
export const RS_UPDATED = 'ReplicaSetUpdated';
export const NEW_RS_AVAILABLE = 'NewReplicaSetAvailable';
export const TIMED_OUT = 'ProgressDeadlineExceeded';
export const PAUSED = 'DeploymentPaused';
export const RESUMED = 'DeploymentResumed';
export const FAILED_RS_CREATE = 'ReplicaSetCreateError';

export function getDeploymentCondition(conditions: readonly DeploymentCondition[] | undefined, type: string): DeploymentCondition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function newCondition(type: string, status: DeploymentCondition['status'], reason: string, message: string, nowMs: number): DeploymentCondition {
  const t = rfc3339(nowMs);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

/** Sets `c` in `conditions` (in place) with SetDeploymentCondition's rules. */
export function setDeploymentCondition(conditions: DeploymentCondition[], c: DeploymentCondition): void {
  const i = conditions.findIndex((x) => x.type === c.type);
  const cur = i >= 0 ? conditions[i] : undefined;
  if (cur && cur.status === c.status && cur.reason === c.reason) return;
  const next = { ...c };
  if (cur && cur.status === c.status && cur.lastTransitionTime) next.lastTransitionTime = cur.lastTransitionTime;
  if (i >= 0) conditions.splice(i, 1);
  conditions.push(next);
}

export function removeDeploymentCondition(conditions: DeploymentCondition[], type: string): void {
  const i = conditions.findIndex((x) => x.type === type);
  if (i >= 0) conditions.splice(i, 1);
}
