/**
 * The retry conditions Istio accepts in `retries.retryOn` (Envoy's x-envoy-retry-on and
 * x-envoy-retry-grpc-on), in one place: api validates manifests against it at apply and
 * meshconfig validates proxy snapshots against it, so the two can never disagree.
 */

/** HTTP conditions (Envoy x-envoy-retry-on). */
export const RETRY_ON_HTTP = [
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
] as const;

/** gRPC conditions (Envoy x-envoy-retry-grpc-on); Istio takes them in the same list. */
export const RETRY_ON_GRPC = ['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'] as const;

/** Every condition name; a retryOn entry is one of these or an HTTP status code. */
export const RETRY_ON_CONDITIONS: readonly string[] = [...RETRY_ON_HTTP, ...RETRY_ON_GRPC];
