/**
 * The on-disk result cache the CNI spec requires of a runtime (libcni's `<cacheDir>/results/`).
 * One JSON file per (network, containerId, ifName) holds the config used and the final result, so DEL,
 * CHECK and GC work after a daemon restart and even when the conflist has changed since.
 *
 * Unlike libcni, ADD writes an entry with `result: null` before the first plugin runs: if meshbox dies
 * mid-ADD, GC still finds the half-made attachment and DELs it instead of leaking a veth and an IP.
 */
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheCorrupt } from './errors.js';
import type { CapabilityArgs, CniConflist, CniResult } from './types.js';

export const CACHE_KIND = 'cniCacheV1';

export interface CacheEntry {
  kind: typeof CACHE_KIND;
  networkName: string;
  containerId: string;
  ifName: string;
  netns: string;
  cniArgs: Record<string, string>;
  capabilityArgs: CapabilityArgs;
  /** the conflist this attachment was made with; DEL and GC use it, not the current one */
  config: CniConflist;
  /** the final ADD result; null while ADD is still running (or died half-way) */
  result: CniResult | null;
  /** the last plugin result of an ADD that failed and whose cleanup DEL failed too, for the next DEL */
  partialResult?: CniResult;
}

export class ResultCache {
  readonly dir: string;

  constructor(cacheDir: string) {
    this.dir = join(cacheDir, 'results');
  }

  /** libcni's file name; the fields inside the file are authoritative because names may contain '-'. */
  path(networkName: string, containerId: string, ifName: string): string {
    return join(this.dir, `${networkName}-${containerId}-${ifName}`);
  }

  async read(networkName: string, containerId: string, ifName: string): Promise<CacheEntry | undefined> {
    return this.#readFile(this.path(networkName, containerId, ifName));
  }

  /** Durable before it returns: written to a temporary file, fsynced, then renamed over the old one. */
  async write(entry: CacheEntry): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const target = this.path(entry.networkName, entry.containerId, entry.ifName);
    const tmp = `${target}.tmp-${process.pid}`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(entry));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  }

  async remove(networkName: string, containerId: string, ifName: string): Promise<void> {
    await rm(this.path(networkName, containerId, ifName), { force: true });
  }

  async removeFile(file: string): Promise<void> {
    await rm(file, { force: true });
  }

  /** Every entry of `networkName`; unreadable files are returned as errors, not thrown, so GC can go on. */
  async list(networkName: string): Promise<{ entries: CacheEntry[]; corrupt: Array<{ file: string; error: Error }> }> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], corrupt: [] };
      throw err;
    }
    const entries: CacheEntry[] = [];
    const corrupt: Array<{ file: string; error: Error }> = [];
    for (const name of names) {
      if (!name.startsWith(`${networkName}-`) || name.includes('.tmp-')) continue;
      const file = join(this.dir, name);
      try {
        const entry = await this.#readFile(file);
        if (entry && entry.networkName === networkName) entries.push(entry);
      } catch (err) {
        corrupt.push({ file, error: err as Error });
      }
    }
    return { entries, corrupt };
  }

  async #readFile(file: string): Promise<CacheEntry | undefined> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw CacheCorrupt(file, 'not JSON', { cause: err });
    }
    const e = parsed as Partial<CacheEntry>;
    if (e.kind !== CACHE_KIND || typeof e.containerId !== 'string' || typeof e.ifName !== 'string' || !e.config) {
      throw CacheCorrupt(file, `not a ${CACHE_KIND} entry`);
    }
    return e as CacheEntry;
  }
}
