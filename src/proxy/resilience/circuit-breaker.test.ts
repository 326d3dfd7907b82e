import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreaker } from './circuit-breaker.js';
import { RetryBudget } from './retry-budget.js';

describe('CircuitBreaker', () => {
  it('uses Istio defaults when no connectionPool is given', () => {
    const cb = new CircuitBreaker(undefined);
    assert.equal(cb.limits.maxConnections, 4294967295);
    assert.equal(cb.limits.http1MaxPendingRequests, 4294967295);
    assert.equal(cb.limits.maxRequestsPerConnection, 0);
    assert.equal(cb.limits.connectTimeoutMs, 10_000);
    for (let i = 0; i < 1000; i++) assert.ok(cb.tryAcquirePending());
  });

  it('refuses pending requests past http1MaxPendingRequests and counts the overflow', () => {
    const cb = new CircuitBreaker({ http: { http1MaxPendingRequests: 2 } });
    assert.ok(cb.tryAcquirePending());
    assert.ok(cb.tryAcquirePending());
    assert.equal(cb.tryAcquirePending(), false);
    assert.equal(cb.stats.pendingOverflow, 1);
    cb.releasePending();
    assert.ok(cb.tryAcquirePending());
    assert.equal(cb.pendingRequests, 2);
  });

  it('limits requests, connections and retries independently', () => {
    const cb = new CircuitBreaker({ tcp: { maxConnections: 1 }, http: { http2MaxRequests: 2, maxRetries: 1 } });
    assert.ok(cb.tryAcquireConnection());
    assert.equal(cb.tryAcquireConnection(), false);
    assert.ok(cb.tryAcquireRequest());
    assert.ok(cb.tryAcquireRequest());
    assert.equal(cb.tryAcquireRequest(), false);
    assert.ok(cb.tryAcquireRetry());
    assert.equal(cb.tryAcquireRetry(), false);
    cb.releaseRetry();
    assert.ok(cb.tryAcquireRetry());
    assert.deepEqual(
      [cb.stats.connectionOverflow, cb.stats.requestOverflow, cb.stats.retryOverflow],
      [1, 1, 1],
    );
    assert.equal(cb.connections, 1);
    assert.equal(cb.activeRequests, 2);
  });

  it('a release without acquire does not lift the limit', () => {
    const cb = new CircuitBreaker({ http: { http1MaxPendingRequests: 1 } });
    cb.releasePending();
    assert.equal(cb.stats.releaseUnderflow, 1);
    assert.ok(cb.tryAcquirePending());
    assert.equal(cb.tryAcquirePending(), false);
  });

  it('with a retry budget, concurrent retries follow the budget instead of maxRetries', () => {
    const cb = new CircuitBreaker({ http: { maxRetries: 1000 } }, { retryBudget: new RetryBudget({ budgetPercent: 20, minRetryConcurrency: 3 }) });
    for (let i = 0; i < 50; i++) assert.ok(cb.tryAcquireRequest());
    // 20% of 50 active = 10 retries
    let granted = 0;
    while (cb.tryAcquireRetry()) granted++;
    assert.equal(granted, 10);
    assert.equal(cb.stats.retryOverflow, 1);
  });
});

describe('RetryBudget', () => {
  it('allows max(minRetryConcurrency, budget% of active+pending)', () => {
    const b = new RetryBudget();
    assert.equal(b.maxRetries(0, 0), 3);
    assert.equal(b.maxRetries(100, 0), 20);
    assert.equal(b.maxRetries(60, 40), 20);
    assert.ok(b.allows(0, 0, 2));
    assert.equal(b.allows(0, 0, 3), false);
    assert.ok(b.allows(100, 0, 19));
    assert.equal(b.allows(100, 0, 20), false);
  });
});
