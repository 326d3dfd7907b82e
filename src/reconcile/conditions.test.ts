import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Condition } from '../api/types.js';
import {
  conditionStatus,
  getCondition,
  isConditionFalse,
  isConditionTrue,
  removeStatusCondition,
  setStatusCondition,
  withCondition,
} from './conditions.js';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

test('a missing condition reads as Unknown', () => {
  assert.equal(conditionStatus(undefined, 'Ready'), 'Unknown');
  assert.equal(conditionStatus([{ type: 'Other', status: 'True' }], 'Ready'), 'Unknown');
  assert.equal(isConditionTrue(undefined, 'Ready'), false);
  assert.equal(isConditionFalse(undefined, 'Ready'), false);
});

test('lastTransitionTime changes only when status changes', () => {
  const conds: Condition[] = [];
  assert.equal(setStatusCondition(conds, { type: 'Ready', status: 'False', reason: 'Starting' }, T0), true);
  assert.equal(getCondition(conds, 'Ready')?.lastTransitionTime, '2026-01-01T00:00:00Z');

  assert.equal(setStatusCondition(conds, { type: 'Ready', status: 'False', reason: 'Starting' }, T0 + 5000), false, 'no change');
  assert.equal(setStatusCondition(conds, { type: 'Ready', status: 'False', reason: 'ProbeFailed', message: 'x' }, T0 + 6000), true);
  assert.equal(getCondition(conds, 'Ready')?.lastTransitionTime, '2026-01-01T00:00:00Z', 'reason change keeps the time');
  assert.equal(getCondition(conds, 'Ready')?.reason, 'ProbeFailed');

  assert.equal(setStatusCondition(conds, { type: 'Ready', status: 'True', reason: 'Ready' }, T0 + 60_000), true);
  assert.equal(getCondition(conds, 'Ready')?.lastTransitionTime, '2026-01-01T00:01:00Z');
  assert.ok(isConditionTrue(conds, 'Ready'));
  assert.equal(conds.length, 1);
});

test('withCondition leaves frozen input alone; removeStatusCondition', () => {
  const frozen = Object.freeze([Object.freeze({ type: 'Ready', status: 'True' as const, lastTransitionTime: 'old' })]);
  const next = withCondition(frozen, { type: 'Available', status: 'False', observedGeneration: 3 }, T0);
  assert.equal(frozen.length, 1);
  assert.deepEqual(next.map((c) => c.type), ['Ready', 'Available']);
  assert.equal(getCondition(next, 'Available')?.observedGeneration, 3);
  assert.equal(removeStatusCondition(next, 'Ready'), true);
  assert.equal(removeStatusCondition(next, 'Ready'), false);
  assert.deepEqual(next.map((c) => c.type), ['Available']);
});
