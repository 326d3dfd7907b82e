/**
 * A controller runs one level-triggered reconciler (controller-runtime's pkg/internal/controller):
 *
 *   informer events ──map to root keys──► WorkQueue ──► N workers ──► reconciler.reconcile(key)
 *
 * The reconciler gets only the key ("namespace/name", or "name" for cluster-scoped roots), never
 * the event: it reads desired and observed state and converges. Outcomes:
 *   - resolves (void or {}): success, the key's back-off is forgotten;
 *   - resolves {requeueAfter: ms}: forgotten, then added again after ms (polling);
 *   - resolves {requeue: true}: added again with back-off;
 *   - throws: logged, counted, added again with per-key exponential back-off;
 *   - throws terminal(err): logged and counted, not retried until the next event for the key.
 */
import type { KubeObject } from '../api/types.js';
import { resourceByKind } from '../api/resources.js';
import { systemClock, type Clock } from '../core/clock.js';
import { describeError, MeshboxError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { CacheSyncTimeout, ControllerAlreadyStarted, TerminalReconcileError } from './errors.js';
import { objectKey, type Informer } from './informer.js';
import { WorkQueue, type WorkQueueOptions } from './workqueue.js';

export interface ReconcileContext {
  /** a child logger carrying the controller name and the key */
  log: Logger;
  /** aborted when the controller stops: long reconciles should give up early */
  signal: AbortSignal;
}

export type ReconcileResult = { requeueAfter?: number; requeue?: boolean } | void;

export interface Reconciler {
  reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult>;
}

export type MapFn = (obj: KubeObject) => readonly string[];

export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  /** parallel workers; one key still never runs on two at once (default 1) */
  workers?: number;
  clock?: Clock;
  log?: Logger;
  /** back-off of failed keys (default 5 ms doubling to 1000 s) */
  backoff?: Pick<WorkQueueOptions, 'baseDelayMs' | 'maxDelayMs'>;
  /** start() fails if the caches have not synced by then (default 60 s) */
  cacheSyncTimeoutMs?: number;
  /**
   * Every this many ms, maps every cached object of every watch again (client-go's resync), a
   * safety net for state outside the store. Off by default; prefer requeueAfter for polling.
   */
  resyncEveryMs?: number;
}

export interface ControllerMetrics {
  reconcilesTotal: number;
  /** by outcome, as controller-runtime's controller_runtime_reconcile_total{result} */
  successTotal: number;
  errorsTotal: number;
  terminalErrorsTotal: number;
  requeueTotal: number;
  requeueAfterTotal: number;
  /** sum of reconcile durations, ms (with reconcilesTotal gives the mean) */
  reconcileTimeMsTotal: number;
  activeWorkers: number;
  queueDepth: number;
  queueRetriesTotal: number;
}

/** Marks an error as terminal: the controller logs and counts it but does not retry the key. */
export function terminal(err: unknown): MeshboxError {
  if (TerminalReconcileError.is(err)) return err as MeshboxError;
  return TerminalReconcileError(describeError(err), { cause: err });
}

export function isTerminal(err: unknown): boolean {
  return TerminalReconcileError.is(err);
}

/** Maps an owned object to the key of its controlling owner of `ownerKind` (ownerReferences[controller=true]). */
export function controllerOwnerKey(obj: KubeObject, ownerKind: string, ownerApiVersion?: string): string | undefined {
  const ref = obj.metadata.ownerReferences?.find(
    (r) => r.controller === true && r.kind === ownerKind && (ownerApiVersion === undefined || r.apiVersion === ownerApiVersion),
  );
  if (!ref) return undefined;
  // A cluster-scoped owner has a bare-name key even when its dependents are namespaced.
  const namespaced = resourceByKind(ownerKind)?.namespaced ?? true;
  return namespaced && obj.metadata.namespace ? `${obj.metadata.namespace}/${ref.name}` : ref.name;
}

