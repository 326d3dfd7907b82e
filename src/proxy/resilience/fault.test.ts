import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveFault } from '../../meshconfig/cluster-policy.js';
import { seededRandom } from '../../core/seeded-random.js';
import { NO_FAULT, decideFault, shouldMirror } from './fault.js';

describe('decideFault', () => {
  it('no fault, or no percentage, decides nothing (Istio: missing percentage = 0%)', () => {
    assert.equal(decideFault(undefined, Math.random), NO_FAULT);
    assert.equal(decideFault({ abort: { httpStatus: 503 } }, () => 0), NO_FAULT);
  });

  it('100% delay and abort both apply', () => {
    const f = resolveFault({ delay: { fixedDelay: '2s', percentage: { value: 100 } }, abort: { httpStatus: 418, percentage: { value: 100 } } });
    assert.deepEqual(decideFault(f, seededRandom(1)), { delayMs: 2000, abortStatus: 418 });
  });

  it('percentages hold over many requests, independently', () => {
    const f = resolveFault({ delay: { fixedDelay: '10ms', percentage: { value: 30 } }, abort: { httpStatus: 503, percentage: { value: 10 } } });
    const random = seededRandom(7);
    let delays = 0;
    let aborts = 0;
    let both = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const d = decideFault(f, random);
      if (d.delayMs !== undefined) delays++;
      if (d.abortStatus !== undefined) aborts++;
      if (d.delayMs !== undefined && d.abortStatus !== undefined) both++;
    }
    assert.ok(Math.abs(delays / n - 0.3) < 0.015, `delays ${delays / n}`);
    assert.ok(Math.abs(aborts / n - 0.1) < 0.01, `aborts ${aborts / n}`);
    assert.ok(Math.abs(both / n - 0.03) < 0.006, `both ${both / n}`);
  });

  it('takes the raw Istio shape too', () => {
    assert.deepEqual(decideFault({ abort: { httpStatus: 500, percentage: { value: 100 } } }, () => 0.5), { abortStatus: 500 });
  });
});

describe('shouldMirror', () => {
  it('absent percentage mirrors everything; 0 never; fractions hold', () => {
    assert.ok(shouldMirror(undefined, () => 0.99));
    assert.equal(shouldMirror({ value: 0 }, () => 0), false);
    assert.ok(shouldMirror(100, () => 0.999));
    const random = seededRandom(3);
    let n = 0;
    for (let i = 0; i < 10_000; i++) if (shouldMirror({ value: 25 }, random)) n++;
    assert.ok(Math.abs(n / 10_000 - 0.25) < 0.015, `mirrored ${n / 10_000}`);
  });
});
