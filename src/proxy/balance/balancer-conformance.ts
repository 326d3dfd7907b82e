/**
 * The conformance suite every balancer runs (hono's runTest idea): one set of cases, each
 * strategy's test file calls runBalancerSuite with a factory and lists skips with reasons.
 *
 *   runBalancerSuite({ name, newBalancer(endpoints, random), consistentHash?, skip? })
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EndpointState } from './endpoint-state.js';
import type { BalancerOptions, LoadBalancer } from './load-balancer.js';
import { seededRandom } from '../../core/seeded-random.js';

export type BalancerCase =
  | 'empty'
  | 'weights'
  | 'ejected'
  | 'all-ejected'
  | 'panic'
  | 'exclude'
  | 'zero-weight'
  | 'sticky'
  | 'removal'
  | 'ejection-moves-only-owned-keys';

export interface BalancerSuite {
  name: string;
  newBalancer(endpoints: readonly EndpointState[], options: BalancerOptions): LoadBalancer;
  /** consistent-hash balancers: picks use keys, and the stickiness cases run */
  consistentHash?: boolean;
  /** cases to skip, each with the reason */
  skip?: Partial<Record<BalancerCase, string>>;
}

export function makeEndpoints(weights: readonly number[]): EndpointState[] {
  return weights.map((weight, i) => new EndpointState({ address: `10.9.0.${i + 1}`, port: 8080, weight }));
}

