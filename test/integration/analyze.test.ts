// meshbox analyze against a real daemon: a broken mesh config applies (exit 0) with analysis
// warnings on stderr; `meshbox analyze` prints istioctl-style lines and exits 79; a file with the
// fix, laid over the daemon's objects, analyses clean before it is applied; after the fix is
// applied, analyze says ✔ and exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { meshboxForThisFile } from './helpers/meshbox-harness.js';

const files = mkdtempSync(join(tmpdir(), 'mbx-analyze-it-'));
const h = meshboxForThisFile({ cleanup: () => rmSync(files, { recursive: true, force: true }) });
const NS = `mbx-${randomBytes(3).toString('hex')}`;

const MESH = (subset: string, extraRoute: boolean, gateways: string): string => `apiVersion: v1
kind: Namespace
metadata: { name: ${NS} }
---
apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: ${NS} }
spec:
  selector: { app: reviews }
  ports: [{ name: http, port: 9080 }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: ${NS} }
spec:
  host: reviews
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: ${NS} }
spec:
  hosts: [reviews]
  gateways: [${gateways}]
  http:
    - route: [{ destination: { host: reviews, subset: ${subset} } }]
${extraRoute ? '    - match: [{ headers: { end-user: { exact: jason } } }]\n      route: [{ destination: { host: reviews, subset: v2 } }]\n' : ''}`;

const BROKEN = MESH('v3', true, 'mesh, edge');
const FIXED = MESH('v1', false, 'mesh');

test('apply warns about accepted-but-wrong mesh config, analyze exits 79 on it and 0 once it is fixed', async () => {
  const applied = await h.cli(['apply', '-f', '-'], BROKEN);
  assert.equal(applied.code, 0, `a broken but valid config still applies: ${applied.stderr}`);
  assert.match(applied.stdout, /virtualservice[^\n]*reviews created/);
  const lines0 = applied.stderr.trim().split('\n');
  // the schema's warning as before (with its position), then the analysis of what was applied
  assert.match(lines0[0]!, /^Warning: <stdin>:\d+:\d+: spec\.http\[1\]: this rule is never used/);
  assert.deepEqual(
    lines0.slice(1).map((l) => l.slice(0, l.indexOf(':'))),
    [
      `Warning [MBX_ANALYZE_GATEWAY_NOT_FOUND] (VirtualService ${NS}/reviews) spec.gateways[1]`,
      `Warning [MBX_ANALYZE_SUBSET_UNDEFINED] (VirtualService ${NS}/reviews) spec.http[0].route[0].destination.subset`,
    ],
  );

  const analyzed = await h.cli(['analyze', '-n', NS]);
  assert.equal(analyzed.code, 79, `Errors give istioctl's exit status: ${analyzed.stdout}${analyzed.stderr}`);
  const lines = analyzed.stdout.trim().split('\n');
  assert.equal(lines.length, 3, analyzed.stdout);
  assert.match(lines[0]!, new RegExp(`^Error \\[MBX_ANALYZE_GATEWAY_NOT_FOUND\\] \\(VirtualService ${NS}/reviews\\) spec\\.gateways\\[1\\]: Gateway ${NS}/edge does not exist`));
  assert.match(analyzed.stdout, new RegExp(`^Error \\[MBX_ANALYZE_SUBSET_UNDEFINED\\] \\(VirtualService ${NS}/reviews\\) spec\\.http\\[0\\]\\.route\\[0\\]\\.destination\\.subset: subset v3 `, 'm'));
  // the schema's warning, for the stored object
  assert.match(analyzed.stdout, /^Warning \[MBX_ANALYZE_ROUTE_SHADOWED\] .* spec\.http\[1\]: this rule is never used/m);
  // other namespaces are clean: the findings are filtered to -n
  const other = await h.cli(['analyze']);
  assert.equal(other.code, 0);
  assert.equal(other.stderr, '✔ No validation issues found when analyzing namespace: default.\n');

  // the fix, laid over the daemon's objects before it is applied
  const fix = join(files, 'fixed.yaml');
  writeFileSync(fix, FIXED);
  const preview = await h.cli(['analyze', '-n', NS, '-f', fix]);
  assert.equal(preview.code, 0, preview.stdout + preview.stderr);
  assert.equal(preview.stdout, '');
  assert.equal((await h.cli(['analyze', '-n', NS])).code, 79, 'analyzing a file changes nothing in the daemon');

  const reapplied = await h.cli(['apply', '-f', fix]);
  assert.equal(reapplied.code, 0, reapplied.stderr);
  assert.equal(reapplied.stderr, '', 'no warnings for a correct config');
  const clean = await h.cli(['analyze', '-n', NS]);
  assert.equal(clean.code, 0, clean.stdout);
  assert.equal(clean.stderr, `✔ No validation issues found when analyzing namespace: ${NS}.\n`);
  const json = await h.cli(['analyze', '-A', '-o', 'json']);
  assert.equal(json.code, 0);
  assert.deepEqual(JSON.parse(json.stdout), []);
});
