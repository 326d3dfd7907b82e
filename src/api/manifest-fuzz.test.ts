/**
 * Property test: random and mutated YAML/JSON never makes the loader or the validator throw; every
 * problem comes back as an issue with a sane position. Seeded, bounded in count and time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadManifests, type ManifestIssue } from './manifest.js';
import { KIND_SCHEMAS } from './schemas/kind-schemas.js';
import { applyDefaults } from './defaults.js';
import { validateObject } from './validate.js';
import type { KubeObject } from './types.js';
import { seededRandom } from '../core/seeded-random.js';

const TIME_BUDGET_MS = 4_000;

const SEED_TEXT = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
  annotations:
    note: &n "hello"
spec:
  containers:
  - name: app
    image: host
    ports:
    - {name: http, containerPort: 8080}
    resources:
      limits: {cpu: 500m, memory: 128Mi}
    readinessProbe:
      httpGet: {path: /, port: http}
  volumes:
  - name: data
    emptyDir: {}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers: [{name: c, image: host, env: [{name: A, value: *n}]}]
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Secret, metadata: {name: s}, data: {a: aGk=}}
- {apiVersion: v1, kind: Service, metadata: {name: s}, spec: {ports: [{port: 80}]}}
`;

const SPECIAL = [':', '-', ' ', '\n', '\t', '[', ']', '{', '}', ',', '"', "'", '&', '*', '!', '|', '>', '#', '%', '@', '`', '?', '---\n', '...\n', '<<: ', '0x', '~', 'null', '1e9', '\\', '\u00e9', '\u0000', '\r'];

function assertSane(issues: ManifestIssue[], text: string, label: string): void {
  const lines = text.split('\n').length + 1;
  for (const i of issues) {
    assert.ok(Number.isInteger(i.line) && i.line >= 1 && i.line <= lines, `${label}: line ${i.line} out of range`);
    assert.ok(Number.isInteger(i.col) && i.col >= 1, `${label}: col ${i.col}`);
    assert.equal(typeof i.field, 'string');
    assert.ok(i.message.length > 0, `${label}: empty message`);
  }
}

function mutate(text: string, rnd: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let out = text;
  const n = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(rnd() * (out.length + 1));
    const lines = out.split('\n');
    switch (Math.floor(rnd() * 7)) {
      case 0:
        out = out.slice(0, at) + out.slice(at + 1 + Math.floor(rnd() * 5));
        break;
      case 1:
        out = out.slice(0, at) + pick(SPECIAL) + out.slice(at);
        break;
      case 2: {
        const i = Math.floor(rnd() * lines.length);
        lines.splice(i, 0, lines[Math.floor(rnd() * lines.length)] ?? '');
        out = lines.join('\n');
        break;
      }
      case 3: {
        const i = Math.floor(rnd() * lines.length);
        lines[i] = ' '.repeat(Math.floor(rnd() * 6)) + (lines[i] ?? '').trimStart();
        out = lines.join('\n');
        break;
      }
      case 4:
        out = out.slice(0, at);
        break;
      case 5:
        out = out.replace(/: [^\n,}]+/, `: ${pick(['[]', '{}', '-1', '99999999999999999999', 'true', '"x"', '.inf', '!!binary aGk=', '!!set {a}', '*nope', '&a x', '1:2'])}`);
        break;
      default: {
        const i = Math.floor(rnd() * lines.length);
        const j = Math.floor(rnd() * lines.length);
        [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
        out = lines.join('\n');
      }
    }
  }
  return out;
}

/** A random JSON value, biased to the shapes manifests have. */
function randomValue(rnd: () => number, depth: number): unknown {
  const r = rnd();
  if (depth <= 0 || r < 0.3) {
    return [null, true, false, 0, -1, 80, 70000, 0.5, 'x', '', 'Always', '128Mi', 'host', 'a b', '10.0.0.1', 'None'][Math.floor(rnd() * 16)];
  }
  if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 3) }, () => randomValue(rnd, depth - 1));
  const keys = ['name', 'image', 'containers', 'spec', 'metadata', 'ports', 'port', 'selector', 'template', 'labels', 'data', 'items', 'type', 'volumes', 'httpGet', 'ipBlock', 'endpoints'];
  const obj: Record<string, unknown> = {};
  for (let i = Math.floor(rnd() * 4); i > 0; i--) obj[keys[Math.floor(rnd() * keys.length)]!] = randomValue(rnd, depth - 1);
  return obj;
}

describe('manifest fuzzing', () => {
  it('never throws on random text', () => {
    const rnd = seededRandom(1);
    const started = Date.now();
    for (let n = 0; n < 1500 && Date.now() - started < TIME_BUDGET_MS; n++) {
      const len = Math.floor(rnd() * 200);
      let text = '';
      for (let i = 0; i < len; i++) text += rnd() < 0.5 ? SPECIAL[Math.floor(rnd() * SPECIAL.length)] : String.fromCharCode(32 + Math.floor(rnd() * 95));
      const result = loadManifests([{ path: 'r.yaml', text }]);
      assertSane(result.issues, text, `random #${n}`);
    }
  });

  it('never throws on mutated manifests, and reports the mutations it cannot accept', () => {
    const rnd = seededRandom(2);
    const started = Date.now();
    let withIssues = 0;
    let runs = 0;
    for (; runs < 2000 && Date.now() - started < TIME_BUDGET_MS; runs++) {
      const text = mutate(SEED_TEXT, rnd);
      const result = loadManifests([{ path: 'm.yaml', text }]);
      assertSane(result.issues, text, `mutation #${runs}`);
      if (result.issues.length > 0) withIssues++;
      for (const d of result.documents) {
        // what loads clean must survive defaulting and stay valid
        assert.deepEqual(validateObject(applyDefaults(d.object)), [], `mutation #${runs}: defaulted object became invalid`);
      }
    }
    assert.ok(runs >= 50, `only ${runs} runs in the time budget`);
    assert.ok(withIssues > runs / 4, `most mutations should produce issues, got ${withIssues}/${runs}`);
  });

  it('never throws on random objects for every kind, and flags them', () => {
    const rnd = seededRandom(3);
    const started = Date.now();
    const kinds = [...KIND_SCHEMAS.keys()];
    for (let n = 0; n < 3000 && Date.now() - started < TIME_BUDGET_MS; n++) {
      const kind = kinds[n % kinds.length]!;
      const obj = { apiVersion: 'v1', kind, metadata: { name: 'x' }, ...(randomValue(rnd, 5) as object) };
      const issues = validateObject(obj);
      for (const i of issues) assert.ok(i.message.length > 0);
      // and through YAML, so the position mapping sees odd shapes too
      const text = stringify(obj);
      assertSane(loadManifests([{ path: 'o.yaml', text }]).issues, text, `object #${n}`);
      if (issues.length === 0) assert.doesNotThrow(() => applyDefaults(obj as KubeObject));
    }
  });
});
