/**
 * Least request by the power of two choices (Envoy's LEAST_REQUEST, linkerd's p2c): draw two
 * endpoints at random, weighted, and keep the one with fewer active requests per unit of weight.
 * Ties keep the first draw, so idle endpoints are chosen in proportion to their weights, while
 * under load the busier of any two draws loses. Drawing with replacement, as Envoy does, keeps a
 * pick O(log n) with no per-pick allocation.
 */
import type { EndpointState } from '../endpoint-state.js';
import { SamplingBalancer } from '../sampling-balancer.js';

export class LeastRequestBalancer extends SamplingBalancer {
  readonly kind = 'least-request' as const;

  protected choose(_hashKey: string | undefined, panic: boolean, exclude: ReadonlySet<EndpointState> | undefined): EndpointState | undefined {
    const a = this.draw(panic, exclude);
    if (a === undefined) return undefined;
    const b = this.draw(panic, exclude) as EndpointState;
    // a.active/a.weight <= b.active/b.weight, cross-multiplied to stay exact with integers.
    return a.activeRequests * b.weight <= b.activeRequests * a.weight ? a : b;
  }
}
