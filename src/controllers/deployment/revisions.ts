/** Revision annotations of Deployments and their ReplicaSets (Kubernetes' deployment util). */
import type { KubeObject } from '../../api/types.js';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

/**
 * Annotations that belong to the Deployment itself (Kubernetes' annotationsToSkip): the controller
 * does not copy them to its ReplicaSets, and a rollback does not copy them back from a ReplicaSet.
 */
export const DEPLOYMENT_ONLY_ANNOTATIONS: ReadonlySet<string> = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  'deprecated.deployment.rollback.to',
]);

/** The object's revision number, 0 when it has none or it does not parse. */
export function revisionOf(obj: KubeObject): number {
  const v = obj.metadata.annotations?.[REVISION_ANNOTATION];
  const n = v === undefined ? NaN : Number(v);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

export function maxRevision(objs: readonly KubeObject[]): number {
  let max = 0;
  for (const o of objs) max = Math.max(max, revisionOf(o));
  return max;
}
