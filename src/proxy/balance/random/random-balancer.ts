/** Weighted random choice: each eligible endpoint is picked with probability weight / total. */
import type { EndpointState } from '../endpoint-state.js';
import { BaseBalancer, type BalancerOptions } from '../load-balancer.js';
import { WeightedSampler } from '../weighted-sampler.js';

export class RandomBalancer extends BaseBalancer {
  readonly kind = 'random' as const;
  readonly #sampler: WeightedSampler;

  constructor(endpoints: readonly EndpointState[], options: BalancerOptions = {}) {
    super(endpoints, options);
    this.#sampler = new WeightedSampler(endpoints);
  }

  protected choose(
    _hashKey: string | undefined,
    panic: boolean,
    exclude: ReadonlySet<EndpointState> | undefined,
  ): EndpointState | undefined {
    return this.#sampler.sample(this.random, panic, exclude);
  }
}
