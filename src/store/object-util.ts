/** Small helpers on plain JSON objects (the store's objects are always JSON-clean). */
import type { KubeObject } from '../api/types.js';

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], bb[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  if (ak.length !== bk.length) return false;
  for (const k of ak) if (!deepEqual(ao[k], bo[k])) return false;
  return true;
}

const NON_DATA = new Set(['apiVersion', 'kind', 'metadata', 'status']);

/**
 * The part of an object whose change bumps `metadata.generation`: `spec`, or for kinds without spec
 * (ConfigMap, Secret, Endpoints, ...) every top-level field except apiVersion, kind, metadata, status.
 */
export function desiredState(obj: KubeObject): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (!NON_DATA.has(k) && v !== undefined) out[k] = v;
  return out;
}

export function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
