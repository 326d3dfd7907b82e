/**
 * RetryBudget: Envoy's cluster retry budget (circuit_breakers.thresholds.retry_budget), which
 * linkerd also favours over fixed retry counts: concurrent retries may be at most `budgetPercent`
 * of the requests in flight (active + pending), but never fewer than `minRetryConcurrency`, so a
 * quiet cluster can still retry. It stops retry storms: when everything fails, retries stay a
 * fraction of the load instead of multiplying it.
 *
 *   new RetryBudget({ budgetPercent = 20, minRetryConcurrency = 3 })   (Envoy's defaults)
 *   budget.maxRetries(activeRequests, pendingRequests) → number
 *   budget.allows(activeRequests, pendingRequests, activeRetries) → boolean
 */
export interface RetryBudgetSettings {
  budgetPercent?: number;
  minRetryConcurrency?: number;
}

export class RetryBudget {
  readonly budgetPercent: number;
  readonly minRetryConcurrency: number;

  constructor(settings: RetryBudgetSettings = {}) {
    this.budgetPercent = settings.budgetPercent ?? 20;
    this.minRetryConcurrency = settings.minRetryConcurrency ?? 3;
  }

  maxRetries(activeRequests: number, pendingRequests: number): number {
    return Math.max(this.minRetryConcurrency, Math.floor((this.budgetPercent * (activeRequests + pendingRequests)) / 100));
  }

  allows(activeRequests: number, pendingRequests: number, activeRetries: number): boolean {
    return activeRetries < this.maxRetries(activeRequests, pendingRequests);
  }
}
