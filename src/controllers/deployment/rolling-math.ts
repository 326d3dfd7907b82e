/**
 * maxSurge / maxUnavailable arithmetic (Kubernetes' deployment util ResolveFenceposts): percentages
 * of the desired replicas, surge rounded up, unavailable rounded down, and never both zero.
 */
import { InvalidIntOrPercent } from '../workloads-shared/errors.js';
import type { Deployment, IntOrString } from '../workloads-shared/types.js';

/** An int, or "N%" of `total` rounded up or down (intstr.GetScaledValueFromIntOrPercent). */
export function scaledValue(value: IntOrString | undefined, total: number, roundUp: boolean, field: string, fallback: IntOrString): number {
  const v = value ?? fallback;
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) throw InvalidIntOrPercent(field, String(v));
    return v;
  }
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    if (/^\d+$/.test(v)) return Number(v);
    throw InvalidIntOrPercent(field, JSON.stringify(v));
  }
  const scaled = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

export function resolveFenceposts(maxSurge: IntOrString | undefined, maxUnavailable: IntOrString | undefined, desired: number): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge, desired, true, 'spec.strategy.rollingUpdate.maxSurge', '25%');
  let unavailable = scaledValue(maxUnavailable, desired, false, 'spec.strategy.rollingUpdate.maxUnavailable', '25%');
  // Both zero would block every rollout: allow one unavailable pod, as Kubernetes does.
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export function desiredReplicas(d: Deployment): number {
  return d.spec.replicas ?? 1;
}

export function isRollingUpdate(d: Deployment): boolean {
  return (d.spec.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

/** Kubernetes' MaxSurge: 0 for Recreate. */
export function maxSurge(d: Deployment): number {
  if (!isRollingUpdate(d)) return 0;
  const ru = d.spec.strategy?.rollingUpdate;
  return resolveFenceposts(ru?.maxSurge, ru?.maxUnavailable, desiredReplicas(d)).surge;
}

/** Kubernetes' MaxUnavailable: 0 for Recreate, never more than the replicas. */
export function maxUnavailable(d: Deployment): number {
  const desired = desiredReplicas(d);
  if (!isRollingUpdate(d) || desired === 0) return 0;
  const ru = d.spec.strategy?.rollingUpdate;
  return Math.min(resolveFenceposts(ru?.maxSurge, ru?.maxUnavailable, desired).unavailable, desired);
}
