/**
 * Status conditions as the Kubernetes API conventions define them (apimachinery's meta.SetStatusCondition):
 * `lastTransitionTime` changes only when `status` changes; a missing condition reads as Unknown.
 */
import type { Condition } from '../api/types.js';
import { rfc3339 } from '../core/clock.js';

export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  /** PascalCase: Ready, Available, NetworkAttached */
  type: string;
  status: ConditionStatus;
  /** PascalCase machine-readable cause: CniAddFailed, MinimumReplicasAvailable */
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** The condition's status, Unknown when it is missing. */
export function conditionStatus(conditions: readonly Condition[] | undefined, type: string): ConditionStatus {
  return getCondition(conditions, type)?.status ?? 'Unknown';
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return conditionStatus(conditions, type) === 'True';
}

export function isConditionFalse(conditions: readonly Condition[] | undefined, type: string): boolean {
  return conditionStatus(conditions, type) === 'False';
}

/**
 * Sets a condition in `conditions` (changed in place: pass a copy you own, not a cached object).
 * Returns true when anything changed, so callers write status only then.
 */
export function setStatusCondition(conditions: Condition[], input: ConditionInput, nowMs: number): boolean {
  const existing = conditions.find((c) => c.type === input.type);
  if (!existing) {
    conditions.push(normalise({ ...input, lastTransitionTime: rfc3339(nowMs) }));
    return true;
  }
  let changed = false;
  if (existing.status !== input.status) {
    existing.status = input.status;
    existing.lastTransitionTime = rfc3339(nowMs);
    changed = true;
  }
  for (const field of ['reason', 'message', 'observedGeneration'] as const) {
    if (input[field] !== undefined && existing[field] !== input[field]) {
      (existing as unknown as Record<string, unknown>)[field] = input[field];
      changed = true;
    }
  }
  return changed;
}

/** Non-mutating form: a new array with the condition set (the input may be frozen). */
export function withCondition(conditions: readonly Condition[] | undefined, input: ConditionInput, nowMs: number): Condition[] {
  const copy = (conditions ?? []).map((c) => ({ ...c }));
  setStatusCondition(copy, input, nowMs);
  return copy;
}

/** Removes a condition in place; returns true when it was there. */
export function removeStatusCondition(conditions: Condition[], type: string): boolean {
  const i = conditions.findIndex((c) => c.type === type);
  if (i < 0) return false;
  conditions.splice(i, 1);
  return true;
}

// Field order as kubectl prints it, and no undefined keys in the stored JSON.
function normalise(c: ConditionInput & { lastTransitionTime: string }): Condition {
  const out: Condition = { type: c.type, status: c.status };
  if (c.observedGeneration !== undefined) out.observedGeneration = c.observedGeneration;
  out.lastTransitionTime = c.lastTransitionTime;
  if (c.reason !== undefined) out.reason = c.reason;
  if (c.message !== undefined) out.message = c.message;
  return out;
}
