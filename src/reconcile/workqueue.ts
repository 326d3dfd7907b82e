/**
 * A work queue of keys with client-go's discipline (k8s.io/client-go/util/workqueue):
 *
 * - `add` dedupes: a key that is already waiting is not queued twice.
 * - `get` hands a key to one worker; until that worker calls `done`, the key is "processing" and is
 *   never handed to another worker. A key added while processing is marked dirty and queued again by
 *   `done`, so the change that caused the add is not lost and still runs only once at a time.
 * - `addAfter` delays an add (several delayed adds of one key keep the earliest time).
 * - `addRateLimited` delays by a per-key exponential back-off (5 ms doubling to 1000 s by default,
 *   client-go's `DefaultItemBasedRateLimiter`); `forget` resets it after a success.
 *
 *   add ──► [dirty] ──► queue ──get──► [processing] ──done──► (dirty again? back to queue)
 */
import { systemClock, type Clock } from '../core/clock.js';

export interface WorkQueueOptions {
  clock?: Clock;
  /** first back-off delay of addRateLimited, ms (default 5) */
  baseDelayMs?: number;
  /** cap of the back-off, ms (default 1,000,000 = 1000 s) */
  maxDelayMs?: number;
}

export interface WorkQueueMetrics {
  /** keys waiting to be handed to a worker */
  depth: number;
  /** keys handed out and not done yet */
  processing: number;
  /** keys waiting for an addAfter/addRateLimited timer */
  waiting: number;
  addsTotal: number;
  retriesTotal: number;
}

export const DEFAULT_BASE_DELAY_MS = 5;
export const DEFAULT_MAX_DELAY_MS = 1_000_000;

export class WorkQueue<K extends string = string> {
  readonly #clock: Clock;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;

  // FIFO as array + head index: shift() is O(n) and this queue can hold every object of a kind.
  #queue: K[] = [];
  #head = 0;
  readonly #dirty = new Set<K>();
  readonly #processing = new Set<K>();
  readonly #waiting = new Map<K, { at: number; timer: { cancel(): void } }>();
  readonly #failures = new Map<K, number>();
  #getters: ((key: K | undefined) => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  #shuttingDown = false;
  #addsTotal = 0;
  #retriesTotal = 0;

  constructor(options: WorkQueueOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#baseDelayMs = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.#maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  }

  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#addsTotal++;
    this.#dirty.add(key);
    // While a worker holds the key, it stays only dirty; done() queues it again.
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  /** Adds `key` after `ms`; an earlier pending delayed add of the same key wins. */
  addAfter(key: K, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.#clock.monotonic() + ms;
    const pending = this.#waiting.get(key);
    if (pending) {
      if (pending.at <= at) return;
      pending.timer.cancel();
    }
    const timer = this.#clock.setTimeout(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, ms);
    this.#waiting.set(key, { at, timer });
  }

  /** Adds `key` after its back-off delay; each call without a `forget` in between doubles it. */
  addRateLimited(key: K): void {
    this.#retriesTotal++;
    this.addAfter(key, this.when(key));
  }

  /** The back-off delay for the next retry of `key`, counting this retry. */
  when(key: K): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    // 2**failures overflows to Infinity long after the cap; Math.min keeps it finite.
    return Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** failures);
  }

  /** Resets the back-off of `key` (call after it was processed successfully). */
  forget(key: K): void {
    this.#failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Resolves with the next key, or undefined once the queue is shut down. Call done(key) after. */
  get(): Promise<K | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#pop();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Marks `key` as processed; if it was added meanwhile, it goes back into the queue. */
  done(key: K): void {
    this.#processing.delete(key);
    if (this.#shuttingDown) this.#dirty.delete(key);
    else if (this.#dirty.has(key)) this.#push(key);
    if (this.#processing.size === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Keys waiting for a worker. */
  len(): number {
    return this.#queue.length - this.#head;
  }

  isProcessing(key: K): boolean {
    return this.#processing.has(key);
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Stops the queue: pending and delayed keys are dropped (a level-triggered controller finds them
   * again when it next lists), blocked get() calls resolve with undefined.
   */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const { timer } of this.#waiting.values()) timer.cancel();
    this.#waiting.clear();
    this.#queue = [];
    this.#head = 0;
    for (const key of [...this.#dirty]) if (!this.#processing.has(key)) this.#dirty.delete(key);
    const getters = this.#getters;
    this.#getters = [];
    for (const g of getters) g(undefined);
  }

  /** Shuts down and resolves once every key handed out has been marked done. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  metrics(): WorkQueueMetrics {
    return {
      depth: this.len(),
      processing: this.#processing.size,
      waiting: this.#waiting.size,
      addsTotal: this.#addsTotal,
      retriesTotal: this.#retriesTotal,
    };
  }

  #push(key: K): void {
    const getter = this.#getters.shift();
    if (getter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      getter(key);
      return;
    }
    this.#queue.push(key);
  }

  #pop(): K | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const key = this.#queue[this.#head++] as K;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#dirty.delete(key);
    this.#processing.add(key);
    return key;
  }
}
