/**
 * POST /apis/meshbox.dev/v1/analyze: `meshbox analyze` on the daemon's objects, with the request's
 * `items` laid over them (same kind, namespace and name replaces), answering `{findings}`. Also the
 * analysis behind apply's warnings, and the offline analysis of files when no daemon runs.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { KubeObject } from '../api/types.js';
import { resourceByKind, resourceKey } from '../api/resources.js';
import { applyDefaults } from '../api/defaults.js';
import { validateObject } from '../api/validate.js';
import { rfc3339 } from '../core/clock.js';
import { analyzeMesh, MESH_KINDS, type AnalyzeOptions } from '../controlplane/analyze/index.js';
import type { AnalyzeResponse, Finding } from '../meshconfig/xds/status.js';
import type { Store } from '../store/types.js';
import { BadRequest, BodyTooLarge, InvalidObject, MethodNotAllowed } from './api-errors.js';
import { sendError, sendJson } from './api-status.js';

const MAX_BODY = 3 * 1024 * 1024;

function keyOf(o: KubeObject): string {
  return `${o.kind} ${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
}

export function storedMeshObjects(store: Store): KubeObject[] {
  // only the kinds analysis reads: keeps an apply's analysis cheap
  return MESH_KINDS.flatMap((kind) => store.list(resourceKey(resourceByKind(kind)!)).items);
}

/**
 * `stored` with `items` laid over them. An item keeps the creation time of the object it replaces;
 * a new one is created now, so "the oldest wins" rules see it as the newest, as after an apply.
 */
export function overlay(stored: readonly KubeObject[], items: readonly KubeObject[], now = rfc3339(Date.now())): KubeObject[] {
  const byKey = new Map(stored.map((o) => [keyOf(o), o]));
  for (const item of items) {
    const namespaced = resourceByKind(item.kind)?.namespaced ?? true;
    const metadata = { ...item.metadata, ...(namespaced ? { namespace: item.metadata.namespace ?? 'default' } : {}) };
    const withNs = { ...item, metadata };
    const key = keyOf(withNs);
    metadata.creationTimestamp = byKey.get(key)?.metadata.creationTimestamp ?? metadata.creationTimestamp ?? now;
    byKey.set(key, withNs);
  }
  return [...byKey.values()];
}

/** Analyses `items` over `stored` (offline: over nothing). */
export function analyzeObjects(stored: readonly KubeObject[], items: readonly KubeObject[], options: AnalyzeOptions = {}): Finding[] {
  return analyzeMesh(overlay(stored, items), options);
}

export function analyzeStore(store: Store, items: readonly KubeObject[] = [], options: AnalyzeOptions = {}): Finding[] {
  return analyzeObjects(storedMeshObjects(store), items, options);
}

/** The findings whose object is one of `objects` (apply warns about what it applied, not about everything). */
export function findingsAbout(findings: readonly Finding[], objects: readonly KubeObject[]): Finding[] {
  const keys = new Set(objects.map(keyOf));
  return findings.filter((f) => keys.has(f.object));
}

/**
 * apply's warnings: the findings about the objects just applied (a dry run analyses them over the
 * store, which the dry run left unchanged), without the schema's warnings, which the CLI printed
 * with file positions before it sent the apply. Analysis never fails an apply that succeeded.
 */
export function applyAnalysis(store: Store, applied: readonly KubeObject[], dryRun: boolean): Finding[] {
  // findings are only about mesh kinds: an apply of pods or deployments costs no analysis
  if (!applied.some((o) => MESH_KINDS.includes(o.kind))) return [];
  try {
    return findingsAbout(analyzeStore(store, dryRun ? applied : [], { schemaWarnings: false }), applied);
  } catch {
    return [];
  }
}

function checkItems(body: unknown): KubeObject[] {
  if (body === undefined) return [];
  const items = (body as { items?: unknown } | null)?.items;
  if (typeof body !== 'object' || body === null || (items !== undefined && !Array.isArray(items))) {
    throw BadRequest('the analyze body must be {"items": [...]} (items optional)');
  }
  const issues: { path: string; message: string }[] = [];
  // The translator reads defaulted, validated shapes only, as the store holds them.
  const list = ((items ?? []) as unknown[]).map((item, i) => {
    if (typeof item !== 'object' || item === null || typeof (item as KubeObject).kind !== 'string' || typeof (item as KubeObject).metadata?.name !== 'string') {
      issues.push({ path: `items[${i}]`, message: 'each item needs apiVersion, kind and metadata.name' });
      return item as KubeObject;
    }
    const obj = applyDefaults(item as KubeObject);
    for (const issue of validateObject(obj)) issues.push({ path: `items[${i}].${issue.field}`, message: issue.message });
    return obj;
  });
  if (issues.length > 0) {
    throw InvalidObject('analyze', `${list.length} items`, issues.map((i) => `${i.path}: ${i.message}`).join('; '), { details: { issues } });
  }
  return list;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw BodyTooLarge(MAX_BODY);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw BadRequest(`the request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** The route handler; extra routes are not awaited by the API server, so it answers its own errors. */
export function analyzeRoute(store: Store, options: AnalyzeOptions = {}): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      try {
        if (req.method !== 'POST') throw MethodNotAllowed(req.method ?? '?', req.url ?? '');
        const items = checkItems(await readBody(req));
        const response: AnalyzeResponse = { findings: analyzeStore(store, items, options) };
        sendJson(res, 200, response);
      } catch (err) {
        sendError(res, err);
      }
    })();
  };
}
