// Bad manifests get FILE:LINE:COL errors from `meshbox apply` and change nothing, even when the
// other documents in the same apply are fine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { meshboxForThisFile } from './helpers/meshbox-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'mbx-manifests-'));
const h = meshboxForThisFile({ cleanup: () => rmSync(dir, { recursive: true, force: true }) });

const GOOD = `apiVersion: v1
kind: ConfigMap
metadata: { name: innocent }
data: { a: b }
---
`;

const CASES: { name: string; yaml: string; line: number; col: number; field: RegExp; message: RegExp }[] = [
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
    line: 3, col: 1, field: /.*/, message: /./,
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
    if (c.name === 'YAML syntax error') {
      // the parser reports where it notices: the unclosed map, or the line after it
      assert.ok(Number(m[2]) >= c.line + 5 && Number(m[2]) <= c.line + 6, first);
    } else {
      assert.equal(Number(m[2]), c.line + 5, first);
      assert.equal(Number(m[3]), c.col, first);
      assert.match(m[4] ?? '', c.field);
    }
    assert.match(m[5]!, c.message);
    const cms = await h.list('/api/v1/namespaces/default/configmaps');
    assert.deepEqual(cms.map((o) => o.metadata.name), [], 'the good document was not applied either');
  });
}
