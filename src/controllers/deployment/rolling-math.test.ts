import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCause } from '../../core/errors.js';
import type { Deployment } from '../workloads-shared/types.js';
import { maxSurge, maxUnavailable, resolveFenceposts, scaledValue } from './rolling-math.js';

test('percentages: surge rounds up, unavailable rounds down', () => {
  assert.deepEqual(resolveFenceposts('25%', '25%', 10), { surge: 3, unavailable: 2 });
  assert.deepEqual(resolveFenceposts('25%', '25%', 4), { surge: 1, unavailable: 1 });
  assert.deepEqual(resolveFenceposts('25%', '25%', 1), { surge: 1, unavailable: 0 });
  assert.deepEqual(resolveFenceposts(undefined, undefined, 3), { surge: 1, unavailable: 0 });
  assert.deepEqual(resolveFenceposts(2, 1, 3), { surge: 2, unavailable: 1 });
  assert.deepEqual(resolveFenceposts('100%', '0%', 3), { surge: 3, unavailable: 0 });
});

test('both zero allows one unavailable pod', () => {
  assert.deepEqual(resolveFenceposts(0, 0, 5), { surge: 0, unavailable: 1 });
  assert.deepEqual(resolveFenceposts('0%', '10%', 5), { surge: 0, unavailable: 1 });
});

test('bad values are errors that say what to write', () => {
  assert.throws(() => scaledValue('abc', 4, true, 'spec.strategy.rollingUpdate.maxSurge', '25%'), (err: unknown) => {
    assert.ok(findCause(err, 'MBX_WORKLOADS_INVALID_INT_OR_PERCENT'));
    assert.match((err as Error).message, /maxSurge is "abc"; use a non-negative integer or a percentage/);
    return true;
  });
  assert.throws(() => scaledValue(-1, 4, true, 'x', '25%'));
  assert.equal(scaledValue('3', 4, true, 'x', '25%'), 3, 'a numeric string is an integer');
});

test('Recreate has no surge and no unavailable budget; unavailable never exceeds replicas', () => {
  const d = (strategy: Deployment['spec']['strategy'], replicas = 4) =>
    ({ spec: { replicas, strategy, selector: {}, template: { spec: { containers: [] } } } }) as unknown as Deployment;
  assert.equal(maxSurge(d({ type: 'Recreate' })), 0);
  assert.equal(maxUnavailable(d({ type: 'Recreate' })), 0);
  assert.equal(maxUnavailable(d({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 10 } }, 3)), 3);
  assert.equal(maxUnavailable(d({ type: 'RollingUpdate' }, 0)), 0);
  assert.equal(maxSurge(d(undefined, 8)), 2);
});
