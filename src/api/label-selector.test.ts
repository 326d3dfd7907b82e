import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLabelSelector, selectorFromObject, matchesLabelSelector, labelSelectorToString } from './label-selector.js';

test('string selectors: equality, inequality, sets, existence', () => {
  const s = parseLabelSelector('app=web, tier!=db,env in (prod, staging),track notin (canary),!legacy,team');
  assert.equal(s.requirements.length, 6);
  assert.equal(s.matches({ app: 'web', env: 'prod', team: 'a' }), true);
  assert.equal(s.matches({ app: 'web', env: 'prod', team: 'a', tier: 'db' }), false);
  assert.equal(s.matches({ app: 'web', env: 'dev', team: 'a' }), false);
  assert.equal(s.matches({ app: 'web', env: 'prod', team: 'a', track: 'canary' }), false);
  assert.equal(s.matches({ app: 'web', env: 'prod', team: 'a', legacy: 'x' }), false);
  assert.equal(s.matches({ app: 'web', env: 'prod' }), false);
  assert.equal(s.matches(undefined), false);
  assert.equal(parseLabelSelector('a==b').matches({ a: 'b' }), true);
  assert.equal(parseLabelSelector('v>3').matches({ v: '4' }), true);
  assert.equal(parseLabelSelector('v>3').matches({ v: '3' }), false);
});

test('empty string selects everything; bad syntax is MBX_API_INVALID_SELECTOR', () => {
  assert.equal(parseLabelSelector('').matches(undefined), true);
  assert.equal(parseLabelSelector('').empty, true);
  for (const bad of ['a=b,,c', 'a in b', '=x', 'a=b c', 'a in (b', 'a=' + 'x'.repeat(64)]) {
    assert.throws(() => parseLabelSelector(bad), { code: 'MBX_API_INVALID_SELECTOR' }, bad);
  }
});

test('object selectors: nil selects nothing, {} everything, expressions', () => {
  assert.equal(matchesLabelSelector(undefined, { a: 'b' }), false);
  assert.equal(matchesLabelSelector({}, { a: 'b' }), true);
  const sel = {
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'env', operator: 'In', values: ['prod'] },
      { key: 'old', operator: 'DoesNotExist' },
    ],
  };
  assert.equal(matchesLabelSelector(sel, { app: 'web', env: 'prod' }), true);
  assert.equal(matchesLabelSelector(sel, { app: 'web', env: 'prod', old: '1' }), false);
  assert.equal(matchesLabelSelector(sel, { app: 'api', env: 'prod' }), false);
  assert.equal(labelSelectorToString(sel), 'app=web,env=prod,!old');
  assert.throws(() => selectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] }), {
    code: 'MBX_API_INVALID_SELECTOR',
  });
  assert.throws(() => selectorFromObject({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }), {
    code: 'MBX_API_INVALID_SELECTOR',
  });
  // the string form round-trips
  const again = parseLabelSelector(labelSelectorToString(sel));
  assert.equal(again.matches({ app: 'web', env: 'prod' }), true);
  assert.equal(again.matches({ app: 'web', env: 'prod', old: '' }), false);
});

