/**
 * An informer keeps a read-only cache of one resource, filled by a list and kept current by a
 * watch from the Store (client-go's SharedIndexInformer, minus the network).
 *
 * Objects handed out (get, list, byIndex, event handlers) are deep-frozen: treat them as read-only
 * and clone (structuredClone) before changing one for a write. They are frozen in place, which
 * relies on the Store handing each list and each watcher its own copies (SqliteStore does).
 *
 * The Store delivers watch events synchronously after commit, so the cache reflects a write as soon
 * as the write returns. Controllers must still not rely on that (assume the cache is stale).
 * Handler calls are serialised: if a handler writes to the store, the resulting event is handled
 * after the current one has reached every handler, so each handler sees events in order.
 */
import type { KubeObject } from '../api/types.js';
import { describeError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Store, WatchEvent } from '../store/types.js';
import { DuplicateIndex, InvalidKey, UnknownIndex } from './errors.js';

export interface EventHandler<T extends KubeObject = KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export type IndexFn<T extends KubeObject = KubeObject> = (obj: T) => readonly string[];

export interface InformerOptions {
  /** only objects of this namespace */
  namespace?: string;
  labelSelector?: string;
  log?: Logger;
}

/** "namespace/name", or "name" for cluster-scoped objects (client-go's MetaNamespaceKeyFunc). */
export function objectKey(obj: { metadata: { namespace?: string; name: string } }): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const parts = key.split('/');
  if (parts.length === 1 && parts[0]) return { namespace: undefined, name: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { namespace: parts[0], name: parts[1] };
  throw InvalidKey(key);
}

/** Index of objects by namespace, registered on every informer. */
export const NAMESPACE_INDEX = 'namespace';

export class Informer<T extends KubeObject = KubeObject> {
  readonly resource: string;
  readonly #store: Store;
  readonly #options: InformerOptions;
  readonly #log: Logger;
  readonly #cache = new Map<string, T>();
  readonly #indexes = new Map<string, { fn: IndexFn<T>; values: Map<string, Set<string>> }>();
  readonly #handlers = new Set<EventHandler<T>>();
  #unwatch: (() => void) | undefined;
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  // Handler notifications queued while a handler runs (re-entrant store writes), drained in order.
  #notifications: (() => void)[] = [];
  #dispatching = false;

  constructor(store: Store, resource: string, options: InformerOptions = {}) {
    this.resource = resource;
    this.#store = store;
    this.#options = options;
    this.#log = (options.log ?? silentLogger).child({ informer: resource });
    this.addIndex(NAMESPACE_INDEX, (o) => (o.metadata.namespace ? [o.metadata.namespace] : []));
  }

