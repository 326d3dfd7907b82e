/**
 * OutlierDetector: Envoy's passive health checking for one cluster, configured by Istio's
 * outlierDetection.
 *
 *   const od = new OutlierDetector(settings, endpoints, { clock, onEject?, onUneject? })
 *   od.record(endpoint, outcome)   after every try: an HTTP status or a LocalFailure
 *   od.sweep()                     returns endpoints whose ejection time is over; od.start() runs it
 *                                  every `interval` on the injected clock (one timer per cluster)
 *   od.setEndpoints(endpoints)     after an endpoint update; state lives on the EndpointState
 *   od.stop(), od.stats, od.ejectedCount
 *
 * Semantics (Envoy's outlier.rst and outlier_detection.proto, current versions):
 *  - consecutive5xxErrors counts every 5xx; consecutiveGatewayErrors counts 502/503/504. Without
 *    splitExternalLocalOriginErrors a local failure counts as 503 (connect failure, reset, refused
 *    stream) or 504 (timeout), so it feeds both counters. With it, local failures feed only
 *    consecutiveLocalOriginFailures and statuses only the other two.
 *  - Any other outcome resets the counter it does not match (a 500 resets the gateway counter, a
 *    200 resets both).
 *  - Reaching a threshold ejects at once (not at the next sweep), if the cap allows: the share of
 *    ejected endpoints after this ejection must stay within maxEjectionPercent (Envoy ≥ 1.27; so the
 *    default 10 % ejects nothing in clusters of fewer than 10 endpoints, set 50 or 100 for small
 *    ones). `alwaysEjectOneHost` restores the older "at least one" behaviour. A refused ejection
 *    counts in stats.ejectionsOverflow; the counter restarts either way.
 *  - An ejection lasts baseEjectionTime × the endpoint's ejection multiplier, which grows by one
 *    per ejection, capped at max(300 s, baseEjectionTime). The sweep returns endpoints whose time
 *    is over, and lowers the multiplier of endpoints that stayed healthy for a whole interval.
 *  - minHealthPercent is applied by the balancer (panic threshold), not here.
 */
import type { Clock } from '../../core/clock.js';
import {
  resolveOutlierDetection,
  type OutlierDetection,
  type ResolvedOutlierDetection,
} from '../../meshconfig/cluster-policy.js';
import type { EjectionReason, EndpointState } from '../balance/endpoint-state.js';
import { isGatewayError, localFailureStatus, type UpstreamOutcome } from './upstream-outcome.js';

export interface OutlierDetectorOptions {
  clock: Clock;
  onEject?: (endpoint: EndpointState, reason: EjectionReason, durationMs: number) => void;
  onUneject?: (endpoint: EndpointState) => void;
  /** eject one endpoint even when that breaks maxEjectionPercent (Envoy's always_eject_one_host) */
  alwaysEjectOneHost?: boolean;
}

export interface OutlierStats {
  ejectionsTotal: number;
  ejectionsActive: number;
  ejectionsOverflow: number;
  ejectionsConsecutive5xx: number;
  ejectionsConsecutiveGatewayFailure: number;
  ejectionsConsecutiveLocalOriginFailure: number;
}

export class OutlierDetector {
  readonly config: ResolvedOutlierDetection;
  readonly stats: OutlierStats = {
    ejectionsTotal: 0,
    ejectionsActive: 0,
    ejectionsOverflow: 0,
    ejectionsConsecutive5xx: 0,
    ejectionsConsecutiveGatewayFailure: 0,
    ejectionsConsecutiveLocalOriginFailure: 0,
  };
  readonly #clock: Clock;
  readonly #options: OutlierDetectorOptions;
  #endpoints: readonly EndpointState[];
  /** ejection count per endpoint as of the previous sweep, to spot endpoints that stayed healthy */
  #ejectionsAtLastSweep = new WeakMap<EndpointState, number>();
  #timer: { cancel(): void } | undefined;

  constructor(settings: OutlierDetection, endpoints: readonly EndpointState[], options: OutlierDetectorOptions) {
    this.config = resolveOutlierDetection(settings) as ResolvedOutlierDetection;
    this.#clock = options.clock;
    this.#options = options;
    this.#endpoints = endpoints;
    this.#countActive();
  }

  get ejectedCount(): number {
    return this.stats.ejectionsActive;
  }