export function runBalancerSuite(suite: BalancerSuite): void {
  const hashing = suite.consistentHash === true;
  const testCase = (name: BalancerCase, fn: () => void): void => {
    const reason = suite.skip?.[name];
    if (reason !== undefined) it(name, { skip: reason }, () => {});
    else it(name, fn);
  };
  const keyOf = (i: number): string | undefined => (hashing ? `user-${i}` : undefined);

  describe(`${suite.name} (balancer conformance)`, () => {
    testCase('empty', () => {
      const lb = suite.newBalancer([], { random: seededRandom(1) });
      assert.equal(lb.pick(), undefined);
      assert.equal(lb.pick({ hashKey: 'k' }), undefined);
    });

    testCase('weights', () => {
      const weights = [1, 2, 3, 4];
      const eps = makeEndpoints(weights);
      const lb = suite.newBalancer(eps, { random: seededRandom(42) });
      const counts = new Map<EndpointState, number>();
      const picks = 40_000;
      for (let i = 0; i < picks; i++) {
        const ep = lb.pick({ hashKey: keyOf(i) });
        assert.ok(ep);
        counts.set(ep, (counts.get(ep) ?? 0) + 1);
      }
      eps.forEach((ep, i) => {
        const share = (counts.get(ep) ?? 0) / picks;
        const want = (weights[i] as number) / 10;
        // Hash balancers spread a finite key set over a finite ring/table, so allow more slack.
        const tolerance = hashing ? 0.03 : 0.01;
        assert.ok(Math.abs(share - want) <= tolerance, `endpoint ${i}: share ${share.toFixed(4)}, want ${want} ±${tolerance}`);
      });
    });

    testCase('ejected', () => {
      const eps = makeEndpoints([1, 1, 1, 1]);
      const lb = suite.newBalancer(eps, { random: seededRandom(7) });
      (eps[1] as EndpointState).eject(0, 30_000, 'consecutive_5xx');
      (eps[3] as EndpointState).eject(0, 30_000, 'consecutive_5xx');
      const seen = new Set<EndpointState>();
      for (let i = 0; i < 2000; i++) {
        const ep = lb.pick({ hashKey: keyOf(i) });
        assert.ok(ep && !ep.ejected, 'an ejected endpoint was picked');
        seen.add(ep);
      }
      assert.equal(seen.size, 2, 'both healthy endpoints get traffic');
      (eps[1] as EndpointState).uneject();
      let back = 0;
      for (let i = 0; i < 2000; i++) if (lb.pick({ hashKey: keyOf(i) }) === eps[1]) back++;
      assert.ok(back > 0, 'a returned endpoint gets traffic again');
    });

    testCase('all-ejected', () => {
      const eps = makeEndpoints([1, 2]);
      const lb = suite.newBalancer(eps, { random: seededRandom(3) });
      for (const ep of eps) ep.eject(0, 30_000, 'consecutive_5xx');
      assert.equal(lb.pick({ hashKey: keyOf(1) }), undefined);
      assert.equal(lb.pick({ hashKey: keyOf(2), exclude: new Set([eps[0] as EndpointState]) }), undefined);
    });

    testCase('panic', () => {
      const eps = makeEndpoints([1, 1, 1, 1]);
      const lb = suite.newBalancer(eps, { random: seededRandom(5), panicThresholdPercent: 50 });
      (eps[0] as EndpointState).eject(0, 30_000, 'consecutive_5xx');
      for (let i = 0; i < 500; i++) assert.notEqual(lb.pick({ hashKey: keyOf(i) }), eps[0], '75% healthy is not panic');
      (eps[1] as EndpointState).eject(0, 30_000, 'consecutive_5xx');
      (eps[2] as EndpointState).eject(0, 30_000, 'consecutive_5xx');
      const seen = new Set<EndpointState | undefined>();
      for (let i = 0; i < 2000; i++) seen.add(lb.pick({ hashKey: keyOf(i) }));
      assert.ok(!seen.has(undefined));
      assert.ok([...seen].some((ep) => ep?.ejected), 'in panic (25% < 50%) ejected endpoints are used');
    });

    testCase('exclude', () => {
      const eps = makeEndpoints([1, 1, 1, 1]);
      const lb = suite.newBalancer(eps, { random: seededRandom(9) });
      const exclude = new Set([eps[0] as EndpointState, eps[2] as EndpointState]);
      for (let i = 0; i < 2000; i++) {
        const ep = lb.pick({ hashKey: keyOf(i), exclude });
        assert.ok(ep && !exclude.has(ep), 'an excluded endpoint was picked while others were eligible');
      }
      // Only excluded endpoints left: exclusion is a preference, so a retry still finds one.
      const all = new Set(eps);
      assert.ok(lb.pick({ hashKey: keyOf(1), exclude: all }));
      // ... but never an ejected one.
      for (const ep of eps.slice(1)) ep.eject(0, 30_000, 'consecutive_5xx');
      for (let i = 0; i < 200; i++) assert.equal(lb.pick({ hashKey: keyOf(i), exclude: new Set([eps[0] as EndpointState]) }), eps[0]);
    });

    testCase('zero-weight', () => {
      const eps = makeEndpoints([0, 1, 1]);
      const lb = suite.newBalancer(eps, { random: seededRandom(11) });
      for (let i = 0; i < 2000; i++) assert.notEqual(lb.pick({ hashKey: keyOf(i) }), eps[0]);
    });

    if (!hashing) return;

    testCase('sticky', () => {
      const eps = makeEndpoints([1, 1, 1, 1, 1]);
      const lb = suite.newBalancer(eps, { random: seededRandom(13) });
      const again = suite.newBalancer(makeEndpoints([1, 1, 1, 1, 1]), { random: seededRandom(99) });
      for (let i = 0; i < 500; i++) {
        const first = lb.pick({ hashKey: `user-${i}` });
        for (let r = 0; r < 3; r++) assert.equal(lb.pick({ hashKey: `user-${i}` }), first);
        // Same endpoints in another balancer (another proxy, after a restart): same choice.
        assert.equal(again.pick({ hashKey: `user-${i}` })?.key, first?.key);
      }
    });

    testCase('removal', () => {
      const n = 5;
      const before = suite.newBalancer(makeEndpoints(new Array(n).fill(1)), { random: seededRandom(1) });
      const after = suite.newBalancer(makeEndpoints(new Array(n).fill(1)).slice(0, n - 1), { random: seededRandom(1) });
      const keys = 10_000;
      let moved = 0;
      for (let i = 0; i < keys; i++) {
        const a = before.pick({ hashKey: `user-${i}` })?.key;
        const b = after.pick({ hashKey: `user-${i}` })?.key;
        if (a !== b) moved++;
      }
      const share = moved / keys;
      assert.ok(share >= 1 / n - 0.05 && share <= 1 / n + 0.06, `moved ${share.toFixed(3)} of keys, want about ${1 / n}`);
    });

    testCase('ejection-moves-only-owned-keys', () => {
      const eps = makeEndpoints([1, 1, 1, 1]);
      const lb = suite.newBalancer(eps, { random: seededRandom(1) });
      const owner = new Map<number, EndpointState | undefined>();
      for (let i = 0; i < 4000; i++) owner.set(i, lb.pick({ hashKey: `user-${i}` }));
      (eps[2] as EndpointState).eject(0, 30_000, 'consecutive_5xx');
      for (let i = 0; i < 4000; i++) {
        const now = lb.pick({ hashKey: `user-${i}` });
        if (owner.get(i) !== eps[2]) assert.equal(now, owner.get(i), `key user-${i} moved though its endpoint is healthy`);
        else assert.notEqual(now, eps[2]);
      }
    });
  });
}
