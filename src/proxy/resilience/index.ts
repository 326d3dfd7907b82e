/** Resilience: outlier detection, circuit breaking, retries with a budget, faults and mirroring. */
export { OutlierDetector, type OutlierDetectorOptions, type OutlierStats } from './outlier-detector.js';
export { CircuitBreaker, type CircuitBreakerStats } from './circuit-breaker.js';
export { RetryBudget, type RetryBudgetSettings } from './retry-budget.js';
export {
  RetryPolicy,
  isIdempotentMethod,
  RETRY_BASE_INTERVAL_MS,
  RETRY_MAX_INTERVAL_MS,
  type RetryPolicyOptions,
  type RetryRequestInfo,
} from './retry-policy.js';
export { decideFault, shouldMirror, NO_FAULT, type FaultDecision } from './fault.js';
export {
  LOCAL_FAILURES,
  isGatewayError,
  localFailureStatus,
  outcomeStatus,
  type LocalFailure,
  type UpstreamOutcome,
} from './upstream-outcome.js';
