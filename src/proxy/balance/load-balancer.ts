/**
 * The balancer contract every strategy implements, and the shared eligibility rules.
 *
 *   interface LoadBalancer { kind; endpoints; pick(ctx?: PickContext): EndpointState | undefined }
 *   interface PickContext  { hashKey?: string; exclude?: ReadonlySet<EndpointState> }
 *   interface BalancerOptions { random?: () => number; panicThresholdPercent?: number }
 *
 * Rules all balancers follow (checked by the conformance suite, balancer-conformance.ts):
 *  - An ejected endpoint is never returned, except in panic mode: when fewer than
 *    `panicThresholdPercent` of the endpoints are healthy, ejections are ignored and all endpoints
 *    are candidates (Envoy's healthy_panic_threshold, which Istio sets from
 *    outlierDetection.minHealthPercent). The default threshold is 0, so when every endpoint is
 *    ejected `pick` returns undefined and the proxy answers 503 with flag UH.
 *  - A weight of 0 is never picked.
 *  - `exclude` (the endpoints earlier tries of this request used) is a preference, as Envoy's
 *    previous_hosts retry predicate is: if only excluded endpoints are eligible, one of them is
 *    returned, so a retry against a one-endpoint cluster still happens.
 *  - An empty endpoint list gives undefined.
 */
import { currentHealthGeneration, type EndpointState } from './endpoint-state.js';

export type BalancerKind = 'round-robin' | 'least-request' | 'random' | 'ring-hash' | 'maglev';

export interface PickContext {
  /** consistent-hash key for this request (see hashKeyFor); other balancers ignore it */
  hashKey?: string | undefined;
  /** endpoints to avoid, normally the ones earlier tries of this request went to */
  exclude?: ReadonlySet<EndpointState> | undefined;
}

export interface LoadBalancer {
  readonly kind: BalancerKind;
  readonly endpoints: readonly EndpointState[];
  pick(ctx?: PickContext): EndpointState | undefined;
}

export interface BalancerOptions {
  /** [0,1) source; Math.random by default, seeded in tests */
  random?: () => number;
  /** 0..100; below this share of healthy endpoints, ejections are ignored (default 0: never) */
  panicThresholdPercent?: number;
}

const EMPTY: PickContext = {};

/** The one eligibility rule: weight above 0, not ejected (unless in panic), not excluded. */
export function isEligible(ep: EndpointState, panic: boolean, exclude: ReadonlySet<EndpointState> | undefined): boolean {
  return ep.weight > 0 && (panic || !ep.ejected) && (exclude === undefined || !exclude.has(ep));
}

/** Panic-mode bookkeeping and the eligibility test shared by every balancer. */
export abstract class BaseBalancer implements LoadBalancer {
  abstract readonly kind: BalancerKind;
  readonly endpoints: readonly EndpointState[];
  protected readonly random: () => number;
  readonly #panicThreshold: number;
  #seenGeneration = -1;
  #panic = false;

  constructor(endpoints: readonly EndpointState[], options: BalancerOptions = {}) {
    this.endpoints = endpoints;
    this.random = options.random ?? Math.random;
    this.#panicThreshold = options.panicThresholdPercent ?? 0;
  }

  pick(ctx: PickContext = EMPTY): EndpointState | undefined {
    if (this.endpoints.length === 0) return undefined;
    const panic = this.#inPanic();
    const exclude = ctx.exclude !== undefined && ctx.exclude.size > 0 ? ctx.exclude : undefined;
    const found = this.choose(ctx.hashKey, panic, exclude);
    if (found !== undefined || exclude === undefined) return found;
    // Only excluded endpoints are left: retrying one of them beats failing the retry.
    return this.choose(ctx.hashKey, panic, undefined);
  }

  /** Strategy-specific choice among endpoints for which `isEligible` holds. */
  protected abstract choose(
    hashKey: string | undefined,
    panic: boolean,
    exclude: ReadonlySet<EndpointState> | undefined,
  ): EndpointState | undefined;

  #inPanic(): boolean {
    if (this.#panicThreshold <= 0) return false;
    const gen = currentHealthGeneration();
    if (gen !== this.#seenGeneration) {
      this.#seenGeneration = gen;
      let healthy = 0;
      for (const ep of this.endpoints) if (!ep.ejected) healthy++;
      this.#panic = (100 * healthy) / this.endpoints.length < this.#panicThreshold;
    }
    return this.#panic;
  }
}
