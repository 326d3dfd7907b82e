/**
 * What happened to one try against one endpoint, as the resilience layers see it: the HTTP status
 * the upstream answered with, or a failure that happened before a response arrived.
 *
 *   type LocalFailure = 'connect-failure' | 'reset' | 'timeout' | 'refused-stream'
 *   type UpstreamOutcome = number | LocalFailure
 *   localFailureStatus(kind) → 503 | 504   how Envoy maps a local-origin failure to a status
 *   outcomeStatus(outcome) → number
 *   isGatewayError(status) → 502/503/504
 *
 * 'connect-failure': TCP connect refused, unreachable or timed out (nothing was sent).
 * 'reset': the connection closed or reset after the request was (maybe partly) sent.
 * 'timeout': no response within the per-try timeout.
 * 'refused-stream': HTTP/2 REFUSED_STREAM (the server guarantees it did not process the request).
 */
export type LocalFailure = 'connect-failure' | 'reset' | 'timeout' | 'refused-stream';
export type UpstreamOutcome = number | LocalFailure;

export const LOCAL_FAILURES: readonly LocalFailure[] = ['connect-failure', 'reset', 'timeout', 'refused-stream'];

/** Envoy: connect failures and resets count as 503, timeouts as 504 (both gateway errors). */
export function localFailureStatus(kind: LocalFailure): number {
  return kind === 'timeout' ? 504 : 503;
}

export function outcomeStatus(outcome: UpstreamOutcome): number {
  return typeof outcome === 'number' ? outcome : localFailureStatus(outcome);
}

export function isGatewayError(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
}
