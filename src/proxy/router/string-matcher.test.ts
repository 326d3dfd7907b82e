import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileStringMatch } from './string-matcher.js';

test('exact, prefix and regex are case-sensitive unless the match says ignoreCase', () => {
  assert.equal(compileStringMatch({ exact: '/Health' })('/health'), false);
  assert.equal(compileStringMatch({ exact: '/Health', ignoreCase: true })('/hEALTH'), true);
  assert.equal(compileStringMatch({ exact: '/Health', ignoreCase: true })('/health/x'), false);
  assert.equal(compileStringMatch({ prefix: '/API/' })('/api/v1'), false);
  assert.equal(compileStringMatch({ prefix: '/API/', ignoreCase: true })('/api/v1'), true);
  assert.equal(compileStringMatch({ prefix: '/API/', ignoreCase: true })('/apx/v1'), false);
  assert.equal(compileStringMatch({ regex: '/v[0-9]+' })('/V2'), false);
  assert.equal(compileStringMatch({ regex: '/v[0-9]+', ignoreCase: true })('/V2'), true);
  assert.equal(compileStringMatch({ prefix: '/a', ignoreCase: true })(undefined), false);
});

test('the caller can force case-insensitivity (authority), whatever the match says', () => {
  assert.equal(compileStringMatch({ exact: 'Reviews:9080' }, true)('reviews:9080'), true);
  assert.equal(compileStringMatch({ exact: 'Reviews:9080', ignoreCase: false }, true)('REVIEWS:9080'), true);
});

test('present matches ignore ignoreCase', () => {
  assert.equal(compileStringMatch({ present: true })('x'), true);
  assert.equal(compileStringMatch({ present: false })('x'), false);
  assert.equal(compileStringMatch({ present: false })(undefined), true);
});
