/**
 * Base of the balancers that draw endpoints weighted-at-random (random, least-request): the
 * sampler over the endpoint list is built once, and `draw` picks one eligible endpoint.
 */
import type { EndpointState } from './endpoint-state.js';
import { BaseBalancer, type BalancerOptions } from './load-balancer.js';
import { WeightedSampler } from './weighted-sampler.js';

export abstract class SamplingBalancer extends BaseBalancer {
  readonly #sampler: WeightedSampler;

  constructor(endpoints: readonly EndpointState[], options: BalancerOptions = {}) {
    super(endpoints, options);
    this.#sampler = new WeightedSampler(endpoints);
  }

  /** A weighted-random endpoint for which isEligible holds, or undefined when none does. */
  protected draw(panic: boolean, exclude: ReadonlySet<EndpointState> | undefined): EndpointState | undefined {
    return this.#sampler.sample(this.random, panic, exclude);
  }
}
