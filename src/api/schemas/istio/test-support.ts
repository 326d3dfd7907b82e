/** Helpers for the Istio schema tests: load YAML as the CLI does and assert on FILE:LINE:COL. */
import assert from 'node:assert/strict';
import { formatIssue, loadManifests, type LoadResult } from '../../manifest.js';

/** A YAML literal with the common indentation removed, so test cases read like files. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const raw = strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ''), '');
  const lines = raw.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

export function load(text: string, file = 'istio.yaml'): LoadResult {
  return loadManifests([{ path: file, text }]);
}

/** The text loads with no error and no warning, and yields `count` objects. */
export function assertClean(text: string, count = 1): void {
  const result = load(text);
  assert.deepEqual(result.issues.map(formatIssue), [], 'expected no errors');
  assert.deepEqual(result.warnings.map(formatIssue), [], 'expected no warnings');
  assert.equal(result.documents.length, count);
}

/** Among the errors (or warnings) there is one at `at` ("FILE:LINE:COL: field") whose message contains `message`. */
export function assertIssue(text: string, at: string, message: string, kind: 'issues' | 'warnings' = 'issues'): void {
  const result = load(text);
  const found = result[kind].find((i) => `${i.path}:${i.line}:${i.col}: ${i.field}` === at && i.message.includes(message));
  const all = [...result.issues.map((i) => `error ${formatIssue(i)}`), ...result.warnings.map((i) => `warning ${formatIssue(i)}`)];
  assert.ok(found, `expected ${kind === 'issues' ? 'error' : 'warning'} "${at}: ...${message}..." among:\n${all.join('\n') || '(nothing)'}`);
}

export function errorsOf(text: string): string[] {
  return load(text).issues.map(formatIssue);
}

export function warningsOf(text: string): string[] {
  return load(text).warnings.map(formatIssue);
}
