import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFieldSelector, matchesFieldSelector } from './field-selector.js';

test('field selectors compare dotted paths, missing as empty', () => {
  const obj = { metadata: { name: 'web' }, status: { phase: 'Running' } };
  assert.equal(matchesFieldSelector(parseFieldSelector('metadata.name=web,status.phase!=Pending'), obj), true);
  assert.equal(matchesFieldSelector(parseFieldSelector('status.phase=Pending'), obj), false);
  assert.equal(matchesFieldSelector(parseFieldSelector('spec.nodeName='), obj), true);
  assert.throws(() => parseFieldSelector('metadata.name'), { code: 'MBX_STORE_INVALID' });
});
