/**
 * Deleting a Namespace deletes everything in it. Objects without finalizers go at once; while some
 * remain (their finalizers are still running), the Namespace stays with phase Terminating and
 * meshbox's finalizer, and goes when the last object in it is gone. Level-triggered: `resync`
 * finishes what a daemon restart interrupted.
 */
import { RESOURCES, resourceKey } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';
import type { Store } from '../store/types.js';
import { ALL_RESOURCES } from '../store/sqlite-store.js';

export const NAMESPACE_FINALIZER = 'meshbox.dev/namespace-contents';

const NAMESPACED = RESOURCES.filter((r) => r.namespaced).map(resourceKey);

export class NamespaceLifecycle {
  #store: Store;
  #stop: (() => void) | undefined;

  constructor(store: Store) {
    this.#store = store;
  }

  start(): void {
    this.#stop = this.#store.watch(ALL_RESOURCES, {}, (e) => {
      if (e.type !== 'DELETED' || !e.object.metadata.namespace) return;
      const ns = this.#store.get('namespaces', undefined, e.object.metadata.namespace);
      if (ns?.metadata.deletionTimestamp && ns.metadata.finalizers?.includes(NAMESPACE_FINALIZER)) this.#finishIfEmpty(ns);
    });
    this.resync();
  }

  stop(): void {
    this.#stop?.();
    this.#stop = undefined;
  }

  resync(): void {
    for (const ns of this.#store.list('namespaces').items) {
      if (ns.metadata.deletionTimestamp && ns.metadata.finalizers?.includes(NAMESPACE_FINALIZER)) {
        this.#deleteContents(ns.metadata.name);
        this.#finishIfEmpty(this.#store.get('namespaces', undefined, ns.metadata.name)!);
      }
    }
  }

  /** Deletes the namespace and everything in it; returns the namespace as it is afterwards. */
  delete(name: string, opts: { uid?: string; gracePeriodSeconds?: number } = {}): KubeObject | undefined {
    return this.#store.transaction(() => {
      const ns = this.#store.get('namespaces', undefined, name);
      if (!ns) return undefined;
      if (opts.uid && opts.uid !== ns.metadata.uid) return this.#store.delete('namespaces', undefined, name, opts);
      const remaining = this.#deleteContents(name);
      if (remaining === 0) return this.#store.delete('namespaces', undefined, name, opts);
      let current = ns;
      if (!current.metadata.finalizers?.includes(NAMESPACE_FINALIZER)) {
        current = this.#store.update('namespaces', {
          ...current,
          metadata: { ...current.metadata, finalizers: [...(current.metadata.finalizers ?? []), NAMESPACE_FINALIZER] },
        });
      }
      current = this.#store.updateStatus('namespaces', { ...current, status: { ...(current.status as object), phase: 'Terminating' } });
      return this.#store.delete('namespaces', undefined, name, opts) ?? current;
    });
  }

  /** deletes every object in the namespace; returns how many are still there (finalizers) */
  #deleteContents(namespace: string): number {
    let remaining = 0;
    for (const key of NAMESPACED) {
      for (const obj of this.#store.list(key, { namespace }).items) {
        if (this.#store.delete(key, namespace, obj.metadata.name)) {
          if (this.#store.get(key, namespace, obj.metadata.name)) remaining++;
        }
      }
    }
    return remaining;
  }

  #finishIfEmpty(ns: KubeObject): void {
    for (const key of NAMESPACED) if (this.#store.list(key, { namespace: ns.metadata.name }).items.length > 0) return;
    this.#store.update('namespaces', {
      ...ns,
      metadata: { ...ns.metadata, resourceVersion: undefined, finalizers: ns.metadata.finalizers!.filter((f) => f !== NAMESPACE_FINALIZER) },
    } as KubeObject);
  }
}
