/**
 * Maglev (Eisenbud et al., NSDI '16), as Envoy's MAGLEV with weights: a lookup table of prime size
 * M (default 65537) that endpoints fill in turns along their own permutation
 * (offset + j × skip) mod M; heavier endpoints take turns more often. A key maps to table[h mod M],
 * so a pick is one hash and one array read. Removing one of N endpoints moves about 1/N of keys
 * (plus a small extra that Maglev trades for even spread).
 *
 * Ejected or excluded owners are skipped by probing the table along a second, key-derived stride:
 * keys of healthy endpoints never move, keys of the skipped one spread over the rest, and the table
 * is not rebuilt when health changes.
 */
import type { EndpointState } from '../endpoint-state.js';
import { BalancerSettingsInvalid } from '../errors.js';
import { murmur3 } from '../hash.js';
import { BaseBalancer, isEligible, type BalancerOptions } from '../load-balancer.js';

export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;
const MAX_PROBES = 64;
const NONE = 0xffffffff;

export interface MaglevOptions extends BalancerOptions {
  tableSize?: number;
}

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

export class MaglevBalancer extends BaseBalancer {
  readonly kind = 'maglev' as const;
  readonly #table: Uint32Array;

  constructor(endpoints: readonly EndpointState[], options: MaglevOptions = {}) {
    super(endpoints, options);
    const size = options.tableSize ?? DEFAULT_MAGLEV_TABLE_SIZE;
    if (!isPrime(size)) throw BalancerSettingsInvalid(`maglev.tableSize ${size} is not a prime number`);
    this.#table = new Uint32Array(size).fill(NONE);
    this.#populate(size);
  }

  get tableSize(): number {
    return this.#table.length;
  }

  #populate(m: number): void {
    const live = this.endpoints.map((ep, i) => ({ ep, i })).filter(({ ep }) => ep.weight > 0);
    if (live.length === 0) return;
    const maxWeight = Math.max(...live.map(({ ep }) => ep.weight));
    const offsets = live.map(({ ep }) => murmur3(ep.key, 0x9747b28c) % m);
    const skips = live.map(({ ep }) => (murmur3(ep.key, 0x5bd1e995) % (m - 1)) + 1);
    const next = new Array<number>(live.length).fill(0);
    const target = new Array<number>(live.length).fill(0);
    const table = this.#table;
    let filled = 0;
    for (let iteration = 1; filled < m; iteration++) {
      for (let k = 0; k < live.length && filled < m; k++) {
        const weight = (live[k] as { ep: EndpointState }).ep.weight;
        // Weighted turns (Envoy's weighted Maglev): an endpoint fills an entry only once its
        // running share iteration × weight has caught up with what it already took.
        if (iteration * weight < (target[k] as number)) continue;
        target[k] = (target[k] as number) + maxWeight;
        let c: number;
        do {
          c = ((offsets[k] as number) + (next[k] as number) * (skips[k] as number)) % m;
          next[k] = (next[k] as number) + 1;
        } while (table[c] !== NONE);
        table[c] = (live[k] as { i: number }).i;
        filled++;
      }
    }
  }

  protected choose(
    hashKey: string | undefined,
    panic: boolean,
    exclude: ReadonlySet<EndpointState> | undefined,
  ): EndpointState | undefined {
    const table = this.#table;
    const m = table.length;
    const eps = this.endpoints;
    const h = hashKey === undefined ? Math.floor(this.random() * 4294967296) : murmur3(hashKey);
    const first = table[h % m] as number;
    if (first === NONE) return undefined;
    const ep = eps[first] as EndpointState;
    if (isEligible(ep, panic, exclude)) return ep;
    const stride = (hashKey === undefined ? h >>> 7 : murmur3(hashKey, 0x2545f491)) % (m - 1) + 1;
    for (let i = 1; i <= MAX_PROBES; i++) {
      const cand = eps[table[(h + i * stride) % m] as number] as EndpointState;
      if (isEligible(cand, panic, exclude)) return cand;
    }
    // Nearly everything is ineligible: a deterministic scan from the key's position.
    for (let i = 0; i < eps.length; i++) {
      const cand = eps[(h + i) % eps.length] as EndpointState;
      if (isEligible(cand, panic, exclude)) return cand;
    }
    return undefined;
  }
}
