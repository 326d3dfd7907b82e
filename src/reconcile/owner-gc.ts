/**
 * The garbage collector for ownerReferences: background cascading deletion, as Kubernetes does it.
 * When none of an object's owners exists any more (no object with the owner reference's uid), the
 * object is deleted; its own dependents follow in turn.
 *
 * Level-triggered: the key is the dependent, and the check reads the store, not the event. At
 * start every object with owner references is checked, so owners deleted while the daemon was down
 * are found too. A dependent with some owners gone and some alive loses only the dangling
 * references (Kubernetes does the same).
 */
import type { KubeObject, OwnerReference } from '../api/types.js';
import { RESOURCES, resourceFor, resourceKey } from '../api/resources.js';
import type { Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Store } from '../store/types.js';
import { Controller, type ControllerMetrics, type ReconcileContext } from './controller.js';
import { objectKey, splitKey, type Informer, type InformerFactory } from './informer.js';

/** Informer index of dependents by the uids of their owners. */
export const OWNER_UID_INDEX = 'ownerUid';

/** Every served resource except Events, which reference objects through involvedObject, not owners. */
export function defaultGcResources(): string[] {
  return RESOURCES.filter((r) => r.kind !== 'Event').map(resourceKey);
}

export interface GarbageCollectorOptions {
  store: Store;
  informers: InformerFactory;
  /** store keys of the resources whose objects can be owners or dependents (default: all but events) */
  resources?: readonly string[];
  workers?: number;
  clock?: Clock;
  log?: Logger;
}

export interface GarbageCollectorMetrics extends ControllerMetrics {
  deletedTotal: number;
  danglingRefsRemovedTotal: number;
}

const SEP = '|';

export class GarbageCollector {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #informers: { resource: string; informer: Informer<KubeObject> }[];
  readonly #controller: Controller;
  #deletedTotal = 0;
  #danglingRemovedTotal = 0;

  constructor(options: GarbageCollectorOptions) {
    this.#store = options.store;
    this.#log = (options.log ?? silentLogger).child({ component: 'garbage-collector' });
    this.#informers = (options.resources ?? defaultGcResources()).map((resource) => {
      const informer = options.informers.informerFor(resource);
      if (!informer.hasIndex(OWNER_UID_INDEX)) {
        informer.addIndex(OWNER_UID_INDEX, (o) => (o.metadata.ownerReferences ?? []).map((r) => r.uid));
      }
      return { resource, informer };
    });
    this.#controller = new Controller({
      name: 'garbage-collector',
      reconciler: { reconcile: (key, ctx) => this.#reconcile(key, ctx) },
      workers: options.workers ?? 2,
      ...(options.clock ? { clock: options.clock } : {}),
      log: options.log ?? silentLogger,
    });
    for (const { resource, informer } of this.#informers) {
      this.#controller.watches(informer, (obj) => this.#keysFor(resource, informer, obj));
    }
  }

  start(): Promise<void> {
    return this.#controller.start();
  }

  stop(): Promise<void> {
    return this.#controller.stop();
  }

  metrics(): GarbageCollectorMetrics {
    return { ...this.#controller.metrics(), deletedTotal: this.#deletedTotal, danglingRefsRemovedTotal: this.#danglingRemovedTotal };
  }

  /** The object itself if it has owners; its dependents if it is gone. */
  #keysFor(resource: string, informer: Informer<KubeObject>, obj: KubeObject): string[] {
    const keys: string[] = [];
    const key = objectKey(obj);
    if (obj.metadata.ownerReferences?.length) keys.push(resource + SEP + key);
    // The cache is updated before handlers run: a deleted owner is no longer in it.
    const uid = obj.metadata.uid;
    if (uid && informer.getByKey(key)?.metadata.uid !== uid) {
      for (const dep of this.#informers) {
        for (const d of dep.informer.byIndex(OWNER_UID_INDEX, uid)) keys.push(dep.resource + SEP + objectKey(d));
      }
    }
    return keys;
  }

  async #reconcile(key: string, { log }: ReconcileContext): Promise<void> {
    const at = key.indexOf(SEP);
    const resource = key.slice(0, at);
    const { namespace, name } = splitKey(key.slice(at + 1));
    // Read the store itself: deleting on a stale cache would destroy live objects.
    const dependent = this.#store.get(resource, namespace, name);
    const refs = dependent?.metadata.ownerReferences;
    if (!dependent || !refs?.length || dependent.metadata.deletionTimestamp) return;

    const dangling: OwnerReference[] = [];
    const solid: OwnerReference[] = [];
    for (const ref of refs) (this.#ownerExists(ref, namespace, log) ? solid : dangling).push(ref);
    if (dangling.length === 0) return;

    if (solid.length > 0) {
      const next = structuredClone(dependent);
      next.metadata.ownerReferences = solid;
      this.#store.update(resource, next);
      this.#danglingRemovedTotal += dangling.length;
      log.info({ removed: dangling.map((r) => `${r.kind}/${r.name}`) }, 'removed owner references to deleted owners');
      return;
    }
    this.#store.delete(resource, namespace, name, { uid: dependent.metadata.uid as string });
    this.#deletedTotal++;
    log.info({ owners: dangling.map((r) => `${r.kind}/${r.name}`) }, 'deleted object whose owners are gone');
  }

  #ownerExists(ref: OwnerReference, namespace: string | undefined, log: Logger): boolean {
    const type = resourceFor(ref.apiVersion, ref.kind);
    if (!type) {
      // Cannot verify an owner of a kind meshbox does not serve; keep the dependent (Kubernetes too).
      log.warn({ owner: `${ref.apiVersion} ${ref.kind}/${ref.name}` }, 'owner kind is unknown; keeping dependent');
      return true;
    }
    const owner = this.#store.get(resourceKey(type), type.namespaced ? namespace : undefined, ref.name);
    if (!owner) return false;
    return !ref.uid || owner.metadata.uid === ref.uid;
  }
}