export class Controller {
  readonly name: string;
  readonly #reconciler: Reconciler;
  readonly #workers: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #queueOptions: WorkQueueOptions;
  readonly #syncTimeoutMs: number;
  readonly #resyncEveryMs: number | undefined;
  #resyncTimer: { cancel(): void } | undefined;
  #abort = new AbortController();
  readonly #watches: { informer: Informer<KubeObject>; map: MapFn }[] = [];
  #queue: WorkQueue<string>;
  #removers: (() => void)[] = [];
  #loops: Promise<void>[] = [];
  #started = false;
  #metrics = {
    reconcilesTotal: 0,
    successTotal: 0,
    errorsTotal: 0,
    terminalErrorsTotal: 0,
    requeueTotal: 0,
    requeueAfterTotal: 0,
    reconcileTimeMsTotal: 0,
    activeWorkers: 0,
  };

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.#reconciler = options.reconciler;
    this.#workers = Math.max(1, options.workers ?? 1);
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.log ?? silentLogger).child({ controller: options.name });
    this.#queueOptions = { clock: this.#clock, ...options.backoff };
    this.#syncTimeoutMs = options.cacheSyncTimeoutMs ?? 60_000;
    this.#resyncEveryMs = options.resyncEveryMs;
    this.#queue = new WorkQueue(this.#queueOptions);
  }

  /** The root type: each object maps to its own key. */
  for(informer: Informer<KubeObject>): this {
    return this.watches(informer, (obj) => [objectKey(obj)]);
  }

  /** Any object of `informer` maps to the root keys `map` returns (on add, update and delete). */
  watches(informer: Informer<KubeObject>, map: MapFn): this {
    if (this.#started) throw ControllerAlreadyStarted(this.name, 'watches()');
    this.#watches.push({ informer, map });
    return this;
  }

  /** Objects of `informer` map to their controlling owner of kind `ownerKind`. */
  owns(informer: Informer<KubeObject>, ownerKind: string, ownerApiVersion?: string): this {
    return this.watches(informer, (obj) => {
      const key = controllerOwnerKey(obj, ownerKind, ownerApiVersion);
      return key ? [key] : [];
    });
  }

  /** Queues a key by hand (e.g. from a runtime event outside the store). */
  enqueue(key: string): void {
    this.#queue.add(key);
  }

  enqueueAfter(key: string, ms: number): void {
    this.#queue.addAfter(key, ms);
  }

  /**
   * Starts the informers (idempotent; shared ones may be started already), waits until all have
   * synced, then starts the workers. Every cached object is mapped once, so state created while the
   * controller was stopped is reconciled now.
   */
  async start(): Promise<void> {
    if (this.#started) throw ControllerAlreadyStarted(this.name, 'start()');
    this.#started = true;
    if (this.#queue.shuttingDown) this.#queue = new WorkQueue(this.#queueOptions);
    if (this.#abort.signal.aborted) this.#abort = new AbortController();
    for (const { informer, map } of this.#watches) {
      const enqueue = (obj: KubeObject): void => {
        for (const key of safeMap(map, obj, this.#log)) this.#queue.add(key);
      };
      this.#removers.push(
        informer.addEventHandler({
          onAdd: enqueue,
          // Both: an owner reference or label may have moved the object from one root to another.
          onUpdate: (oldObj, newObj) => {
            enqueue(oldObj);
            enqueue(newObj);
          },
          onDelete: enqueue,
        }),
      );
      informer.start();
    }
    await this.#waitForSync();
    this.#log.info({ workers: this.#workers }, 'caches synced, starting workers');
    for (let i = 0; i < this.#workers; i++) this.#loops.push(this.#worker());
    this.#scheduleResync();
  }

  /** Stops taking keys, lets running reconciles finish, and resolves when they have. */
  async stop(): Promise<void> {
    if (!this.#started) return;
    for (const remove of this.#removers) remove();
    this.#removers = [];
    this.#resyncTimer?.cancel();
    this.#resyncTimer = undefined;
    const drained = this.#queue.shutDownWithDrain();
    this.#abort.abort();
    await drained;
    await Promise.all(this.#loops);
    this.#loops = [];
    this.#started = false;
  }

  get started(): boolean {
    return this.#started;
  }

  metrics(): ControllerMetrics {
    const q = this.#queue.metrics();
    return { ...this.#metrics, queueDepth: q.depth, queueRetriesTotal: q.retriesTotal };
  }

  #scheduleResync(): void {
    const every = this.#resyncEveryMs;
    if (!every || every <= 0) return;
    this.#resyncTimer = this.#clock.setTimeout(() => {
      if (!this.#started || this.#queue.shuttingDown) return;
      for (const { informer, map } of this.#watches) {
        for (const obj of informer.list()) for (const key of safeMap(map, obj, this.#log)) this.#queue.add(key);
      }
      this.#scheduleResync();
    }, every);
  }

  async #waitForSync(): Promise<void> {
    const pending = this.#watches.map((w) => w.informer).filter((i) => !i.hasSynced());
    if (pending.length === 0) return;
    let timer: { cancel(): void } | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.#clock.setTimeout(() => {
        const names = [...new Set(pending.filter((i) => !i.hasSynced()).map((i) => i.resource))].join(', ');
        reject(CacheSyncTimeout(this.name, names, this.#syncTimeoutMs));
      }, this.#syncTimeoutMs);
    });
    try {
      await Promise.race([Promise.all(pending.map((i) => i.waitForSync())), timeout]);
    } catch (err) {
      this.#started = false;
      for (const remove of this.#removers) remove();
      this.#removers = [];
      throw err;
    } finally {
      timer?.cancel();
    }
  }

  async #worker(): Promise<void> {
    for (;;) {
      const key = await this.#queue.get();
      if (key === undefined) return;
      this.#metrics.activeWorkers++;
      try {
        await this.#reconcileOne(key);
      } finally {
        this.#metrics.activeWorkers--;
        this.#queue.done(key);
      }
    }
  }

  async #reconcileOne(key: string): Promise<void> {
    const log = this.#log.child({ key });
    const started = this.#clock.monotonic();
    this.#metrics.reconcilesTotal++;
    try {
      const result = await this.#reconciler.reconcile(key, { log, signal: this.#abort.signal });
      if (result && result.requeueAfter !== undefined && result.requeueAfter > 0) {
        this.#metrics.requeueAfterTotal++;
        this.#queue.forget(key);
        this.#queue.addAfter(key, result.requeueAfter);
      } else if (result?.requeue) {
        this.#metrics.requeueTotal++;
        this.#queue.addRateLimited(key);
      } else {
        this.#metrics.successTotal++;
        this.#queue.forget(key);
      }
    } catch (err) {
      if (this.#abort.signal.aborted) {
        // stop() asked the reconcile to give up; the next start finds the key again.
        log.debug({ err: describeError(err) }, 'reconcile ended by stop()');
      } else if (isTerminal(err)) {
        this.#metrics.terminalErrorsTotal++;
        this.#queue.forget(key);
        log.error({ err: describeError(err), code: codeOf(err) }, 'reconcile failed with a terminal error; not retrying');
      } else {
        this.#metrics.errorsTotal++;
        const retries = this.#queue.numRequeues(key);
        this.#queue.addRateLimited(key);
        log.warn({ err: describeError(err), code: codeOf(err), retries }, 'reconcile failed; retrying with back-off');
      }
    } finally {
      this.#metrics.reconcileTimeMsTotal += this.#clock.monotonic() - started;
    }
  }
}

function safeMap(map: MapFn, obj: KubeObject, log: Logger): readonly string[] {
  try {
    return map(obj);
  } catch (err) {
    log.error({ err: describeError(err), object: objectKey(obj) }, 'watch map function failed');
    return [];
  }
}

/** The code worth logging: for a terminal wrapper, the code of what it wraps. */
function codeOf(err: unknown): string | undefined {
  if (!(err instanceof MeshboxError)) return undefined;
  if (err.code === TerminalReconcileError.code) return codeOf(err.cause) ?? err.code;
  return err.code;
}
