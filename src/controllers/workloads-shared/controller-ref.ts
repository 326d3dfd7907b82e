/**
 * Controller references: who owns a pod or a ReplicaSet, and claiming (Kubernetes'
 * ControllerRefManager): adopt orphans the selector matches, release owned objects it no longer
 * matches. Everything reads and writes the store itself (never an informer cache) so a stale
 * cache can never make a controller adopt, release or count the wrong objects.
 */
import type { KubeObject, OwnerReference } from '../../api/types.js';
import { findCause } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Selector } from '../../store/label-selector.js';
import type { Store } from '../../store/types.js';

export function controllerRefFor(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid as string,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

export function isControlledBy(obj: KubeObject, owner: KubeObject): boolean {
  return controllerOf(obj)?.uid === owner.metadata.uid;
}

const CONFLICT = 'MBX_STORE_CONFLICT';
const NOT_FOUND = 'MBX_STORE_NOT_FOUND';

/**
 * The objects among `candidates` that `owner` controls after adoption and release. Writes are
 * optimistic (resourceVersion precondition): an object changed meanwhile is left out this round;
 * its watch event brings the owner back.
 */
export function claimObjects<T extends KubeObject>(opts: {
  store: Store;
  resource: string;
  owner: KubeObject;
  selector: Selector;
  candidates: readonly T[];
  log: Logger;
}): T[] {
  const { store, resource, owner, selector, candidates, log } = opts;
  const claimed: T[] = [];
  const ownerDeleting = owner.metadata.deletionTimestamp !== undefined;
  for (const obj of candidates) {
    const ref = controllerOf(obj);
    const matches = selector.matches(obj.metadata.labels);
    try {
      if (ref) {
        if (ref.uid !== owner.metadata.uid) continue;
        if (matches) {
          claimed.push(obj);
          continue;
        }
        if (obj.metadata.deletionTimestamp) continue;
        // Release: the labels moved away from the selector.
        const next = structuredClone(obj) as KubeObject;
        next.metadata.ownerReferences = next.metadata.ownerReferences?.filter((r) => r.uid !== owner.metadata.uid);
        if (next.metadata.ownerReferences?.length === 0) delete next.metadata.ownerReferences;
        store.update(resource, next);
        log.info({ object: obj.metadata.name }, 'released object that no longer matches the selector');
        continue;
      }
      if (!matches || ownerDeleting || obj.metadata.deletionTimestamp) continue;
      const next = structuredClone(obj) as T;
      next.metadata.ownerReferences = [...(next.metadata.ownerReferences ?? []), controllerRefFor(owner)];
      claimed.push(store.update(resource, next) as T);
      log.info({ object: obj.metadata.name }, 'adopted orphan that matches the selector');
    } catch (err) {
      if (findCause(err, CONFLICT) || findCause(err, NOT_FOUND)) continue;
      throw err;
    }
  }
  return claimed;
}

/** True for a store error that only means "someone else changed it first; look again". */
export function isStale(err: unknown): boolean {
  return findCause(err, CONFLICT) !== undefined || findCause(err, NOT_FOUND) !== undefined;
}
