/**
 * DESIGN.md: the proxy never imports store/, controllers/ or controlplane/, and meshconfig/ (shared
 * with the control plane) never imports proxy/. This checks the folders of the balancing and
 * resilience layers and cluster-policy.ts, reading the TypeScript sources.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'src'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1] as string);
}

it('balance/ and resilience/ import only core/, meshconfig/ and each other', () => {
  const root = repoRoot();
  const src = join(root, 'src');
  const allowed = ['core', 'meshconfig', 'proxy/balance', 'proxy/resilience'].map((p) => join(src, p));
  const files = [...tsFiles(join(src, 'proxy/balance')), ...tsFiles(join(src, 'proxy/resilience'))];
  assert.ok(files.length > 10);
  for (const file of files) {
    for (const spec of importsOf(file)) {
      if (!spec.startsWith('.')) {
        assert.ok(spec.startsWith('node:'), `${relative(root, file)} imports package ${spec}; these layers use node: built-ins only`);
        continue;
      }
      const target = resolve(dirname(file), spec);
      assert.ok(allowed.some((a) => target.startsWith(a)), `${relative(root, file)} imports ${spec}`);
    }
  }
});

it('meshconfig/cluster-policy.ts imports nothing from proxy/', () => {
  const file = join(repoRoot(), 'src/meshconfig/cluster-policy.ts');
  for (const spec of importsOf(file)) assert.ok(!spec.includes('proxy/'), `cluster-policy.ts imports ${spec}`);
});
