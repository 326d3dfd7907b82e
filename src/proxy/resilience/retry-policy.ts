/**
 * RetryPolicy: when a failed try is tried again, and how long to wait first. Built once per route
 * from Istio's HTTPRetry (resolveRetry applies Istio's defaults, including the default policy when
 * the route has no `retries`).
 *
 *   const rp = new RetryPolicy(route.retries, { retryNonIdempotent: route.retries?.retryNonIdempotent })
 *   rp.shouldRetry(attempt, outcome, method, { idempotencyKey?, grpcStatus? }) → boolean
 *   rp.retryCondition(outcome, grpcStatus?) → the retryOn condition that matches, or undefined
 *   rp.backoffMs(attempt, random) → ms to wait before the retry that follows try `attempt`
 *   rp.attempts, rp.perTryTimeoutMs
 *
 * `attempt` is the 1-based number of the try that just failed: with attempts = 2 (retries),
 * tries 1 and 2 may be retried and try 3 may not.
 *
 * Conditions (Envoy's x-envoy-retry-on / x-envoy-retry-grpc-on, which Istio passes through):
 *   5xx                   any 5xx response, and every local failure (connect failure, reset,
 *                         per-try timeout, refused stream)
 *   gateway-error         502, 503, 504, and every local failure (Envoy counts them as such)
 *   reset                 no response at all: connect failure, reset, per-try timeout, refused stream
 *   connect-failure       the connection could not be made
 *   refused-stream        HTTP/2 REFUSED_STREAM
 *   reset-before-request  connect failure or refused stream (the request never left)
 *   retriable-4xx         409
 *   retriable-status-codes  the status is in the route's codes (bare numbers in retryOn; 503 by default)
 *   cancelled, deadline-exceeded, internal, resource-exhausted, unavailable   gRPC status 1, 4, 13, 8, 14
 * The proxy must not ask about responses it generated itself for overflow (UO): Envoy never
 * retries those.
 *
 * Idempotency (the double-payment guard): GET, HEAD, OPTIONS, TRACE, PUT and DELETE are idempotent
 * (RFC 9110 §9.2.2) and retried under the conditions above. POST, PATCH, CONNECT and unknown methods
 * are retried only when the route opts in (`retryNonIdempotent: true`), when the request carries an
 * Idempotency-Key header (the IETF httpapi draft: the server dedupes), or when the failure proves the
 * request never reached the application: a connect failure or an HTTP/2 refused stream. A reset or
 * timeout after sending could mean the server acted, so those are not retried for POST.
 *
 * Back-off is Envoy's: fully jittered exponential, the retry after try N waits a uniform random
 * time in [0, (2^N − 1) × 25 ms), capped at 250 ms.
 */
import { resolveRetry, type HTTPRetry, type ResolvedRetry } from '../../meshconfig/cluster-policy.js';
import type { UpstreamOutcome } from './upstream-outcome.js';

export const RETRY_BASE_INTERVAL_MS = 25;
export const RETRY_MAX_INTERVAL_MS = 250;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

const GRPC_CONDITIONS: ReadonlyMap<number, string> = new Map([
  [1, 'cancelled'],
  [4, 'deadline-exceeded'],
  [8, 'resource-exhausted'],
  [13, 'internal'],
  [14, 'unavailable'],
]);

export interface RetryPolicyOptions {
  /** the route allows retrying POST/PATCH and other non-idempotent methods */
  retryNonIdempotent?: boolean | undefined;
  baseIntervalMs?: number;
  maxIntervalMs?: number;
}

export interface RetryRequestInfo {
  /** the request has an Idempotency-Key header */
  idempotencyKey?: boolean;
  /** grpc-status of the response, when it is gRPC */
  grpcStatus?: number | undefined;
}

export function isIdempotentMethod(method: string): boolean {
  return IDEMPOTENT.has(method) || IDEMPOTENT.has(method.toUpperCase());
}

export class RetryPolicy {
  readonly attempts: number;
  readonly perTryTimeoutMs: number | undefined;
  readonly resolved: ResolvedRetry;
  readonly #on: ReadonlySet<string>;
  readonly #codes: ReadonlySet<number>;
  readonly #nonIdempotent: boolean;
  readonly #base: number;
  readonly #max: number;
  /** precomputed so the hot path tests booleans, not set membership */
  readonly #onLocal: { connect: boolean; reset: boolean; timeout: boolean; refused: boolean };

  constructor(retry: HTTPRetry | undefined, options: RetryPolicyOptions = {}) {
    this.resolved = resolveRetry(retry);
    this.attempts = this.resolved.attempts;
    this.perTryTimeoutMs = this.resolved.perTryTimeoutMs;
    this.#on = this.resolved.retryOn;
    this.#codes = this.resolved.retriableStatusCodes;
    this.#nonIdempotent = options.retryNonIdempotent === true;
    this.#base = options.baseIntervalMs ?? RETRY_BASE_INTERVAL_MS;
    this.#max = options.maxIntervalMs ?? RETRY_MAX_INTERVAL_MS;
    const on = this.#on;
    const any = on.has('5xx') || on.has('gateway-error') || on.has('reset');
    const beforeRequest = on.has('reset-before-request');
    this.#onLocal = {
      connect: any || beforeRequest || on.has('connect-failure'),
      reset: any,
      timeout: any,
      refused: any || beforeRequest || on.has('refused-stream'),
    };
  }

  /** The retryOn condition that makes `outcome` retriable, or undefined. */
  retryCondition(outcome: UpstreamOutcome, grpcStatus?: number): string | undefined {
    const on = this.#on;
    if (typeof outcome !== 'number') {
      switch (outcome) {
        case 'connect-failure':
          return this.#onLocal.connect ? 'connect-failure' : undefined;
        case 'refused-stream':
          return this.#onLocal.refused ? 'refused-stream' : undefined;
        case 'reset':
          return this.#onLocal.reset ? 'reset' : undefined;
        case 'timeout':
          return this.#onLocal.timeout ? 'per-try-timeout' : undefined;
      }
    }
    if (outcome >= 500 && outcome <= 599 && on.has('5xx')) return '5xx';
    if ((outcome === 502 || outcome === 503 || outcome === 504) && on.has('gateway-error')) return 'gateway-error';
    if (outcome === 409 && on.has('retriable-4xx')) return 'retriable-4xx';
    if (on.has('retriable-status-codes') && this.#codes.has(outcome)) return 'retriable-status-codes';
    if (grpcStatus !== undefined) {
      const cond = GRPC_CONDITIONS.get(grpcStatus);
      if (cond !== undefined && on.has(cond)) return cond;
    }
    return undefined;
  }

  shouldRetry(attempt: number, outcome: UpstreamOutcome, method: string, info?: RetryRequestInfo): boolean {
    if (attempt > this.attempts) return false;
    if (this.retryCondition(outcome, info?.grpcStatus) === undefined) return false;
    if (this.#nonIdempotent || isIdempotentMethod(method) || info?.idempotencyKey === true) return true;
    // Not idempotent: only when the request provably never reached the application.
    return outcome === 'connect-failure' || outcome === 'refused-stream';
  }

  backoffMs(attempt: number, random: () => number): number {
    const n = Math.max(1, Math.min(attempt, 30));
    const ceiling = Math.min(this.#max, ((2 ** n) - 1) * this.#base);
    return Math.floor(random() * ceiling);
  }
}
