/** Weighted random choice: each eligible endpoint is picked with probability weight / total. */
import type { EndpointState } from '../endpoint-state.js';
import { SamplingBalancer } from '../sampling-balancer.js';

export class RandomBalancer extends SamplingBalancer {
  readonly kind = 'random' as const;

  protected choose(_hashKey: string | undefined, panic: boolean, exclude: ReadonlySet<EndpointState> | undefined): EndpointState | undefined {
    return this.draw(panic, exclude);
  }
}
