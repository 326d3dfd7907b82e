/**
 * Finalizer helpers for external teardown (CNI DEL, cgroups, iptables rules): a controller adds
 * its finalizer before it creates anything outside the store, and removes it once that is torn
 * down; the store keeps a deleted object (with deletionTimestamp) until the list is empty.
 *
 * All helpers return a new object (cached objects are frozen), or undefined when nothing changes,
 * so `const next = addFinalizer(obj, F); if (next) store.update(resource, next)`.
 */
import type { KubeObject } from '../api/types.js';

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata.finalizers?.includes(finalizer) ?? false;
}

export function isBeingDeleted(obj: KubeObject): boolean {
  return obj.metadata.deletionTimestamp !== undefined;
}

export function addFinalizer<T extends KubeObject>(obj: T, finalizer: string): T | undefined {
  if (hasFinalizer(obj, finalizer)) return undefined;
  const next = structuredClone(obj);
  next.metadata.finalizers = [...(obj.metadata.finalizers ?? []), finalizer];
  return next;
}

export function removeFinalizer<T extends KubeObject>(obj: T, finalizer: string): T | undefined {
  if (!hasFinalizer(obj, finalizer)) return undefined;
  const next = structuredClone(obj);
  next.metadata.finalizers = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  return next;
}
