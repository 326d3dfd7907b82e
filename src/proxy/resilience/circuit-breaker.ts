/**
 * CircuitBreaker: Envoy's per-cluster circuit breaker thresholds, from Istio's connectionPool.
 * It counts what is in flight and refuses to go over the limits; a refused acquire is an
 * overflow: the proxy answers 503 with flag UO (or skips the retry) instead of queueing more.
 *
 *   const cb = new CircuitBreaker(connectionPool, { retryBudget? })
 *   cb.tryAcquirePending()    / releasePending()     http1MaxPendingRequests: requests waiting
 *                                                    for a connection
 *   cb.tryAcquireRequest()    / releaseRequest()     http2MaxRequests: requests in flight (Envoy's
 *                                                    max_requests; applies to HTTP/1.1 too)
 *   cb.tryAcquireConnection() / releaseConnection()  tcp.maxConnections: upstream connections
 *   cb.tryAcquireRetry()      / releaseRetry()       http.maxRetries: concurrent retries, or the
 *                                                    retry budget when one is given (Envoy ignores
 *                                                    max_retries when a budget is set)
 *   cb.pendingRequests, activeRequests, connections, activeRetries   current counts
 *   cb.stats.{pendingOverflow, requestOverflow, connectionOverflow, retryOverflow}
 *   cb.limits                                        the resolved limits (maxRequestsPerConnection,
 *                                                    idleTimeoutMs, connectTimeoutMs for the pool)
 *
 * Every successful tryAcquireX must be paired with exactly one releaseX. A release without an
 * acquire is a bug in the caller; it is counted in stats.releaseUnderflow and ignored rather than
 * driving a count negative and lifting the limit.
 */
import { resolveConnectionPool, type ConnectionPoolSettings, type ResolvedConnectionPool } from '../../meshconfig/cluster-policy.js';
import type { RetryBudget } from './retry-budget.js';

export interface CircuitBreakerStats {
  pendingOverflow: number;
  requestOverflow: number;
  connectionOverflow: number;
  retryOverflow: number;
  releaseUnderflow: number;
}

export class CircuitBreaker {
  readonly limits: ResolvedConnectionPool;
  readonly stats: CircuitBreakerStats = {
    pendingOverflow: 0,
    requestOverflow: 0,
    connectionOverflow: 0,
    retryOverflow: 0,
    releaseUnderflow: 0,
  };
  readonly #budget: RetryBudget | undefined;
  #pending = 0;
  #active = 0;
  #connections = 0;
  #retries = 0;

  constructor(pool: ConnectionPoolSettings | undefined, options: { retryBudget?: RetryBudget } = {}) {
    this.limits = resolveConnectionPool(pool);
    this.#budget = options.retryBudget;
  }

  get pendingRequests(): number {
    return this.#pending;
  }
  get activeRequests(): number {
    return this.#active;
  }
  get connections(): number {
    return this.#connections;
  }
  get activeRetries(): number {
    return this.#retries;
  }

  tryAcquirePending(): boolean {
    if (this.#pending >= this.limits.http1MaxPendingRequests) {
      this.stats.pendingOverflow++;
      return false;
    }
    this.#pending++;
    return true;
  }

  releasePending(): void {
    if (this.#pending > 0) this.#pending--;
    else this.stats.releaseUnderflow++;
  }

  tryAcquireRequest(): boolean {
    if (this.#active >= this.limits.http2MaxRequests) {
      this.stats.requestOverflow++;
      return false;
    }
    this.#active++;
    return true;
  }

  releaseRequest(): void {
    if (this.#active > 0) this.#active--;
    else this.stats.releaseUnderflow++;
  }

  tryAcquireConnection(): boolean {
    if (this.#connections >= this.limits.maxConnections) {
      this.stats.connectionOverflow++;
      return false;
    }
    this.#connections++;
    return true;
  }

  releaseConnection(): void {
    if (this.#connections > 0) this.#connections--;
    else this.stats.releaseUnderflow++;
  }

  tryAcquireRetry(): boolean {
    const allowed =
      this.#budget !== undefined
        ? this.#budget.allows(this.#active, this.#pending, this.#retries)
        : this.#retries < this.limits.maxRetries;
    if (!allowed) {
      this.stats.retryOverflow++;
      return false;
    }
    this.#retries++;
    return true;
  }

  releaseRetry(): void {
    if (this.#retries > 0) this.#retries--;
    else this.stats.releaseUnderflow++;
  }
}
