/**
 * Ring hash (ketama), as Envoy's RING_HASH: every endpoint gets points on a 32-bit ring in
 * proportion to its weight, at least `minimumRingSize` points in all (default 1024, at most 8M;
 * see the constructor for how the count differs from Envoy's).
 * A key maps to the first point clockwise from its hash. Ejected or excluded endpoints are
 * skipped by walking on clockwise, which is exactly the ring without them: removing one of N
 * endpoints moves only the keys it owned (about 1/N).
 *
 * A request without a hash key gets a random point (Envoy does the same).
 */
import type { EndpointState } from '../endpoint-state.js';
import { murmur3 } from '../hash.js';
import { BaseBalancer, isEligible, type BalancerOptions } from '../load-balancer.js';

export const DEFAULT_MIN_RING_SIZE = 1024;
export const MAX_RING_SIZE = 8 * 1024 * 1024;

export interface RingHashOptions extends BalancerOptions {
  minimumRingSize?: number;
}

export class RingHashBalancer extends BaseBalancer {
  readonly kind = 'ring-hash' as const;
  readonly #points: Uint32Array;
  readonly #owners: Uint32Array;

  constructor(endpoints: readonly EndpointState[], options: RingHashOptions = {}) {
    super(endpoints, options);
    const minSize = Math.min(Math.max(1, options.minimumRingSize ?? DEFAULT_MIN_RING_SIZE), MAX_RING_SIZE);
    const live = endpoints.map((ep, i) => ({ ep, i })).filter(({ ep }) => ep.weight > 0);
    const total = live.reduce((s, { ep }) => s + ep.weight, 0);
    if (live.length === 0 || total <= 0) {
      this.#points = new Uint32Array(0);
      this.#owners = new Uint32Array(0);
      return;
    }
    // Envoy's sizing gives the lightest endpoint its share of minimumRingSize, but then every
    // membership change resizes everyone's point count and moves far more than 1/N of the keys.
    // Rounding the lightest endpoint's count up to a power of two keeps counts stable across most
    // changes (the ring is between 1× and 2× minimumRingSize) so removal moves only owned keys.
    const minWeight = Math.min(...live.map(({ ep }) => ep.weight));
    const wanted = Math.max(1, Math.ceil((minSize * minWeight) / total));
    let perMin = 2 ** Math.ceil(Math.log2(wanted));
    const totalPoints = (perMin * total) / minWeight;
    if (totalPoints > MAX_RING_SIZE) perMin = Math.max(1, Math.floor((perMin * MAX_RING_SIZE) / totalPoints));
    const entries: { hash: number; owner: number }[] = [];
    for (const { ep, i } of live) {
      const count = Math.max(1, Math.round((perMin * ep.weight) / minWeight));
      for (let n = 0; n < count; n++) entries.push({ hash: murmur3(`${ep.key}_${n}`), owner: i });
    }
    // Ties broken by owner index so the ring does not depend on endpoint order in the input.
    entries.sort((x, y) => x.hash - y.hash || x.owner - y.owner);
    this.#points = Uint32Array.from(entries, (e) => e.hash);
    this.#owners = Uint32Array.from(entries, (e) => e.owner);
  }

  get ringSize(): number {
    return this.#points.length;
  }

  protected choose(
    hashKey: string | undefined,
    panic: boolean,
    exclude: ReadonlySet<EndpointState> | undefined,
  ): EndpointState | undefined {
    const points = this.#points;
    const n = points.length;
    if (n === 0) return undefined;
    const h = hashKey === undefined ? Math.floor(this.random() * 4294967296) : murmur3(hashKey);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((points[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    const eps = this.endpoints;
    let last = -1;
    for (let step = 0; step < n; step++) {
      const owner = this.#owners[(lo + step) % n] as number;
      if (owner === last) continue; // runs of one owner's points: test it once
      last = owner;
      const ep = eps[owner] as EndpointState;
      if (isEligible(ep, panic, exclude)) return ep;
    }
    return undefined;
  }
}
