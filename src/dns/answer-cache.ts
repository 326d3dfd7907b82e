/**
 * A small positive cache for forwarded answers. Entries live for the smallest TTL of their answer
 * records (capped), and are served with TTLs counted down, as a caching resolver must. Negative and
 * failed answers are not cached: upstream trouble should clear as soon as upstream recovers.
 */
import type { Answer } from 'dns-packet';
import type { Clock } from '../core/clock.js';

export interface CachedAnswer {
  /** header flags of the upstream answer without id/QR/opcode/rcode (AA, AD, ...) */
  flags: number;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

interface Entry extends CachedAnswer {
  storedAt: number;
  expiresAt: number;
}

export interface AnswerCacheOptions {
  clock: Clock;
  /** most entries kept; the least recently used goes first */
  maxEntries?: number;
  /** longest time an answer is kept, whatever its TTL says (seconds) */
  maxTtl?: number;
}

export class AnswerCache {
  #clock: Clock;
  #maxEntries: number;
  #maxTtl: number;
  // Map iteration order doubles as the LRU order: a hit re-inserts the key at the end.
  #entries = new Map<string, Entry>();

  constructor(options: AnswerCacheOptions) {
    this.#clock = options.clock;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#maxTtl = options.maxTtl ?? 3600;
  }

  static key(name: string, type: string, klass: string, dnssecOk: boolean): string {
    return `${name.toLowerCase().replace(/\.$/, '')}|${type}|${klass}|${dnssecOk ? 1 : 0}`;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Stores a positive answer; ignores answers with no records or a zero TTL. */
  put(key: string, value: CachedAnswer): void {
    if (this.#maxEntries <= 0 || value.answers.length === 0) return;
    let ttl = this.#maxTtl;
    for (const r of [...value.answers, ...value.authorities]) {
      if (r.type === 'OPT') continue;
      ttl = Math.min(ttl, (r as { ttl?: number }).ttl ?? 0);
    }
    if (ttl <= 0) return;
    const now = this.#clock.monotonic();
    this.#entries.delete(key);
    this.#entries.set(key, { ...value, storedAt: now, expiresAt: now + ttl * 1000 });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  /** The cached answer with TTLs reduced by the time spent in the cache, or undefined. */
  get(key: string): CachedAnswer | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    const now = this.#clock.monotonic();
    if (now >= e.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, e);
    const elapsed = Math.floor((now - e.storedAt) / 1000);
    const age = (list: Answer[]) =>
      list.map((r) => (r.type === 'OPT' ? r : { ...r, ttl: Math.max(0, ((r as { ttl?: number }).ttl ?? 0) - elapsed) }));
    return { flags: e.flags, answers: age(e.answers), authorities: age(e.authorities), additionals: age(e.additionals) };
  }

  clear(): void {
    this.#entries.clear();
  }
}
