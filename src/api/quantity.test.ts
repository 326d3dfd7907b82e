import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findCause } from '../core/errors.js';
import { Quantity, quantityToBytes, quantityToMillicores } from './quantity.js';

describe('quantities', () => {
  it('parses memory quantities to bytes', () => {
    const cases: [string | number, number][] = [
      ['128Mi', 128 * 1024 * 1024],
      ['1Ki', 1024],
      ['1Gi', 2 ** 30],
      ['1.5Gi', 1.5 * 2 ** 30],
      ['1G', 1e9],
      ['1k', 1000],
      ['1e3', 1000],
      ['1E3', 1000],
      ['1E', 1e18],
      ['12e-1', 2],
      ['0', 0],
      ['.5Ki', 512],
      ['1.', 1],
      ['+3', 3],
      ['100m', 1],
      [1024, 1024],
      [1e3, 1000],
    ];
    for (const [input, bytes] of cases) assert.equal(quantityToBytes(input), bytes, String(input));
  });

  it('parses cpu quantities to millicores, exactly', () => {
    const cases: [string | number, number][] = [
      ['500m', 500],
      ['0.5', 500],
      ['2', 2000],
      ['0.3', 300],
      ['0.1', 100],
      ['1.0001', 1001],
      ['250u', Number.NaN],
      [0.5, 500],
      [2, 2000],
      ['1m', 1],
    ];
    for (const [input, milli] of cases) {
      if (Number.isNaN(milli)) assert.throws(() => quantityToMillicores(input), String(input));
      else assert.equal(quantityToMillicores(input), milli, String(input));
    }
  });

  it('rejects what Kubernetes rejects, with a coded error that says what to write', () => {
    for (const bad of ['', '128MB', '1.5.5', 'Mi', '1 Gi', '- 1', '1e', 'e3', '0x10', '1Kib', 'abc', '1e999']) {
      assert.throws(
        () => Quantity.parse(bad),
        (err: unknown) => findCause(err, 'MBX_API_INVALID_QUANTITY') !== undefined && /e\.g\. "128Mi"/.test((err as Error).message),
        bad,
      );
    }
    assert.equal(typeof Quantity.tryParse(Number.POSITIVE_INFINITY), 'string');
    assert.equal(typeof Quantity.tryParse(null), 'string');
  });

  it('compares exactly across suffixes', () => {
    const q = (s: string) => Quantity.parse(s);
    assert.equal(q('1Gi').compare(q('1G')), 1);
    assert.equal(q('1000m').compare(q('1')), 0);
    assert.equal(q('500m').compare(q('0.5')), 0);
    assert.equal(q('0.3').compare(q('301m')), -1);
    assert.equal(q('-1').compare(q('0')), -1);
    assert.equal(q('-1').negative, true);
  });

  it('rounds up to whole units, as Kubernetes Value() does', () => {
    assert.equal(Quantity.parse('1.5').value(), 2);
    assert.equal(Quantity.parse('1m').value(), 1);
    assert.equal(Quantity.parse('-1.5').value(), -1);
  });
});