  /** Lists, then watches from the list's resourceVersion. Idempotent. */
  start(): void {
    if (this.#unwatch) return;
    const { namespace, labelSelector } = this.#options;
    const opts = { ...(namespace ? { namespace } : {}), ...(labelSelector ? { labelSelector } : {}) };
    const listed = this.#store.list(this.resource, opts);
    const seen = new Set<string>();
    for (const item of listed.items) {
      seen.add(objectKey(item));
      this.#apply('MODIFIED', item as T);
    }
    // A restart of the informer: objects that vanished while it was stopped are deleted now.
    for (const [key, obj] of [...this.#cache]) if (!seen.has(key)) this.#apply('DELETED', obj);
    this.#unwatch = this.#store.watch(this.resource, { ...opts, resourceVersion: listed.resourceVersion }, (e) =>
      this.#onWatchEvent(e),
    );
    this.#synced = true;
    const waiters = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const w of waiters) w();
  }

  stop(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#synced = false;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(namespace ? `${namespace}/${name}` : name);
  }

  getByKey(key: string): T | undefined {
    return this.#cache.get(key);
  }

  /** Every cached object, or those of one namespace. */
  list(namespace?: string): T[] {
    if (namespace === undefined) return [...this.#cache.values()];
    return this.byIndex(NAMESPACE_INDEX, namespace);
  }

  keys(): string[] {
    return [...this.#cache.keys()];
  }

  get size(): number {
    return this.#cache.size;
  }

  /** Adds an index; `fn` returns the index values of an object (several, or none). */
  addIndex(name: string, fn: IndexFn<T>): this {
    if (this.#indexes.has(name)) throw DuplicateIndex(this.resource, name);
    const index = { fn, values: new Map<string, Set<string>>() };
    this.#indexes.set(name, index);
    for (const [key, obj] of this.#cache) for (const v of fn(obj)) addTo(index.values, v, key);
    return this;
  }

  hasIndex(name: string): boolean {
    return this.#indexes.has(name);
  }

  byIndex(name: string, value: string): T[] {
    const index = this.#indexes.get(name);
    if (!index) throw UnknownIndex(this.resource, name);
    const keys = index.values.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const obj = this.#cache.get(k);
      if (obj) out.push(obj);
    }
    return out;
  }

  /**
   * Registers a handler. If the informer has synced already, the handler first gets onAdd for every
   * cached object, so late handlers see the same world as early ones. Returns a remover.
   */
  addEventHandler(handler: EventHandler<T>): () => void {
    this.#handlers.add(handler);
    if (this.#synced && handler.onAdd) {
      for (const obj of this.#cache.values()) this.#notifications.push(() => handler.onAdd?.(obj));
      this.#drain();
    }
    return () => void this.#handlers.delete(handler);
  }

  #onWatchEvent(e: WatchEvent): void {
    this.#apply(e.type, e.object as T);
  }

  #apply(type: WatchEvent['type'], raw: T): void {
    const key = objectKey(raw);
    const old = this.#cache.get(key);
    if (type === 'DELETED') {
      if (!old) return;
      this.#cache.delete(key);
      this.#unindex(key, old);
      const last = freeze(raw);
      for (const h of this.#handlers) this.#notifications.push(() => h.onDelete?.(last));
      this.#drain();
      return;
    }
    // A replayed event older than what the cache holds would move it backwards.
    if (old && Number(raw.metadata.resourceVersion) <= Number(old.metadata.resourceVersion)) return;
    const obj = freeze(raw);
    this.#cache.set(key, obj);
    if (old) this.#unindex(key, old);
    for (const index of this.#indexes.values()) for (const v of index.fn(obj)) addTo(index.values, v, key);
    for (const h of this.#handlers) {
      if (old) this.#notifications.push(() => h.onUpdate?.(old, obj));
      else this.#notifications.push(() => h.onAdd?.(obj));
    }
    this.#drain();
  }

  #unindex(key: string, obj: T): void {
    for (const index of this.#indexes.values()) {
      for (const v of index.fn(obj)) {
        const set = index.values.get(v);
        set?.delete(key);
        if (set?.size === 0) index.values.delete(v);
      }
    }
  }

  #drain(): void {
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      for (let call = this.#notifications.shift(); call; call = this.#notifications.shift()) {
        try {
          call();
        } catch (err) {
          // A failing handler must not break the store's writer or the other handlers.
          this.#log.error({ err: describeError(err) }, 'informer event handler failed');
        }
      }
    } finally {
      this.#dispatching = false;
    }
  }
}

/** One informer per resource, shared by every controller that watches it. */
export class InformerFactory {
  readonly #store: Store;
  readonly #log: Logger | undefined;
  readonly #informers = new Map<string, Informer<KubeObject>>();
  #started = false;

  constructor(store: Store, options: { log?: Logger } = {}) {
    this.#store = store;
    this.#log = options.log;
  }

  informerFor<T extends KubeObject = KubeObject>(resource: string): Informer<T> {
    let informer = this.#informers.get(resource);
    if (!informer) {
      informer = new Informer(this.#store, resource, this.#log ? { log: this.#log } : {});
      this.#informers.set(resource, informer);
      if (this.#started) informer.start();
    }
    return informer as unknown as Informer<T>;
  }

  /** Starts every informer made so far and every one made later. */
  start(): void {
    this.#started = true;
    for (const i of this.#informers.values()) i.start();
  }

  stop(): void {
    this.#started = false;
    for (const i of this.#informers.values()) i.stop();
  }

  informers(): Informer<KubeObject>[] {
    return [...this.#informers.values()];
  }
}

function addTo(map: Map<string, Set<string>>, value: string, key: string): void {
  let set = map.get(value);
  if (!set) map.set(value, (set = new Set()));
  set.add(key);
}

// The store hands every watcher and every list its own copy, so freezing in place is safe.
const freeze = <T>(obj: T): T => deepFreeze(obj);

function deepFreeze<T>(obj: T): T {
  if (obj && typeof obj === 'object' && !Object.isFrozen(obj)) {
    Object.freeze(obj);
    for (const v of Object.values(obj)) deepFreeze(v);
  }
  return obj;
}
