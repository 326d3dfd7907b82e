/**
 * EndpointState: one upstream endpoint as the balancers, the outlier detector and the admin
 * `/clusters` page see it. The proxy creates one per endpoint when it builds a cluster and keeps
 * it for as long as the endpoint stays in the cluster (so counters survive config swaps that keep
 * the endpoint).
 *
 *   new EndpointState({ address, port, weight?, labels? })
 *   ep.activeRequests              in-flight requests (the proxy increments on dispatch and
 *                                  decrements on completion; least-request balancing reads it)
 *   ep.rqTotal / rqError / rqTimeout / cxActive / cxTotal
 *                                  counters named after Envoy's /clusters fields rq_total, rq_error,
 *                                  rq_timeout, cx_active, cx_total (the proxy updates them)
 *   ep.ejected                     true while outlier detection has it ejected (read-only here)
 *   ep.outlier                     the detector's bookkeeping (consecutive counts, ejection times)
 *   ep.eject(nowMs, durationMs, reason) / ep.uneject()   used by OutlierDetector only
 *   ep.toJSON()                    the admin view
 *
 * Fields are public and plain so the hot path reads them without calls; only ejection goes through
 * methods, because balancers cache the healthy count and must learn when it changes.
 */

/**
 * Bumped whenever any endpoint is ejected or returned. Balancers compare it with the value they saw
 * last and recount healthy endpoints only when it moved: one integer compare per pick.
 */
let healthGeneration = 0;

export function currentHealthGeneration(): number {
  return healthGeneration;
}

export type EjectionReason = 'consecutive_5xx' | 'consecutive_gateway_failure' | 'consecutive_local_origin_failure';

export interface OutlierState {
  consecutive5xx: number;
  consecutiveGateway: number;
  consecutiveLocalOrigin: number;
  /** how many ejections in a row; ejection time = base × this (Envoy's multiplier) */
  multiplier: number;
  ejectedAtMs: number;
  ejectionDurationMs: number;
  ejectionsTotal: number;
  lastReason: EjectionReason | '';
}

export interface EndpointInit {
  address: string;
  port: number;
  /** relative weight, default 1; 0 means "never pick" */
  weight?: number;
  labels?: Record<string, string>;
}

export class EndpointState {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly labels: Readonly<Record<string, string>>;
  /** "address:port" (IPv6 addresses in brackets) */
  readonly key: string;

  activeRequests = 0;
  rqTotal = 0;
  rqError = 0;
  rqTimeout = 0;
  cxActive = 0;
  cxTotal = 0;

  readonly outlier: OutlierState = {
    consecutive5xx: 0,
    consecutiveGateway: 0,
    consecutiveLocalOrigin: 0,
    multiplier: 0,
    ejectedAtMs: 0,
    ejectionDurationMs: 0,
    ejectionsTotal: 0,
    lastReason: '',
  };

  #ejected = false;

  constructor(init: EndpointInit) {
    this.address = init.address;
    this.port = init.port;
    const weight = init.weight ?? 1;
    this.weight = Number.isFinite(weight) && weight > 0 ? weight : 0;
    this.labels = Object.freeze({ ...(init.labels ?? {}) });
    this.key = init.address.includes(':') ? `[${init.address}]:${init.port}` : `${init.address}:${init.port}`;
  }

  get ejected(): boolean {
    return this.#ejected;
  }

  eject(nowMs: number, durationMs: number, reason: EjectionReason): void {
    this.outlier.ejectedAtMs = nowMs;
    this.outlier.ejectionDurationMs = durationMs;
    this.outlier.ejectionsTotal++;
    this.outlier.lastReason = reason;
    if (!this.#ejected) {
      this.#ejected = true;
      healthGeneration++;
    }
  }

  uneject(): void {
    this.outlier.consecutive5xx = 0;
    this.outlier.consecutiveGateway = 0;
    this.outlier.consecutiveLocalOrigin = 0;
    if (this.#ejected) {
      this.#ejected = false;
      healthGeneration++;
    }
  }

  toJSON(): Record<string, unknown> {
    return {
      address: this.key,
      weight: this.weight,
      labels: this.labels,
      health: this.#ejected ? 'ejected' : 'healthy',
      rq_active: this.activeRequests,
      rq_total: this.rqTotal,
      rq_error: this.rqError,
      rq_timeout: this.rqTimeout,
      cx_active: this.cxActive,
      cx_total: this.cxTotal,
      outlier: { ...this.outlier, ejected: this.#ejected },
    };
  }
}
