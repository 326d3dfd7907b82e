// Bad manifests get FILE:LINE:COL errors from `meshbox apply` and change nothing, even when the
// other documents in the same apply are fine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { meshboxForThisFile } from './helpers/meshbox-harness.js';
import type { ConfigMap } from '../../src/api/types.js';

const dir = mkdtempSync(join(tmpdir(), 'mbx-manifests-'));
const h = meshboxForThisFile({ cleanup: () => rmSync(dir, { recursive: true, force: true }) });

const GOOD = `apiVersion: v1
kind: ConfigMap
metadata: { name: innocent }
data: { a: b }
---
`;

/** `field` undefined: the error names no field path (a YAML syntax error has none). */
const CASES: { name: string; yaml: string; line: number; col: number; field: RegExp | undefined; message: RegExp }[] = [
  {
    name: 'unknown field with a suggestion',
    yaml: `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers:
    - name: c
      image: host
      ports:
        - containerport: 80
`,
    line: 9, col: 11, field: /spec\.containers\[0\]\.ports\[0\]\.containerport/, message: /did you mean containerPort\?/,
  },
  {
    name: 'wrong type',
    yaml: `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers:
    - name: c
      image: host
      ports: [{ containerPort: "eighty" }]
`,
    line: 8, col: 32, field: /spec\.containers\[0\]\.ports\[0\]\.containerPort/, message: /integer/,
  },
  {
    name: 'missing required field',
    yaml: `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers:
    - name: c
`,
    line: 6, col: 7, field: /spec\.containers\[0\]\.image/, message: /required/,
  },
  {
    name: 'invalid name',
    yaml: `apiVersion: v1
kind: Pod
metadata: { name: Not_Valid }
spec:
  containers: [{ name: c, image: host }]
`,
    line: 3, col: 19, field: /metadata\.name/, message: /lowercase|RFC 1123|DNS/i,
  },
  {
    name: 'duplicate container names',
    yaml: `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers:
    - { name: c, image: host }
    - { name: c, image: host }
`,
    line: 7, col: 15, field: /spec\.containers\[1\]\.name/, message: /duplicate/i,
  },
  {
    name: 'YAML syntax error',
    yaml: `apiVersion: v1
kind: Pod
metadata: { name: p
spec: {}
`,
    // the parser notices the unclosed flow map where the next key starts, at the start of line 4
    line: 4, col: 1, field: undefined,
    message: /^YAML syntax error: Flow map in block collection must be sufficiently indented and end with a \}; check the indentation/,
  },
];

for (const c of CASES) {
  test(`${c.name}: FILE:LINE:COL error, nothing applied`, async () => {
    const file = join(dir, `${c.name.replaceAll(' ', '-')}.yaml`);
    writeFileSync(file, GOOD + c.yaml);
    const r = await h.cli(['apply', '-f', file]);
    assert.equal(r.code, 1, r.stdout);
    const first = r.stderr.split('\n').find((l) => l.startsWith(file));
    assert.ok(first, `an error line starting with the file name:\n${r.stderr}`);
    const m = /^(.+?):(\d+):(\d+): (?:(\S*): )?(.*)$/.exec(first);
    assert.ok(m, `FILE:LINE:COL: field: message, got ${first}`);
    // the good ConfigMap is 5 lines long: the bad document starts on line 6
    assert.equal(Number(m[2]), c.line + 5, first);
    assert.equal(Number(m[3]), c.col, first);
    if (c.field) assert.match(m[4] ?? '', c.field, first);
    else assert.equal(m[4], undefined, first);
    assert.match(m[5]!, c.message, first);
    const cms = await h.list('/api/v1/namespaces/default/configmaps');
    assert.deepEqual(cms.map((o) => o.metadata.name), [], 'the good document was not applied either');
  });
}

// The bad second document is caught either by the manifest check before anything is sent, or by the
// daemon inside the apply's store transaction after the ConfigMap's update was already written there.
const UPDATE_CASES: { name: string; bad: string; error: (file: string) => RegExp }[] = [
  {
    name: 'the manifest check rejects',
    bad: `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers:
    - { name: c, image: host, imagePullPolicy: Sometimes }
`,
    error: (file) => new RegExp(`^${escape(file)}:11:48: spec\\.containers\\[0\\]\\.imagePullPolicy: unsupported value "Sometimes"`, 'm'),
  },
  {
    name: 'the daemon rejects inside the transaction (its namespace does not exist)',
    bad: `apiVersion: v1
kind: ConfigMap
metadata: { name: stray, namespace: mbx-no-such-namespace }
data: { a: b }
`,
    error: () => /mbx-no-such-namespace/,
  },
];

for (const c of UPDATE_CASES) {
  test(`an apply that would update an existing ConfigMap, with a document ${c.name}: the ConfigMap keeps its data and resourceVersion`, async () => {
    const path = '/api/v1/namespaces/default/configmaps/keeper';
    const file = join(dir, 'update-with-a-bad-document.yaml');
    const updated = `apiVersion: v1
kind: ConfigMap
metadata: { name: keeper }
data: { version: "2" }
`;
    try {
      await h.apply(updated.replace('"2"', '"1"'));
      const before = await h.client.get<ConfigMap>(path);
      assert.deepEqual(before.data, { version: '1' });
      writeFileSync(file, `${updated}---\n${c.bad}`);
      const r = await h.cli(['apply', '-f', file]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, c.error(file));
      assert.doesNotMatch(r.stdout, /configured|created/, 'nothing reported as applied');
      const after = await h.client.get<ConfigMap>(path);
      assert.deepEqual(after.data, { version: '1' }, 'the ConfigMap keeps its old data');
      assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, 'and its resourceVersion');
      assert.equal(await h.pod('p'), undefined, 'the pod was not created');

      // the same update without the bad document goes through: the checks above can fail
      writeFileSync(file, updated);
      const ok = await h.cli(['apply', '-f', file]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, 'configmap/keeper configured\n');
      const changed = await h.client.get<ConfigMap>(path);
      assert.deepEqual(changed.data, { version: '2' });
      assert.notEqual(changed.metadata.resourceVersion, before.metadata.resourceVersion);
    } finally {
      await h.cli(['delete', 'configmap', 'keeper']);
    }
  });
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
