/**
 * The durable object store (see types.ts for the contract) on SQLite via better-sqlite3.
 *
 * Durability: WAL with synchronous=FULL, so a call that returned survives SIGKILL and power loss.
 * Every change gets the next value of one global counter as resourceVersion and a row in a bounded
 * change log, which lets watchers resume from a resourceVersion. Events are buffered while a
 * transaction runs and dispatched, in resourceVersion order, after the outermost commit.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../api/types.js';
import { RESOURCES, resourceKey } from '../api/resources.js';
import { systemClock, rfc3339, type Clock } from '../core/clock.js';
import { newUid, randomSuffix } from '../core/ids.js';
import type {
  DeleteOptions,
  ListOptions,
  ListResult,
  Store,
  WatchEvent,
  WatchEventType,
  WatchOptions,
} from './types.js';
import { AlreadyExists, Conflict, Expired, Invalid, NotFound } from './errors.js';
import { parseLabelSelector, type Selector } from '../api/label-selector.js';
import { matchesFieldSelector, parseFieldSelector, type FieldRequirement } from './field-selector.js';
import { clone, deepEqual, desiredState } from './object-util.js';

export interface SqliteStoreOptions {
  /** the database lives at `<stateDir>/meshbox.db` */
  stateDir: string;
  clock?: Clock;
  /** how many changes the watch log keeps (default 10,000) */
  changeLogSize?: number;
  /** called when a watch callback throws; the store carries on with the other watchers */
  onWatcherError?: (err: unknown, event: WatchEvent) => void;
}

/** Watch on every resource type (e.g. for the namespace cascade or the control plane). */
export const ALL_RESOURCES = '*';

const CLUSTER_SCOPED = new Set(RESOURCES.filter((r) => !r.namespaced).map(resourceKey));
const KNOWN = new Set(RESOURCES.map(resourceKey));

interface Pending {
  event: WatchEvent;
  rv: number;
  /** the object before the change, to emit selector transitions as ADDED/DELETED */
  previous: KubeObject | undefined;
}

interface Watcher {
  resource: string;
  namespace: string | undefined;
  labels: Selector | undefined;
  fields: FieldRequirement[];
  onEvent: (e: WatchEvent) => void;
  /** events at or below this rv were already delivered (by replay) */
  lastRv: number;
  stopped: boolean;
}

interface Row {
  json: string;
}

