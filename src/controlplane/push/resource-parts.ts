/**
 * A proxy's desired config, per resource type, as a few shared parts: the outbound part is one
 * object for every proxy with the same namespace and Sidecar scope, the inbound part is the proxy's
 * own. Deltas are computed per pair of parts and memoised, so 2,000 proxies sharing one outbound
 * part cost one diff, not 2,000.
 */
import { RESOURCE_TYPES, encodeResource, snapshotResources, type EncodedResource, type ResourceType } from '../../meshconfig/xds/protocol.js';
import type { Snapshot } from '../../meshconfig/types.js';

export interface ResourcePart {
  /** stable across generations ("out:shop|", "own"): parts with one id are diffed against each other */
  readonly id: string;
  readonly resources: ReadonlyMap<string, EncodedResource>;
}

export type ProxyResources = Record<ResourceType, readonly ResourcePart[]>;

export interface Delta {
  upserts: EncodedResource[];
  removed: string[];
}

const EMPTY_DELTA: Delta = { upserts: [], removed: [] };

/**
 * Builds parts for (a piece of) a snapshot. `previous` (the same id's parts of the last generation)
 * lets unchanged resources and unchanged parts keep their identity, which makes diffs free.
 */
export function makeParts(id: string, s: Pick<Snapshot, 'listeners' | 'routes' | 'clusters'>, previous?: Partial<Record<ResourceType, ResourcePart>>): Record<ResourceType, ResourcePart> {
  const enc = snapshotResources(s);
  const out = {} as Record<ResourceType, ResourcePart>;
  for (const type of RESOURCE_TYPES) {
    const prev = previous?.[type];
    const map = new Map<string, EncodedResource>();
    let same = prev !== undefined && prev.resources.size === enc[type].length;
    for (const { name, body } of enc[type]) {
      const old = prev?.resources.get(name);
      const r = encodeResource(name, body, old);
      map.set(name, r);
      if (r !== old) same = false;
    }
    out[type] = same && prev ? prev : { id, resources: map };
  }
  return out;
}

const memo = new WeakMap<ResourcePart, WeakMap<ResourcePart, Delta>>();
const fullMemo = new WeakMap<ResourcePart, Delta>();

export function diffPart(from: ResourcePart | undefined, to: ResourcePart | undefined): Delta {
  if (from === to) return EMPTY_DELTA;
  if (from && to) {
    const cached = memo.get(from)?.get(to);
    if (cached) return cached;
  }
  if (!from && to) {
    let full = fullMemo.get(to);
    if (!full) fullMemo.set(to, (full = { upserts: [...to.resources.values()], removed: [] }));
    return full;
  }
  const upserts: EncodedResource[] = [];
  const removed: string[] = [];
  if (to) for (const [name, r] of to.resources) if (from?.resources.get(name)?.hash !== r.hash) upserts.push(r);
  if (from) for (const name of from.resources.keys()) if (!to?.resources.has(name)) removed.push(name);
  const d = { upserts, removed };
  if (from && to) {
    let inner = memo.get(from);
    if (!inner) memo.set(from, (inner = new WeakMap()));
    inner.set(to, d);
  }
  return d;
}

/** Per-part deltas of one type (parts matched by id); each is memoised, so its payload can be shared. */
export function diffPartsList(from: readonly ResourcePart[] | undefined, to: readonly ResourcePart[]): Delta[] {
  const out: Delta[] = [];
  const seen = new Set<string>();
  for (const p of to) {
    seen.add(p.id);
    const d = diffPart(from?.find((f) => f.id === p.id), p);
    if (d.upserts.length > 0 || d.removed.length > 0) out.push(d);
  }
  for (const f of from ?? []) if (!seen.has(f.id)) out.push(diffPart(f, undefined));
  return out;
}

/** The delta of one type between two part lists (matched by part id). */
export function diffParts(from: readonly ResourcePart[] | undefined, to: readonly ResourcePart[]): Delta {
  const deltas: Delta[] = [];
  const seen = new Set<string>();
  for (const p of to) {
    seen.add(p.id);
    deltas.push(diffPart(from?.find((f) => f.id === p.id), p));
  }
  for (const f of from ?? []) if (!seen.has(f.id)) deltas.push(diffPart(f, undefined));
  if (deltas.length === 1) return deltas[0]!;
  const upserts = deltas.flatMap((d) => d.upserts);
  const upserted = new Set(upserts.map((u) => u.name));
  // A name that moved between parts is upserted by one and removed by the other: keep it.
  const removed = deltas.flatMap((d) => d.removed).filter((n) => !upserted.has(n));
  return { upserts, removed };
}

export function countResources(parts: readonly ResourcePart[] | undefined): number {
  let n = 0;
  for (const p of parts ?? []) n += p.resources.size;
  return n;
}
