/**
 * Smooth weighted round robin, as nginx does it (ngx_http_upstream_get_peer): every pick adds each
 * eligible endpoint's weight to its running score, takes the highest score and subtracts the total.
 * Weights 5:1:1 give a a b a c a a, spread out rather than in bursts, and ineligible endpoints
 * are simply left out of a pick.
 */
import type { EndpointState } from '../endpoint-state.js';
import { BaseBalancer, isEligible, type BalancerOptions } from '../load-balancer.js';

export class RoundRobinBalancer extends BaseBalancer {
  readonly kind = 'round-robin' as const;
  readonly #current: Float64Array;

  constructor(endpoints: readonly EndpointState[], options: BalancerOptions = {}) {
    super(endpoints, options);
    this.#current = new Float64Array(endpoints.length);
  }

  protected choose(
    _hashKey: string | undefined,
    panic: boolean,
    exclude: ReadonlySet<EndpointState> | undefined,
  ): EndpointState | undefined {
    const eps = this.endpoints;
    const cur = this.#current;
    let total = 0;
    let best = -1;
    for (let i = 0; i < eps.length; i++) {
      const ep = eps[i] as EndpointState;
      if (!isEligible(ep, panic, exclude)) continue;
      const score = (cur[i] as number) + ep.weight;
      cur[i] = score;
      total += ep.weight;
      if (best < 0 || score > (cur[best] as number)) best = i;
    }
    if (best < 0) return undefined;
    cur[best] = (cur[best] as number) - total;
    return eps[best];
  }
}