export class SqliteStore implements Store {
  readonly path: string;
  #db: Database.Database;
  #clock: Clock;
  #logSize: number;
  #onWatcherError: (err: unknown, event: WatchEvent) => void;
  #rv: number;
  #compactedRv: number;
  #depth = 0;
  #pending: Pending[] = [];
  #queue: Pending[] = [];
  #dispatching = false;
  #watchers = new Set<Watcher>();
  #stmt: {
    get: Database.Statement<[string, string, string], Row>;
    listAll: Database.Statement<[string], Row>;
    listNs: Database.Statement<[string, string], Row>;
    insert: Database.Statement<[string, string, string, string, number, string]>;
    update: Database.Statement<[string, number, string, string, string, string]>;
    remove: Database.Statement<[string, string, string]>;
    change: Database.Statement<[number, string, string, string, string]>;
    setMeta: Database.Statement<[string, string]>;
    replay: Database.Statement<[number], { rv: number; resource: string; type: string; json: string }>;
    compact: Database.Statement<[number]>;
  };

  constructor(opts: SqliteStoreOptions) {
    mkdirSync(opts.stateDir, { recursive: true });
    this.path = join(opts.stateDir, 'meshbox.db');
    this.#clock = opts.clock ?? systemClock;
    this.#logSize = Math.max(1, opts.changeLogSize ?? 10_000);
    this.#onWatcherError =
      opts.onWatcherError ??
      ((err) => process.emitWarning(`meshbox store: watch callback failed: ${(err as Error)?.stack ?? String(err)}`));
    const db = new Database(this.path);
    this.#db = db;
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(`
      CREATE TABLE IF NOT EXISTS objects (
        resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
        uid TEXT NOT NULL, rv INTEGER NOT NULL, json TEXT NOT NULL,
        PRIMARY KEY (resource, namespace, name)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS changes (
        rv INTEGER PRIMARY KEY, resource TEXT NOT NULL, namespace TEXT NOT NULL, type TEXT NOT NULL, json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    const meta = (key: string): number => {
      const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
      return row ? Number(row.value) : 0;
    };
    const maxObj = (db.prepare('SELECT MAX(rv) AS m FROM objects').get() as { m: number | null }).m ?? 0;
    const maxLog = (db.prepare('SELECT MAX(rv) AS m FROM changes').get() as { m: number | null }).m ?? 0;
    // the counter never goes back, even if meta were lost: take the highest rv anywhere
    this.#rv = Math.max(meta('rv'), maxObj, maxLog);
    this.#compactedRv = meta('compactedRv');
    this.#stmt = {
      get: db.prepare('SELECT json FROM objects WHERE resource = ? AND namespace = ? AND name = ?'),
      listAll: db.prepare('SELECT json FROM objects WHERE resource = ? ORDER BY namespace, name'),
      listNs: db.prepare('SELECT json FROM objects WHERE resource = ? AND namespace = ? ORDER BY name'),
      insert: db.prepare('INSERT INTO objects (resource, namespace, name, uid, rv, json) VALUES (?, ?, ?, ?, ?, ?)'),
      update: db.prepare('UPDATE objects SET json = ?, rv = ?, uid = ? WHERE resource = ? AND namespace = ? AND name = ?'),
      remove: db.prepare('DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?'),
      change: db.prepare('INSERT INTO changes (rv, resource, namespace, type, json) VALUES (?, ?, ?, ?, ?)'),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      replay: db.prepare('SELECT rv, resource, type, json FROM changes WHERE rv > ? ORDER BY rv'),
      compact: db.prepare('DELETE FROM changes WHERE rv <= ?'),
    };
  }

  // === reads ===

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const row = this.#stmt.get.get(resource, this.#ns(resource, namespace), name);
    return row ? (JSON.parse(row.json) as KubeObject) : undefined;
  }

  list(resource: string, opts: ListOptions = {}): ListResult {
    const labels = opts.labelSelector ? parseLabelSelector(opts.labelSelector) : undefined;
    const fields = opts.fieldSelector ? parseFieldSelector(opts.fieldSelector) : [];
    const rows =
      opts.namespace !== undefined && !CLUSTER_SCOPED.has(resource)
        ? this.#stmt.listNs.all(resource, opts.namespace)
        : this.#stmt.listAll.all(resource);
    const items: KubeObject[] = [];
    for (const row of rows) {
      const obj = JSON.parse(row.json) as KubeObject;
      if (labels && !labels.matches(obj.metadata.labels)) continue;
      if (fields.length > 0 && !matchesFieldSelector(fields, obj)) continue;
      items.push(obj);
    }
    return { items, resourceVersion: String(this.#rv) };
  }

  currentResourceVersion(): string {
    return String(this.#rv);
  }

  // === writes ===

  create(resource: string, input: KubeObject): KubeObject {
    return this.transaction(() => {
      const obj = clone(input);
      if (!obj.metadata || typeof obj.metadata !== 'object') throw Invalid(`${resource}: metadata is required`);
      const meta = obj.metadata;
      const namespace = this.#ns(resource, meta.namespace);
      if (namespace) meta.namespace = namespace;
      else delete meta.namespace;
      if (!meta.name) {
        if (!meta.generateName) throw Invalid(`${resource}: metadata.name or metadata.generateName is required`);
        for (let i = 0; ; i++) {
          const candidate = meta.generateName + randomSuffix(5);
          if (!this.#stmt.get.get(resource, namespace, candidate)) {
            meta.name = candidate;
            break;
          }
          if (i > 20) throw AlreadyExists(resource, namespace, `${meta.generateName}*`);
        }
      }
      if (this.#stmt.get.get(resource, namespace, meta.name)) throw AlreadyExists(resource, namespace || undefined, meta.name);
      const rv = this.#nextRv();
      meta.uid = newUid();
      meta.resourceVersion = String(rv);
      meta.generation = 1;
      meta.creationTimestamp = rfc3339(this.#clock.now());
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
      this.#stmt.insert.run(resource, namespace, meta.name, meta.uid, rv, JSON.stringify(obj));
      this.#record(resource, namespace, 'ADDED', obj, rv, undefined);
      return obj;
    });
  }

  update(resource: string, input: KubeObject): KubeObject {
    return this.transaction(() => {
      const { existing, namespace } = this.#current(resource, input);
      const next = clone(input);
      if (existing.status === undefined) delete next.status;
      else next.status = existing.status;
      const em = existing.metadata;
      next.metadata = {
        ...next.metadata,
        name: em.name,
        uid: em.uid!,
        creationTimestamp: em.creationTimestamp!,
        generation: em.generation ?? 1,
        resourceVersion: em.resourceVersion!,
      };
      if (namespace) next.metadata.namespace = namespace;
      else delete next.metadata.namespace;
      // deletion is one-way: only the store sets or clears these
      if (em.deletionTimestamp) next.metadata.deletionTimestamp = em.deletionTimestamp;
      else delete next.metadata.deletionTimestamp;
      if (em.deletionGracePeriodSeconds !== undefined) next.metadata.deletionGracePeriodSeconds = em.deletionGracePeriodSeconds;
      else delete next.metadata.deletionGracePeriodSeconds;
      if (next.metadata.finalizers?.length === 0) delete next.metadata.finalizers;
      if (!deepEqual(desiredState(next), desiredState(existing))) next.metadata.generation = (em.generation ?? 1) + 1;
      const finishing = !!em.deletionTimestamp && !next.metadata.finalizers?.length;
      if (!finishing && deepEqual(next, existing)) return existing; // no-op writes bump nothing
      const rv = this.#nextRv();
      next.metadata.resourceVersion = String(rv);
      if (finishing) {
        this.#stmt.remove.run(resource, namespace, em.name);
        this.#record(resource, namespace, 'DELETED', next, rv, existing);
      } else {
        this.#stmt.update.run(JSON.stringify(next), rv, em.uid!, resource, namespace, em.name);
        this.#record(resource, namespace, 'MODIFIED', next, rv, existing);
      }
      return next;
    });
  }

  updateStatus(resource: string, input: KubeObject): KubeObject {
    return this.transaction(() => {
      const { existing, namespace } = this.#current(resource, input);
      const next = clone(existing);
      if (input.status === undefined) delete next.status;
      else next.status = clone(input.status);
      if (deepEqual(next, existing)) return existing;
      const rv = this.#nextRv();
      next.metadata.resourceVersion = String(rv);
      this.#stmt.update.run(JSON.stringify(next), rv, existing.metadata.uid!, resource, namespace, existing.metadata.name);
      this.#record(resource, namespace, 'MODIFIED', next, rv, existing);
      return next;
    });
  }

  delete(resource: string, namespace: string | undefined, name: string, opts: DeleteOptions = {}): KubeObject | undefined {
    return this.transaction(() => {
      const ns = this.#ns(resource, namespace);
      const row = this.#stmt.get.get(resource, ns, name);
      if (!row) return undefined;
      const existing = JSON.parse(row.json) as KubeObject;
      if (opts.uid !== undefined && opts.uid !== existing.metadata.uid) {
        throw Conflict(resource, name, `the uid precondition ${opts.uid} does not match ${existing.metadata.uid}`);
      }
      const finalizing = !!existing.metadata.finalizers?.length;
      if (finalizing && existing.metadata.deletionTimestamp) return existing; // already being deleted
      const rv = this.#nextRv();
      const next = clone(existing);
      next.metadata.resourceVersion = String(rv);
      if (finalizing) {
        next.metadata.deletionTimestamp = rfc3339(this.#clock.now());
        if (opts.gracePeriodSeconds !== undefined) next.metadata.deletionGracePeriodSeconds = opts.gracePeriodSeconds;
        this.#stmt.update.run(JSON.stringify(next), rv, existing.metadata.uid!, resource, ns, name);
        this.#record(resource, ns, 'MODIFIED', next, rv, existing);
      } else {
        this.#stmt.remove.run(resource, ns, name);
        this.#record(resource, ns, 'DELETED', next, rv, existing);
      }
      return next;
    });
  }

  transaction<T>(fn: () => T): T {
    const outer = this.#depth === 0;
    const mark = this.#pending.length;
    const rvMark = this.#rv;
    this.#depth++;
    let result: T;
    try {
      // better-sqlite3 turns nested transactions into savepoints
      result = this.#db.transaction(() => {
        const r = fn();
        if (outer && this.#rv !== rvMark) this.#beforeCommit();
        return r;
      })();
    } catch (err) {
      this.#pending.length = mark;
      this.#rv = rvMark;
      throw err;
    } finally {
      this.#depth--;
    }
    if (outer) this.#flush();
    return result;
  }

  // === watch ===

  watch(resource: string, opts: WatchOptions, onEvent: (e: WatchEvent) => void): () => void {
    const w: Watcher = {
      resource,
      namespace: opts.namespace,
      labels: opts.labelSelector ? parseLabelSelector(opts.labelSelector) : undefined,
      fields: opts.fieldSelector ? parseFieldSelector(opts.fieldSelector) : [],
      onEvent,
      lastRv: this.#rv,
      stopped: false,
    };
    const from = opts.resourceVersion ? Number(opts.resourceVersion) : 0;
    if (opts.resourceVersion && (!Number.isInteger(from) || from < 0)) {
      throw Invalid(`resourceVersion "${opts.resourceVersion}" is not a number`);
    }
    // "0" and "" mean "from now", as the API server offers a synthetic list for those
    if (from > 0 && from < this.#rv) {
      if (from < this.#compactedRv) throw Expired(String(from), String(this.#compactedRv));
      const events = this.#stmt.replay.all(from);
      w.lastRv = from;
      for (const row of events) {
        if (w.stopped) break;
        if (resource !== ALL_RESOURCES && row.resource !== resource) continue;
        const event: WatchEvent = { type: row.type as WatchEventType, resource: row.resource, object: JSON.parse(row.json) };
        this.#deliver(w, { event, rv: row.rv, previous: undefined });
      }
      w.lastRv = Math.max(w.lastRv, this.#rv);
    }
    this.#watchers.add(w);
    return () => {
      w.stopped = true;
      this.#watchers.delete(w);
    };
  }

  close(): void {
    for (const w of this.#watchers) w.stopped = true;
    this.#watchers.clear();
    if (this.#db.open) this.#db.close();
  }

  // === internals ===

  #ns(resource: string, namespace: string | undefined): string {
    if (CLUSTER_SCOPED.has(resource)) return '';
    if (namespace) return namespace;
    return KNOWN.has(resource) ? 'default' : '';
  }

  #current(resource: string, input: KubeObject): { existing: KubeObject; namespace: string } {
    const name = input.metadata?.name;
    if (!name) throw Invalid(`${resource}: metadata.name is required`);
    const namespace = this.#ns(resource, input.metadata.namespace);
    const row = this.#stmt.get.get(resource, namespace, name);
    if (!row) throw NotFound(resource, namespace || undefined, name);
    const existing = JSON.parse(row.json) as KubeObject;
    const rv = input.metadata.resourceVersion;
    if (rv && rv !== existing.metadata.resourceVersion) {
      throw Conflict(resource, name, `it was changed (your resourceVersion ${rv}, stored ${existing.metadata.resourceVersion})`);
    }
    if (input.metadata.uid && input.metadata.uid !== existing.metadata.uid) {
      throw Conflict(resource, name, `the uid ${input.metadata.uid} does not match ${existing.metadata.uid} (it was deleted and re-created)`);
    }
    return { existing, namespace };
  }

  #nextRv(): number {
    return ++this.#rv;
  }

  #record(resource: string, namespace: string, type: WatchEventType, obj: KubeObject, rv: number, previous: KubeObject | undefined): void {
    this.#stmt.change.run(rv, resource, namespace, type, JSON.stringify(obj));
    this.#pending.push({ event: { type, resource, object: obj }, rv, previous });
  }

  /** runs inside the outermost SQLite transaction, so the counter and the log commit with the data */
  #beforeCommit(): void {
    this.#stmt.setMeta.run('rv', String(this.#rv));
    // compact in batches, not on every write
    if (this.#rv - this.#compactedRv > this.#logSize + Math.ceil(this.#logSize / 10)) {
      this.#compactedRv = this.#rv - this.#logSize;
      this.#stmt.compact.run(this.#compactedRv);
      this.#stmt.setMeta.run('compactedRv', String(this.#compactedRv));
    }
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    this.#queue.push(...this.#pending);
    this.#pending = [];
    // a watcher that writes from its callback must not see its own events before earlier ones
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      for (let p = this.#queue.shift(); p; p = this.#queue.shift()) {
        for (const w of [...this.#watchers]) {
          if (w.stopped || (w.resource !== ALL_RESOURCES && w.resource !== p.event.resource)) continue;
          this.#deliver(w, p);
        }
      }
    } finally {
      this.#dispatching = false;
    }
  }

  #deliver(w: Watcher, p: Pending): void {
    if (p.rv <= w.lastRv) return;
    w.lastRv = p.rv;
    const now = this.#matches(w, p.event.object);
    const before = p.previous !== undefined && this.#matches(w, p.previous);
    let type = p.event.type;
    if (p.previous !== undefined && type !== 'DELETED') {
      if (now && !before) type = 'ADDED';
      else if (!now && before) type = 'DELETED';
      else if (!now) return;
    } else if (!now && !before) return;
    const event = type === p.event.type ? p.event : { ...p.event, type };
    try {
      // each watcher gets its own copy, so one cannot change what another sees
      w.onEvent({ type: event.type, resource: event.resource, object: clone(event.object) });
    } catch (err) {
      this.#onWatcherError(err, event);
    }
  }

  #matches(w: Watcher, obj: KubeObject): boolean {
    if (w.namespace !== undefined && (obj.metadata.namespace ?? '') !== w.namespace) return false;
    if (w.labels && !w.labels.matches(obj.metadata.labels)) return false;
    if (w.fields.length > 0 && !matchesFieldSelector(w.fields, obj)) return false;
    return true;
  }
}
