/**
 * A small in-memory Store that follows src/store/types.ts, for unit tests of the controller
 * framework where a SQLite file adds nothing. Not for production: nothing is durable.
 *
 * It throws MeshboxError with the store's codes directly (not through defineError), so it can be
 * loaded in the same process as the real store's catalog without a duplicate-code clash.
 */
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../../api/types.js';
import { MeshboxError } from '../../core/errors.js';
import type { DeleteOptions, ListOptions, ListResult, Store, WatchEvent, WatchOptions } from '../../store/types.js';

interface Watcher {
  resource: string;
  opts: WatchOptions;
  onEvent: (e: WatchEvent) => void;
}

const clone = <T>(v: T): T => structuredClone(v);

export class MemoryStore implements Store {
  #rv = 0;
  #objects = new Map<string, Map<string, KubeObject>>();
  #log: WatchEvent[] = [];
  readonly #watchers = new Set<Watcher>();
  #txDepth = 0;
  #pending: WatchEvent[] = [];
  #closed = false;

  create(resource: string, obj: KubeObject): KubeObject {
    this.#assertOpen();
    const next = clone(obj);
    const meta = next.metadata;
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomUUID().slice(0, 5);
    const key = storeKey(meta.namespace, meta.name);
    const table = this.#table(resource);
    if (table.has(key)) {
      throw new MeshboxError('MBX_STORE_ALREADY_EXISTS', `${resource} ${key} already exists`, { httpStatus: 409 });
    }
    meta.uid = randomUUID();
    meta.generation = 1;
    meta.creationTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    delete meta.deletionTimestamp;
    meta.resourceVersion = this.#nextRv();
    table.set(key, next);
    this.#emit({ type: 'ADDED', resource, object: next });
    return clone(next);
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.#table(resource).get(storeKey(namespace, name));
    return obj && clone(obj);
  }

