/**
 * The store's contract. `SqliteStore` (store/sqlite-store.ts) implements it; the API server,
 * controllers and informers use only this interface.
 *
 * Semantics follow the Kubernetes API server:
 * - create assigns metadata.uid, resourceVersion, generation=1, creationTimestamp (and a name from
 *   generateName); an existing name fails with MBX_STORE_ALREADY_EXISTS.
 * - resourceVersion is one global, strictly increasing counter (decimal string), persisted.
 * - update fails with MBX_STORE_CONFLICT when the given resourceVersion is set and is not current;
 *   generation increments only when `spec` (or, for kinds without spec, the data fields) changes;
 *   status is kept from the stored object (use updateStatus for status).
 * - delete of an object with finalizers sets deletionTimestamp (once) and keeps it; the object goes
 *   when an update empties its finalizers. Without finalizers it is removed at once.
 * - every committed change emits exactly one WatchEvent, in resourceVersion order, after commit.
 */
import type { KubeObject } from '../api/types.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  type: WatchEventType;
  /** store key of the resource type, e.g. "pods", "deployments.apps" */
  resource: string;
  object: KubeObject;
}

export interface ListOptions {
  namespace?: string;
  /** Kubernetes label selector string: "app=web,tier!=db,env in (a,b),!legacy" */
  labelSelector?: string;
  /** field selector: only metadata.name, metadata.namespace, spec.nodeName, status.phase */
  fieldSelector?: string;
}

export interface ListResult {
  items: KubeObject[];
  /** the store's resourceVersion at the time of the list */
  resourceVersion: string;
}

export interface WatchOptions extends ListOptions {
  /** replay changes after this resourceVersion first (from the store's change log) */
  resourceVersion?: string;
}

export interface DeleteOptions {
  /** precondition: only delete if uid matches */
  uid?: string;
  gracePeriodSeconds?: number;
}

export interface Store {
  create(resource: string, obj: KubeObject): KubeObject;
  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(resource: string, opts?: ListOptions): ListResult;
  update(resource: string, obj: KubeObject): KubeObject;
  updateStatus(resource: string, obj: KubeObject): KubeObject;
  delete(resource: string, namespace: string | undefined, name: string, opts?: DeleteOptions): KubeObject | undefined;
  /** runs fn in one SQLite transaction: every change in it commits or none does; events go out after commit */
  transaction<T>(fn: () => T): T;
  /** synchronous callback per event; returns a function that stops the watch */
  watch(resource: string, opts: WatchOptions, onEvent: (e: WatchEvent) => void): () => void;
  currentResourceVersion(): string;
  close(): void;
}
