/**
 * Reads manifest sources for apply/delete -f: files, folders (every .yaml/.yml/.json in it,
 * sorted; with `recursive`, sub-folders too) and "-" (stdin), then loads them through the manifest
 * engine. Any issue means nothing is applied.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { formatIssue, loadManifests, type LoadResult, type ManifestSource } from '../api/manifest.js';
import { ManifestInvalid, ManifestUnreadable, Usage } from './errors.js';

const MANIFEST_RE = /\.(ya?ml|json)$/i;

export async function readSources(paths: string[], stdin: Readable, recursive = false): Promise<ManifestSource[]> {
  if (paths.length === 0) throw Usage('must give a manifest with -f FILE, -f FOLDER or -f -');
  const sources: ManifestSource[] = [];
  for (const p of paths) {
    if (p === '-') {
      const chunks: Buffer[] = [];
      for await (const c of stdin as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(c));
      sources.push({ path: '<stdin>', text: Buffer.concat(chunks).toString('utf8') });
      continue;
    }
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      throw ManifestUnreadable(p, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as Error).message);
    }
    if (isDir) {
      const files = listFolder(p, recursive);
      if (files.length === 0) throw ManifestUnreadable(p, 'the folder holds no .yaml, .yml or .json file');
      for (const f of files) sources.push({ path: f, text: readFileSync(f, 'utf8') });
    } else {
      try {
        sources.push({ path: p, text: readFileSync(p, 'utf8') });
      } catch (err) {
        throw ManifestUnreadable(p, (err as Error).message);
      }
    }
  }
  return sources;
}

function listFolder(dir: string, recursive: boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recursive) out.push(...listFolder(full, true));
    } else if (MANIFEST_RE.test(entry.name)) {
      out.push(full);
    }
  }
  return out;
}

/**
 * Loads and checks the sources; prints warnings, and on any issue prints every one as
 * FILE:LINE:COL: field: message and throws MBX_CLI_MANIFEST_INVALID.
 */
export function loadOrFail(sources: ManifestSource[], warn: (line: string) => void): LoadResult {
  const result = loadManifests(sources);
  for (const w of result.warnings) warn(`Warning: ${formatIssue(w)}\n`);
  if (result.issues.length > 0) {
    for (const i of result.issues) warn(`${formatIssue(i)}\n`);
    throw ManifestInvalid(result.issues.length, { details: { printed: true } });
  }
  return result;
}
