/**
 * Loads every module that defines errors, so ERROR_CATALOG holds every code meshbox can raise, and
 * renders docs/errors.md from it (`node dist/src/core/error-catalog.js > docs/errors.md`). The test
 * beside it fails when the doc and the code disagree (fastify's errors test).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ERROR_CATALOG } from './errors.js';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function* modules(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (entry !== 'testing') yield* modules(path);
    } else if (path.endsWith('.js') && !path.endsWith('.test.js')) yield path;
  }
}

/** Imports every compiled module under src/ that calls defineError; returns the catalog. */
export async function loadErrorCatalog(): Promise<typeof ERROR_CATALOG> {
  const self = fileURLToPath(import.meta.url);
  for (const file of modules(SRC)) {
    if (file !== self && readFileSync(file, 'utf8').includes('defineError(')) await import(pathToFileURL(file).href);
  }
  return ERROR_CATALOG;
}

/** The text of a message template: the template literal of `(a) => \`...\`` with ${x} kept. */
function templateText(source: string): string {
  const arrow = source.indexOf('=>');
  let body = (arrow >= 0 ? source.slice(arrow + 2) : source).trim();
  if (body.startsWith('`') && body.endsWith('`')) body = body.slice(1, -1);
  return body.replace(/\s+/g, ' ').replaceAll('|', '\\|');
}

export async function renderErrorsDoc(): Promise<string> {
  const catalog = await loadErrorCatalog();
  const lines = [
    '# Error codes',
    '',
    'Every error meshbox reports carries one of these stable codes (`MeshboxError.code`; in API',
    'answers `details.causes[0].reason`). Branch on the code, never on the message. This page is',
    'generated from the code (`npm run build && node dist/src/core/error-catalog.js > docs/errors.md`)',
    'and a test fails when the two disagree.',
    '',
    '| code | HTTP | retryable | message |',
    '|---|---|---|---|',
  ];
  for (const [code, e] of [...catalog].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`| \`${code}\` | ${e.httpStatus} | ${e.retryable ? 'yes' : 'no'} | ${templateText(e.template)} |`);
  }
  return lines.join('\n') + '\n';
}

export function documentedCodes(markdown: string): string[] {
  return [...markdown.matchAll(/^\| `(MBX_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
}

export const REPO_ROOT = resolve(SRC, '..', '..');
export const ERRORS_DOC = join(REPO_ROOT, 'docs', 'errors.md');

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(await renderErrorsDoc());
}

