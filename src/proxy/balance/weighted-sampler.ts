/**
 * Weighted random choice over a fixed endpoint list: cumulative weights and a binary search, with
 * rejection of ineligible picks and an exact slow path when rejection keeps failing (many ejected).
 */
import type { EndpointState } from './endpoint-state.js';
import { isEligible } from './load-balancer.js';

const REJECTION_TRIES = 8;

export class WeightedSampler {
  readonly #endpoints: readonly EndpointState[];
  readonly #cumulative: Float64Array;
  readonly #total: number;

  constructor(endpoints: readonly EndpointState[]) {
    this.#endpoints = endpoints;
    this.#cumulative = new Float64Array(endpoints.length);
    let sum = 0;
    endpoints.forEach((ep, i) => {
      sum += ep.weight;
      this.#cumulative[i] = sum;
    });
    this.#total = sum;
  }

  /** A weighted-random eligible endpoint (see isEligible), or undefined when none is. */
  sample(random: () => number, panic: boolean, exclude: ReadonlySet<EndpointState> | undefined): EndpointState | undefined {
    if (this.#total <= 0) return undefined;
    for (let t = 0; t < REJECTION_TRIES; t++) {
      const ep = this.#endpoints[this.#indexOf(random() * this.#total)] as EndpointState;
      if (isEligible(ep, panic, exclude)) return ep;
    }
    let total = 0;
    for (const ep of this.#endpoints) if (isEligible(ep, panic, exclude)) total += ep.weight;
    if (total <= 0) return undefined;
    let target = random() * total;
    let last: EndpointState | undefined;
    for (const ep of this.#endpoints) {
      if (!isEligible(ep, panic, exclude)) continue;
      last = ep;
      target -= ep.weight;
      if (target < 0) return ep;
    }
    return last;
  }

  #indexOf(point: number): number {
    const cum = this.#cumulative;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cum[mid] as number) > point) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
