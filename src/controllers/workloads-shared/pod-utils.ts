/**
 * Pod predicates and the ActivePods ranking of Kubernetes' pkg/controller (controller_utils.go),
 * shared by the ReplicaSet, Deployment and Job controllers.
 */
import type { Pod } from '../../api/types.js';
import { getCondition } from '../../reconcile/conditions.js';

/** Being deleted: the pod counts neither as active nor as available (Kubernetes' IsPodActive). */
export function isPodTerminating(pod: Pod): boolean {
  return pod.metadata.deletionTimestamp !== undefined;
}

/** Not finished and not being deleted. */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !isPodTerminating(pod);
}

export function isPodReady(pod: Pod): boolean {
  return getCondition(pod.status?.conditions, 'Ready')?.status === 'True';
}

/** When the pod last became Ready, in ms since the epoch (undefined if it is not Ready). */
export function readySince(pod: Pod): number | undefined {
  const c = getCondition(pod.status?.conditions, 'Ready');
  if (c?.status !== 'True') return undefined;
  const t = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  return Number.isNaN(t) ? undefined : t;
}

/** Ready for at least minReadySeconds (podutil.IsPodAvailable). */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const since = readySince(pod);
  return since !== undefined && since + minReadySeconds * 1000 <= nowMs;
}

/**
 * Ms until the first ready-but-not-yet-available pod becomes available, for a requeue; undefined
 * when there is none.
 */
export function nextAvailableInMs(pods: readonly Pod[], minReadySeconds: number, nowMs: number): number | undefined {
  if (minReadySeconds <= 0) return undefined;
  let next: number | undefined;
  for (const pod of pods) {
    const since = readySince(pod);
    if (since === undefined || isPodTerminating(pod)) continue;
    const wait = since + minReadySeconds * 1000 - nowMs;
    if (wait > 0 && (next === undefined || wait < next)) next = wait;
  }
  // rfc3339 timestamps have whole seconds: come back a little after the boundary.
  return next === undefined ? undefined : next + 50;
}

export function podRestarts(pod: Pod): number {
  let n = 0;
  for (const s of pod.status?.containerStatuses ?? []) n += s.restartCount ?? 0;
  for (const s of pod.status?.initContainerStatuses ?? []) n += s.restartCount ?? 0;
  return n;
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function created(pod: Pod): number {
  const t = pod.metadata.creationTimestamp ? Date.parse(pod.metadata.creationTimestamp) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

/**
 * Orders pods so that the ones to delete first come first (Kubernetes' ActivePods.Less):
 * unscheduled before scheduled, Pending before Unknown before Running, not ready before ready,
 * ready for less time before longer, more restarts before fewer, newer before older.
 */
export function compareForDeletion(a: Pod, b: Pod): number {
  const nodeA = a.spec?.nodeName ? 1 : 0;
  const nodeB = b.spec?.nodeName ? 1 : 0;
  if (nodeA !== nodeB) return nodeA - nodeB;
  const phaseA = PHASE_RANK[a.status?.phase ?? 'Pending'] ?? 0;
  const phaseB = PHASE_RANK[b.status?.phase ?? 'Pending'] ?? 0;
  if (phaseA !== phaseB) return phaseA - phaseB;
  const readyA = isPodReady(a) ? 1 : 0;
  const readyB = isPodReady(b) ? 1 : 0;
  if (readyA !== readyB) return readyA - readyB;
  if (readyA && readyB) {
    const sa = readySince(a) ?? 0;
    const sb = readySince(b) ?? 0;
    if (sa !== sb) return sb - sa; // became ready later = ready for less time = first
  }
  const ra = podRestarts(a);
  const rb = podRestarts(b);
  if (ra !== rb) return rb - ra;
  const ca = created(a);
  const cb = created(b);
  if (ca !== cb) return cb - ca;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}