  list(resource: string, opts: ListOptions = {}): ListResult {
    const items = [...this.#table(resource).values()].filter((o) => matches(o, opts)).map(clone);
    return { items, resourceVersion: String(this.#rv) };
  }

  update(resource: string, obj: KubeObject): KubeObject {
    return this.#write(resource, obj, false);
  }

  updateStatus(resource: string, obj: KubeObject): KubeObject {
    return this.#write(resource, obj, true);
  }

  delete(resource: string, namespace: string | undefined, name: string, opts: DeleteOptions = {}): KubeObject | undefined {
    this.#assertOpen();
    const key = storeKey(namespace, name);
    const table = this.#table(resource);
    const current = table.get(key);
    if (!current) return undefined;
    if (opts.uid !== undefined && opts.uid !== current.metadata.uid) {
      throw new MeshboxError('MBX_STORE_CONFLICT', `${resource} ${key}: uid precondition failed`, { httpStatus: 409 });
    }
    if (current.metadata.finalizers?.length) {
      if (current.metadata.deletionTimestamp) return clone(current);
      const next = clone(current);
      next.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      next.metadata.resourceVersion = this.#nextRv();
      table.set(key, next);
      this.#emit({ type: 'MODIFIED', resource, object: next });
      return clone(next);
    }
    table.delete(key);
    const gone = clone(current);
    gone.metadata.resourceVersion = this.#nextRv();
    this.#emit({ type: 'DELETED', resource, object: gone });
    return clone(gone);
  }

  transaction<T>(fn: () => T): T {
    const snapshot = { rv: this.#rv, objects: clone(this.#objects), log: this.#log.length };
    this.#txDepth++;
    try {
      const result = fn();
      this.#txDepth--;
      if (this.#txDepth === 0) this.#flush();
      return result;
    } catch (err) {
      this.#txDepth--;
      this.#rv = snapshot.rv;
      this.#objects = snapshot.objects;
      this.#log.length = snapshot.log;
      if (this.#txDepth === 0) this.#pending = [];
      throw err;
    }
  }

  watch(resource: string, opts: WatchOptions, onEvent: (e: WatchEvent) => void): () => void {
    this.#assertOpen();
    const watcher: Watcher = { resource, opts, onEvent };
    if (opts.resourceVersion !== undefined) {
      const after = Number(opts.resourceVersion);
      for (const e of this.#log) {
        if (e.resource === resource && Number(e.object.metadata.resourceVersion) > after && matches(e.object, opts)) {
          onEvent({ ...e, object: clone(e.object) });
        }
      }
    }
    this.#watchers.add(watcher);
    return () => void this.#watchers.delete(watcher);
  }

  currentResourceVersion(): string {
    return String(this.#rv);
  }

  close(): void {
    this.#closed = true;
    this.#watchers.clear();
  }

  #write(resource: string, obj: KubeObject, status: boolean): KubeObject {
    this.#assertOpen();
    const key = storeKey(obj.metadata.namespace, obj.metadata.name);
    const table = this.#table(resource);
    const current = table.get(key);
    if (!current) {
      throw new MeshboxError('MBX_STORE_NOT_FOUND', `${resource} ${key} not found`, { httpStatus: 404 });
    }
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== current.metadata.resourceVersion) {
      throw new MeshboxError(
        'MBX_STORE_CONFLICT',
        `${resource} ${key}: resourceVersion ${rv} is not current (${current.metadata.resourceVersion}); get the object again and retry`,
        { httpStatus: 409, retryable: true },
      );
    }
    let next: KubeObject;
    if (status) {
      next = clone(current);
      next.status = clone(obj.status);
    } else {
      next = clone(obj);
      next.status = clone(current.status);
      if (next.status === undefined) delete next.status;
      const m = next.metadata;
      m.uid = current.metadata.uid;
      m.creationTimestamp = current.metadata.creationTimestamp;
      m.deletionTimestamp = current.metadata.deletionTimestamp;
      if (m.deletionTimestamp === undefined) delete m.deletionTimestamp;
      m.generation = (current.metadata.generation ?? 1) + (dataOf(current) === dataOf(next) ? 0 : 1);
    }
    next.metadata.resourceVersion = this.#nextRv();
    if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) {
      table.delete(key);
      this.#emit({ type: 'DELETED', resource, object: next });
      return clone(next);
    }
    table.set(key, next);
    this.#emit({ type: 'MODIFIED', resource, object: next });
    return clone(next);
  }

  #table(resource: string): Map<string, KubeObject> {
    let t = this.#objects.get(resource);
    if (!t) this.#objects.set(resource, (t = new Map()));
    return t;
  }

  #nextRv(): string {
    return String(++this.#rv);
  }

  #emit(e: WatchEvent): void {
    const stored = { ...e, object: clone(e.object) };
    this.#log.push(stored);
    if (this.#txDepth > 0) this.#pending.push(stored);
    else this.#deliver(stored);
  }

  #flush(): void {
    const pending = this.#pending;
    this.#pending = [];
    for (const e of pending) this.#deliver(e);
  }

  #deliver(e: WatchEvent): void {
    for (const w of [...this.#watchers]) {
      if (w.resource === e.resource && matches(e.object, w.opts)) w.onEvent({ ...e, object: clone(e.object) });
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new MeshboxError('MBX_STORE_CLOSED', 'the store is closed; open it again');
  }
}

function storeKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** spec, or for kinds without spec every field but the bookkeeping ones. */
function dataOf(obj: KubeObject): string {
  if (obj.spec !== undefined) return JSON.stringify(obj.spec);
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return JSON.stringify(rest);
}

function matches(obj: KubeObject, opts: ListOptions): boolean {
  if (opts.namespace !== undefined && obj.metadata.namespace !== opts.namespace) return false;
  if (opts.labelSelector && !matchLabels(obj.metadata.labels ?? {}, opts.labelSelector)) return false;
  if (opts.fieldSelector) {
    for (const term of opts.fieldSelector.split(',')) {
      const m = /^([\w.]+)(!=|==|=)(.*)$/.exec(term.trim());
      if (!m) continue;
      const [, field, op, want] = m;
      const have = field === 'metadata.name' ? obj.metadata.name : field === 'metadata.namespace' ? obj.metadata.namespace : undefined;
      if ((op === '!=') === (have === want)) return false;
    }
  }
  return true;
}

/** Equality, set and existence selectors, enough for tests. */
function matchLabels(labels: Record<string, string>, selector: string): boolean {
  const terms = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  for (const raw of terms) {
    const term = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term))) {
      const values = (m[3] ?? '').split(',').map((v) => v.trim());
      const has = values.includes(labels[m[1] ?? ''] ?? '\0');
      if ((m[2] === 'in') !== has) return false;
    } else if ((m = /^([\w./-]+)\s*(!=|==|=)\s*(.*)$/.exec(term))) {
      const eq = labels[m[1] ?? ''] === m[3];
      if ((m[2] === '!=') === eq) return false;
    } else if ((m = /^!([\w./-]+)$/.exec(term))) {
      if (m[1] as string in labels) return false;
    } else if (!((term) in labels)) return false;
  }
  return true;
}
