import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { documentedCodes, ERRORS_DOC, loadErrorCatalog } from './error-catalog.js';

test('every error code is in docs/errors.md and the doc lists no code that does not exist', async () => {
  const catalog = await loadErrorCatalog();
  const documented = new Set(documentedCodes(readFileSync(ERRORS_DOC, 'utf8')));
  const defined = new Set(catalog.keys());
  assert.ok(defined.size > 50, `the catalog loaded (${defined.size} codes)`);
  assert.deepEqual([...defined].filter((c) => !documented.has(c)).sort(), [], 'codes missing from docs/errors.md (regenerate it)');
  assert.deepEqual([...documented].filter((c) => !defined.has(c)).sort(), [], 'codes in docs/errors.md that no code defines');
});
