import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../core/clock.js';
import { EndpointState } from '../balance/endpoint-state.js';
import { createBalancer } from '../balance/create-balancer.js';
import { seededRandom } from '../../core/seeded-random.js';
import { OutlierDetector } from './outlier-detector.js';

function endpoints(n: number): EndpointState[] {
  return Array.from({ length: n }, (_, i) => new EndpointState({ address: `10.8.0.${i + 1}`, port: 80 }));
}

describe('OutlierDetector', () => {
  it('ejects at once on the 5th consecutive 5xx (default), not before', () => {
    const clock = new ManualClock(1000);
    const eps = endpoints(2);
    const ep = eps[0] as EndpointState;
    const od = new OutlierDetector({ maxEjectionPercent: 100 }, eps, { clock });
    for (let i = 0; i < 4; i++) od.record(ep, 500);
    assert.equal(ep.ejected, false);
    od.record(ep, 500);
    assert.equal(ep.ejected, true);
    assert.equal(ep.outlier.lastReason, 'consecutive_5xx');
    assert.equal(od.stats.ejectionsConsecutive5xx, 1);
    assert.equal(od.ejectedCount, 1);
  });

  it('a success resets the streak', () => {
    const eps = endpoints(2);
    const ep = eps[0] as EndpointState;
    const od = new OutlierDetector({ consecutive5xxErrors: 3, maxEjectionPercent: 100 }, eps, { clock: new ManualClock() });
    od.record(ep, 503);
    od.record(ep, 503);
    od.record(ep, 200);
    od.record(ep, 503);
    od.record(ep, 503);
    assert.equal(ep.ejected, false);
    od.record(ep, 500);
    assert.equal(ep.ejected, true);
  });

  it('gateway errors count 502/503/504 only; a 500 resets that counter', () => {
    const eps = endpoints(2);
    const ep = eps[0] as EndpointState;
    const od = new OutlierDetector({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 2, maxEjectionPercent: 100 }, eps, {
      clock: new ManualClock(),
    });
    od.record(ep, 502);
    od.record(ep, 500);
    od.record(ep, 504);
    assert.equal(ep.ejected, false);
    od.record(ep, 503);
    assert.equal(ep.ejected, true);
    assert.equal(ep.outlier.lastReason, 'consecutive_gateway_failure');
  });

  it('local failures count as gateway errors and 5xx unless split', () => {
    const eps = endpoints(2);
    const [a, b] = eps as [EndpointState, EndpointState];
    const od = new OutlierDetector({ consecutive5xxErrors: 3, maxEjectionPercent: 100 }, eps, { clock: new ManualClock() });
    od.record(a, 'connect-failure');
    od.record(a, 'reset');
    od.record(a, 'timeout');
    assert.equal(a.ejected, true);
    const gw = new OutlierDetector({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 2, maxEjectionPercent: 100 }, eps, {
      clock: new ManualClock(),
    });
    gw.record(b, 'timeout');
    gw.record(b, 'refused-stream');
    assert.equal(b.ejected, true);
  });

  it('with splitExternalLocalOriginErrors, local failures use their own counter', () => {
    const eps = endpoints(2);
    const ep = eps[0] as EndpointState;
    const od = new OutlierDetector(
      { consecutive5xxErrors: 2, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 3, maxEjectionPercent: 100 },
      eps,
      { clock: new ManualClock() },
    );
    od.record(ep, 'connect-failure');
    od.record(ep, 'connect-failure');
    assert.equal(ep.ejected, false, 'local failures do not feed consecutive5xxErrors when split');
    od.record(ep, 'connect-failure');
    assert.equal(ep.ejected, true);
    assert.equal(ep.outlier.lastReason, 'consecutive_local_origin_failure');
  });

  it('returns the endpoint after base × count, at the sweep, and ejects longer each time', () => {
    const clock = new ManualClock(0);
    const eps = endpoints(2);
    const ep = eps[0] as EndpointState;
    const od = new OutlierDetector(
      { consecutive5xxErrors: 1, baseEjectionTime: '30s', interval: '1s', maxEjectionPercent: 100 },
      eps,
      { clock },
    );
    od.start();
    od.record(ep, 500);
    assert.ok(ep.ejected);
    clock.advance(29_000);
    assert.ok(ep.ejected, 'still ejected before 30s');
    clock.advance(1_000);
    assert.equal(ep.ejected, false, 'back after 30s');
    od.record(ep, 500);
    assert.ok(ep.ejected);
    assert.equal(ep.outlier.ejectionDurationMs, 60_000, 'second ejection lasts 2 × base');
    clock.advance(59_000);
    assert.ok(ep.ejected);
    clock.advance(1_000);
    assert.equal(ep.ejected, false);
    od.stop();
  });

  it('the multiplier decays while the endpoint stays healthy, and is capped at 300 s', () => {
    const clock = new ManualClock(0);
    const eps = endpoints(1);
    const ep = eps[0] as EndpointState;
    const od = new OutlierDetector({ consecutive5xxErrors: 1, baseEjectionTime: '100s', interval: '1s', maxEjectionPercent: 100 }, eps, {
      clock,
    });
    for (let i = 0; i < 5; i++) {
      od.record(ep, 500);
      clock.advance(400_000);
      od.sweep();
    }
    assert.equal(ep.outlier.ejectionDurationMs, 300_000, 'capped at max(300s, base)');
    const before = ep.outlier.multiplier;
    od.sweep();
    od.sweep();
    assert.ok(ep.outlier.multiplier < before, 'healthy sweeps lower the multiplier');
  });

  it('maxEjectionPercent caps ejections (Envoy: share after the ejection must fit)', () => {
    const eps = endpoints(4);
    const od = new OutlierDetector({ consecutive5xxErrors: 1, maxEjectionPercent: 50 }, eps, { clock: new ManualClock() });
    for (const ep of eps) od.record(ep, 500);
    assert.equal(eps.filter((e) => e.ejected).length, 2);
    assert.equal(od.stats.ejectionsOverflow, 2);
    const small = endpoints(3);
    const def = new OutlierDetector({ consecutive5xxErrors: 1 }, small, { clock: new ManualClock() });
    def.record(small[0] as EndpointState, 500);
    assert.equal((small[0] as EndpointState).ejected, false, 'default 10% ejects nothing among 3');
    const one = new OutlierDetector({ consecutive5xxErrors: 1 }, small, { clock: new ManualClock(), alwaysEjectOneHost: true });
    one.record(small[0] as EndpointState, 500);
    one.record(small[1] as EndpointState, 500);
    assert.equal(small.filter((e) => e.ejected).length, 1, 'alwaysEjectOneHost allows exactly one');
  });

  it('works with a balancer: ejected endpoint gets no traffic, then returns', () => {
    const clock = new ManualClock(0);
    const eps = endpoints(3);
    const lb = createBalancer({ simple: 'ROUND_ROBIN' }, eps, { random: seededRandom(1) });
    const od = new OutlierDetector({ consecutive5xxErrors: 2, baseEjectionTime: '10s', interval: '1s', maxEjectionPercent: 100 }, eps, {
      clock,
    });
    const bad = eps[1] as EndpointState;
    const ejectedEvents: string[] = [];
    const od2 = new OutlierDetector({ consecutive5xxErrors: 2, maxEjectionPercent: 100 }, eps, {
      clock,
      onEject: (ep, reason, ms) => ejectedEvents.push(`${ep.key} ${reason} ${ms}`),
    });
    for (let i = 0; i < 30; i++) {
      const ep = lb.pick()!;
      od.record(ep, ep === bad ? 503 : 200);
    }
    assert.ok(bad.ejected);
    for (let i = 0; i < 30; i++) assert.notEqual(lb.pick(), bad);
    clock.advance(10_000);
    od.sweep();
    assert.equal(bad.ejected, false);
    assert.ok(Array.from({ length: 6 }, () => lb.pick()).includes(bad));
    od2.record(eps[0] as EndpointState, 500);
    od2.record(eps[0] as EndpointState, 500);
    assert.deepEqual(ejectedEvents, ['10.8.0.1:80 consecutive_5xx 30000']);
  });
});
