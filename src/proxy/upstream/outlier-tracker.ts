/**
 * Passive outlier detection (envoy outlier.rst, Istio OutlierDetection): consecutive 5xx or
 * gateway errors eject an endpoint for baseEjectionTime × its ejection count (capped), never more
 * than maxEjectionPercent of the cluster; an interval sweep returns endpoints whose time is up.
 */
import type { ResolvedOutlierDetection } from '../../meshconfig/cluster-policy.js';
import type { EndpointState } from '../balance/index.js';

export class OutlierTracker {
  readonly #s: ResolvedOutlierDetection;
  readonly #endpoints: readonly EndpointState[];
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;

  constructor(settings: ResolvedOutlierDetection, endpoints: readonly EndpointState[], now: () => number) {
    this.#s = settings;
    this.#endpoints = endpoints;
    this.#now = now;
    this.#timer = setInterval(() => this.sweep(), Math.max(10, settings.intervalMs));
    this.#timer.unref();
  }

  /** status: the upstream's HTTP status, or 0 for a local-origin failure (connect, reset, timeout). */
  report(ep: EndpointState, status: number): void {
    const o = ep.outlier;
    const gateway = status === 0 || status === 502 || status === 503 || status === 504;
    if (status >= 500 || status === 0) o.consecutive5xx++;
    else o.consecutive5xx = 0;
    if (gateway) o.consecutiveGateway++;
    else o.consecutiveGateway = 0;
    if (ep.ejected) return;
    const s = this.#s;
    if (s.consecutive5xxErrors > 0 && o.consecutive5xx >= s.consecutive5xxErrors) this.#eject(ep, 'consecutive_5xx');
    else if (s.consecutiveGatewayErrors > 0 && o.consecutiveGateway >= s.consecutiveGatewayErrors) this.#eject(ep, 'consecutive_gateway_failure');
  }

  #eject(ep: EndpointState, reason: 'consecutive_5xx' | 'consecutive_gateway_failure'): void {
    let ejected = 0;
    for (const e of this.#endpoints) if (e.ejected) ejected++;
    // Envoy always allows one ejection even when the percentage rounds down to zero hosts.
    const max = Math.max(1, Math.floor((this.#endpoints.length * this.#s.maxEjectionPercent) / 100));
    if (this.#s.maxEjectionPercent === 0 || ejected >= max) return;
    ep.outlier.multiplier++;
    const duration = Math.min(this.#s.baseEjectionTimeMs * ep.outlier.multiplier, this.#s.maxEjectionTimeMs);
    ep.eject(this.#now(), duration, reason);
    ep.outlier.consecutive5xx = 0;
    ep.outlier.consecutiveGateway = 0;
  }

  sweep(): void {
    const now = this.#now();
    for (const ep of this.#endpoints) {
      const o = ep.outlier;
      if (ep.ejected) {
        if (now >= o.ejectedAtMs + o.ejectionDurationMs) ep.uneject();
      } else if (o.multiplier > 0 && now >= o.ejectedAtMs + o.ejectionDurationMs + this.#s.baseEjectionTimeMs) {
        // A healthy stretch after returning lowers the multiplier again (Envoy does the same).
        o.multiplier--;
        o.ejectedAtMs = now;
      }
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