  get endpoints(): readonly EndpointState[] {
    return this.#endpoints;
  }

  setEndpoints(endpoints: readonly EndpointState[]): void {
    this.#endpoints = endpoints;
    this.#countActive();
  }

  record(endpoint: EndpointState, outcome: UpstreamOutcome): void {
    const cfg = this.config;
    const o = endpoint.outlier;
    if (typeof outcome !== 'number' && cfg.splitExternalLocalOriginErrors) {
      o.consecutiveLocalOrigin++;
      if (cfg.consecutiveLocalOriginFailures > 0 && o.consecutiveLocalOrigin >= cfg.consecutiveLocalOriginFailures) {
        o.consecutiveLocalOrigin = 0;
        this.#eject(endpoint, 'consecutive_local_origin_failure');
      }
      return;
    }
    if (typeof outcome === 'number' && cfg.splitExternalLocalOriginErrors) {
      // A response means the connection worked: the local-origin streak is over.
      o.consecutiveLocalOrigin = 0;
    }
    const status = typeof outcome === 'number' ? outcome : localFailureStatus(outcome);
    if (isGatewayError(status)) o.consecutiveGateway++;
    else o.consecutiveGateway = 0;
    if (status >= 500 && status <= 599) o.consecutive5xx++;
    else o.consecutive5xx = 0;
    // Envoy checks the gateway counter first; an ejection by one makes the other a no-op.
    if (cfg.consecutiveGatewayErrors > 0 && o.consecutiveGateway >= cfg.consecutiveGatewayErrors) {
      o.consecutiveGateway = 0;
      this.#eject(endpoint, 'consecutive_gateway_failure');
    }
    if (cfg.consecutive5xxErrors > 0 && o.consecutive5xx >= cfg.consecutive5xxErrors) {
      o.consecutive5xx = 0;
      this.#eject(endpoint, 'consecutive_5xx');
    }
  }

  /** Returns ejected endpoints whose time is over; lowers multipliers of steadily healthy ones. */
  sweep(): EndpointState[] {
    const now = this.#clock.monotonic();
    const returned: EndpointState[] = [];
    for (const ep of this.#endpoints) {
      const o = ep.outlier;
      if (ep.ejected) {
        if (now >= o.ejectedAtMs + o.ejectionDurationMs) {
          ep.uneject();
          this.stats.ejectionsActive--;
          returned.push(ep);
          this.#options.onUneject?.(ep);
        }
      } else if (o.multiplier > 0 && this.#ejectionsAtLastSweep.get(ep) === o.ejectionsTotal) {
        o.multiplier--;
      }
      this.#ejectionsAtLastSweep.set(ep, o.ejectionsTotal);
    }
    return returned;
  }

  /** Runs `sweep` every interval on the injected clock until `stop`. */
  start(): void {
    if (this.#timer !== undefined) return;
    const tick = (): void => {
      this.sweep();
      this.#timer = this.#clock.setTimeout(tick, this.config.intervalMs);
    };
    this.#timer = this.#clock.setTimeout(tick, this.config.intervalMs);
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #eject(ep: EndpointState, reason: EjectionReason): void {
    if (ep.ejected) return;
    const total = this.#endpoints.length;
    const active = this.stats.ejectionsActive;
    const allowed =
      total > 0 &&
      ((100 * (active + 1)) / total <= this.config.maxEjectionPercent || (this.#options.alwaysEjectOneHost === true && active === 0));
    if (!allowed) {
      this.stats.ejectionsOverflow++;
      return;
    }
    const o = ep.outlier;
    o.multiplier++;
    const cap = this.config.maxEjectionTimeMs;
    const duration = Math.min(this.config.baseEjectionTimeMs * o.multiplier, cap);
    ep.eject(this.#clock.monotonic(), duration, reason);
    this.stats.ejectionsActive++;
    this.stats.ejectionsTotal++;
    if (reason === 'consecutive_5xx') this.stats.ejectionsConsecutive5xx++;
    else if (reason === 'consecutive_gateway_failure') this.stats.ejectionsConsecutiveGatewayFailure++;
    else this.stats.ejectionsConsecutiveLocalOriginFailure++;
    this.#options.onEject?.(ep, reason, duration);
  }

  #countActive(): void {
    let n = 0;
    for (const ep of this.#endpoints) if (ep.ejected) n++;
    this.stats.ejectionsActive = n;
  }
}
