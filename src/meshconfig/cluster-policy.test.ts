import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseDuration,
  percentOf,
  resolveConnectionPool,
  resolveFault,
  resolveOutlierDetection,
  resolveRetry,
  validateConnectionPool,
  validateFault,
  validateLoadBalancer,
  validateOutlierDetection,
  validateRetry,
  validateRetryWith,
  validateTrafficPolicy,
} from './cluster-policy.js';

const paths = (issues: { path: string }[]): string[] => issues.map((i) => i.path);

describe('cluster policy durations', () => {
  it('parses Istio duration strings', () => {
    assert.equal(parseDuration('1s'), 1000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('soon'), undefined);
    assert.equal(parseDuration('10'), undefined);
  });
});

describe('validateLoadBalancer', () => {
  it('accepts the Istio shapes', () => {
    assert.deepEqual(validateLoadBalancer({ simple: 'ROUND_ROBIN' }), []);
    assert.deepEqual(validateLoadBalancer({ consistentHash: { httpHeaderName: 'x-user', maglev: { tableSize: 5003 } } }), []);
    assert.deepEqual(validateLoadBalancer({ consistentHash: { httpCookie: { name: 'sid', ttl: '0s' }, ringHash: { minimumRingSize: 2048 } } }), []);
    assert.deepEqual(validateLoadBalancer({ consistentHash: { useSourceIp: true } }), []);
  });

  it('reports every problem with its path', () => {
    const issues = validateLoadBalancer(
      { simple: 'FASTEST', consistentHash: { httpHeaderName: 'a', useSourceIp: true, maglev: { tableSize: 1000 }, ringHash: {} }, extra: 1 },
      'clusters[0].lbPolicy',
    );
    const p = paths(issues);
    assert.ok(p.includes('clusters[0].lbPolicy.extra'));
    assert.ok(p.includes('clusters[0].lbPolicy.simple'));
    assert.ok(p.includes('clusters[0].lbPolicy.consistentHash'));
    assert.ok(p.includes('clusters[0].lbPolicy.consistentHash.maglev.tableSize'));
    assert.ok(issues.some((i) => /prime/.test(i.message)));
    assert.ok(issues.some((i) => /either simple or consistentHash/.test(i.message)));
    assert.ok(issues.some((i) => /ringHash or maglev/.test(i.message)));
  });

  it('needs a hash key and a cookie name', () => {
    assert.deepEqual(paths(validateLoadBalancer({ consistentHash: {} })), ['loadBalancer.consistentHash']);
    assert.deepEqual(paths(validateLoadBalancer({ consistentHash: { httpCookie: {} } })), ['loadBalancer.consistentHash.httpCookie.name']);
  });
});

describe('validateConnectionPool / validateOutlierDetection', () => {
  it('checks integers, ranges and durations', () => {
    assert.deepEqual(validateConnectionPool({ tcp: { maxConnections: 10, connectTimeout: '1s' }, http: { http1MaxPendingRequests: 1, maxRetries: 0 } }), []);
    const p = paths(validateConnectionPool({ tcp: { maxConnections: 0, connectTimeout: 'fast' }, http: { http2MaxRequests: 1.5, idleTimout: '1s' } }));
    assert.deepEqual(p.sort(), [
      'connectionPool.http.http2MaxRequests',
      'connectionPool.http.idleTimout',
      'connectionPool.tcp.connectTimeout',
      'connectionPool.tcp.maxConnections',
    ]);
    assert.deepEqual(validateOutlierDetection({ consecutive5xxErrors: 3, interval: '1s', baseEjectionTime: '30s', maxEjectionPercent: 100 }), []);
    const od = paths(validateOutlierDetection({ maxEjectionPercent: 150, minHealthPercent: -1, interval: '0s', consecutiveLocalOriginFailures: 2 }));
    assert.deepEqual(od.sort(), [
      'outlierDetection.consecutiveLocalOriginFailures',
      'outlierDetection.interval',
      'outlierDetection.maxEjectionPercent',
      'outlierDetection.minHealthPercent',
    ]);
  });

  it('validateTrafficPolicy prefixes nested paths', () => {
    const p = paths(validateTrafficPolicy({ loadBalancer: { simple: 'X' }, outlierDetection: { interval: 5 } }, 'tp'));
    assert.deepEqual(p, ['tp.loadBalancer.simple', 'tp.outlierDetection.interval']);
    assert.deepEqual(paths(validateTrafficPolicy('nope')), ['trafficPolicy']);
  });
});

describe('validateRetry / validateFault', () => {
  it('knows the retryOn vocabulary and bare status codes', () => {
    assert.deepEqual(validateRetry({ attempts: 3, perTryTimeout: '2s', retryOn: 'gateway-error,connect-failure,refused-stream,503,unavailable' }), []);
    const issues = validateRetry({ attempts: -1, retryOn: '5xx,sometimes,999' });
    assert.deepEqual(paths(issues), ['retries.attempts', 'retries.retryOn', 'retries.retryOn']);
    assert.ok(issues.some((i) => i.message.includes('"sometimes"')));
    assert.deepEqual(validateRetryWith({ attempts: 1, retryNonIdempotent: true }, 'r', ['retryNonIdempotent']), []);
    assert.deepEqual(paths(validateRetry({ attempts: 1, retryNonIdempotent: true })), ['retries.retryNonIdempotent']);
  });

  it('checks fault shapes', () => {
    assert.deepEqual(validateFault({ delay: { fixedDelay: '5s', percentage: { value: 10 } }, abort: { httpStatus: 503, percentage: { value: 0.1 } } }), []);
    const p = paths(validateFault({ delay: { percentage: { value: 120 } }, abort: { httpStatus: 99 } }));
    assert.deepEqual(p, ['fault.delay.fixedDelay', 'fault.delay.percentage.value', 'fault.abort.httpStatus']);
    assert.deepEqual(paths(validateFault({})), ['fault']);
  });
});

describe('resolvers', () => {
  it('apply Istio defaults', () => {
    const od = resolveOutlierDetection({});
    assert.deepEqual(od, {
      consecutive5xxErrors: 5,
      consecutiveGatewayErrors: 0,
      consecutiveLocalOriginFailures: 5,
      splitExternalLocalOriginErrors: false,
      intervalMs: 10_000,
      baseEjectionTimeMs: 30_000,
      maxEjectionTimeMs: 300_000,
      maxEjectionPercent: 10,
      minHealthPercent: 0,
    });
    assert.equal(resolveOutlierDetection(undefined), undefined);
    assert.equal(resolveConnectionPool({ http: { idleTimeout: '5m' } }).idleTimeoutMs, 300_000);
    const r = resolveRetry(undefined);
    assert.equal(r.attempts, 2);
    assert.deepEqual([...r.retriableStatusCodes], [503]);
    assert.deepEqual(resolveFault({ abort: { httpStatus: 503 } }), { delayPercent: 0, delayMs: 0, abortPercent: 0, abortStatus: 503 });
    assert.equal(percentOf({ value: 150 }), 100);
    assert.equal(percentOf(undefined), 0);
  });
});
