import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../core/seeded-random.js';
import { RetryPolicy, isIdempotentMethod } from './retry-policy.js';

describe('RetryPolicy', () => {
  it("without `retries` uses Istio's default: 2 retries on connect-failure, refused-stream, 503, gRPC unavailable/cancelled", () => {
    const rp = new RetryPolicy(undefined);
    assert.equal(rp.attempts, 2);
    assert.ok(rp.shouldRetry(1, 503, 'GET'));
    assert.ok(rp.shouldRetry(2, 'connect-failure', 'GET'));
    assert.equal(rp.shouldRetry(3, 503, 'GET'), false, 'only 2 retries');
    assert.equal(rp.shouldRetry(1, 500, 'GET'), false, '500 is not in the default');
    assert.equal(rp.shouldRetry(1, 'reset', 'GET'), false, 'reset is not in the default');
    assert.ok(rp.shouldRetry(1, 200, 'GET', { grpcStatus: 14 }), 'gRPC unavailable');
    assert.ok(rp.shouldRetry(1, 200, 'GET', { grpcStatus: 1 }), 'gRPC cancelled');
    assert.equal(rp.shouldRetry(1, 200, 'GET', { grpcStatus: 13 }), false, 'gRPC internal is not in the default');
  });

  it('attempts 0 or absent disables retries (Istio)', () => {
    assert.equal(new RetryPolicy({ attempts: 0 }).shouldRetry(1, 503, 'GET'), false);
    assert.equal(new RetryPolicy({ retryOn: '5xx' }).shouldRetry(1, 503, 'GET'), false);
  });

  it('5xx covers every 5xx and every local failure', () => {
    const rp = new RetryPolicy({ attempts: 3, retryOn: '5xx' });
    for (const o of [500, 501, 503, 599, 'connect-failure', 'reset', 'timeout', 'refused-stream'] as const) {
      assert.ok(rp.shouldRetry(1, o, 'GET'), String(o));
    }
    assert.equal(rp.shouldRetry(1, 404, 'GET'), false);
    assert.equal(rp.shouldRetry(1, 409, 'GET'), false);
  });

  it('gateway-error covers 502/503/504 and local failures, not 500', () => {
    const rp = new RetryPolicy({ attempts: 1, retryOn: 'gateway-error' });
    assert.ok(rp.shouldRetry(1, 502, 'GET'));
    assert.ok(rp.shouldRetry(1, 504, 'GET'));
    assert.ok(rp.shouldRetry(1, 'timeout', 'GET'));
    assert.equal(rp.shouldRetry(1, 500, 'GET'), false);
  });

  it('connect-failure, reset, refused-stream, retriable-4xx are narrow', () => {
    const cf = new RetryPolicy({ attempts: 1, retryOn: 'connect-failure' });
    assert.ok(cf.shouldRetry(1, 'connect-failure', 'GET'));
    assert.equal(cf.shouldRetry(1, 'reset', 'GET'), false);
    assert.equal(cf.shouldRetry(1, 503, 'GET'), false);
    const reset = new RetryPolicy({ attempts: 1, retryOn: 'reset' });
    assert.ok(reset.shouldRetry(1, 'reset', 'GET'));
    assert.ok(reset.shouldRetry(1, 'timeout', 'GET'));
    assert.equal(reset.shouldRetry(1, 503, 'GET'), false);
    const rs = new RetryPolicy({ attempts: 1, retryOn: 'refused-stream' });
    assert.ok(rs.shouldRetry(1, 'refused-stream', 'GET'));
    assert.equal(rs.shouldRetry(1, 'reset', 'GET'), false);
    const r4 = new RetryPolicy({ attempts: 1, retryOn: 'retriable-4xx' });
    assert.ok(r4.shouldRetry(1, 409, 'GET'));
    assert.equal(r4.shouldRetry(1, 429, 'GET'), false);
  });

  it('bare status codes in retryOn become retriable status codes (and replace the default 503)', () => {
    const rp = new RetryPolicy({ attempts: 2, retryOn: 'connect-failure,429' });
    assert.ok(rp.shouldRetry(1, 429, 'GET'));
    assert.equal(rp.shouldRetry(1, 503, 'GET'), false);
    assert.equal(rp.retryCondition(429), 'retriable-status-codes');
    assert.ok(rp.resolved.retryOn.has('retriable-status-codes'));
  });

  it('does not retry POST or PATCH after a response or reset, unless opted in or an Idempotency-Key is sent', () => {
    const rp = new RetryPolicy({ attempts: 2, retryOn: '5xx' });
    assert.ok(rp.shouldRetry(1, 503, 'GET'));
    assert.ok(rp.shouldRetry(1, 503, 'PUT'));
    assert.ok(rp.shouldRetry(1, 503, 'DELETE'));
    assert.equal(rp.shouldRetry(1, 503, 'POST'), false);
    assert.equal(rp.shouldRetry(1, 503, 'PATCH'), false);
    assert.equal(rp.shouldRetry(1, 'reset', 'POST'), false);
    assert.equal(rp.shouldRetry(1, 'timeout', 'POST'), false);
    assert.ok(rp.shouldRetry(1, 'connect-failure', 'POST'), 'nothing was sent');
    assert.ok(rp.shouldRetry(1, 'refused-stream', 'POST'), 'REFUSED_STREAM means not processed');
    assert.ok(rp.shouldRetry(1, 503, 'POST', { idempotencyKey: true }));
    const optIn = new RetryPolicy({ attempts: 2, retryOn: '5xx' }, { retryNonIdempotent: true });
    assert.ok(optIn.shouldRetry(1, 503, 'POST'));
    assert.ok(isIdempotentMethod('get') && isIdempotentMethod('OPTIONS') && !isIdempotentMethod('CONNECT'));
  });

  it('perTryTimeout is parsed', () => {
    assert.equal(new RetryPolicy({ attempts: 1, perTryTimeout: '250ms' }).perTryTimeoutMs, 250);
    assert.equal(new RetryPolicy({ attempts: 1 }).perTryTimeoutMs, undefined);
  });

  it("back-off is Envoy's full jitter: [0, (2^n-1)·25ms), capped at 250ms", () => {
    const rp = new RetryPolicy({ attempts: 5 });
    assert.equal(rp.backoffMs(1, () => 0.999999), 24);
    assert.equal(rp.backoffMs(2, () => 0.999999), 74);
    assert.equal(rp.backoffMs(3, () => 0.999999), 174);
    assert.equal(rp.backoffMs(4, () => 0.999999), 249);
    assert.equal(rp.backoffMs(10, () => 0.999999), 249);
    assert.equal(rp.backoffMs(3, () => 0), 0);
    const random = seededRandom(5);
    let sum = 0;
    for (let i = 0; i < 1000; i++) {
      const ms = rp.backoffMs(2, random);
      assert.ok(ms >= 0 && ms < 75);
      sum += ms;
    }
    assert.ok(Math.abs(sum / 1000 - 37) < 4, 'uniform: mean about 37ms');
  });
});
