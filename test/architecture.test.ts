// The import direction of DESIGN.md, checked on the source: a folder may import only the folders
// listed for it (playwright's DEPS.list idea, as one table).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = join(root, 'src');

const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  api: ['core'],
  store: ['core', 'api'],
  cni: ['core'],
  runtime: ['core', 'api', 'cni'],
  meshconfig: ['core'],
  proxy: ['core', 'meshconfig'],
  reconcile: ['core', 'api', 'store'],
  netfilter: ['core'],
  controllers: ['core', 'api', 'store', 'reconcile', 'runtime', 'cni', 'meshconfig', 'netfilter'],
  controlplane: ['core', 'api', 'store', 'reconcile', 'meshconfig'],
  dns: ['core', 'api', 'store'],
  daemon: ['core', 'api', 'store', 'cni', 'runtime', 'reconcile', 'controllers', 'controlplane', 'dns', 'meshconfig', 'netfilter'],
  // controllers: only the pure, client-side rollout logic (kubectl keeps it client-side too)
  cli: ['core', 'api', 'daemon', 'proxy', 'meshconfig', 'controllers'],
};

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (path.endsWith('.ts') && !path.endsWith('.test.ts')) yield path;
  }
}

test('every src folder imports only what DESIGN.md allows', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(src)) {
    const folder = relative(src, file).split('/')[0]!;
    const allowed = ALLOWED[folder];
    if (!allowed) {
      violations.push(`${relative(root, file)}: folder src/${folder} is not in the import table`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)) {
      const target = relative(src, resolve(dirname(file), m[1]!)).split('/')[0]!;
      if (target !== folder && !allowed.includes(target)) {
        violations.push(`${relative(root, file)} imports src/${target} (${m[1]})`);
      }
    }
  }
  assert.deepEqual(violations, []);
});
