/**
 * POST /apis/meshbox.dev/v1/apply: create or update many objects in one store transaction, all or
 * nothing. Every item is admitted and validated before anything is written, and all problems are
 * reported together. An update replaces the desired state (spec, data, ...), labels and
 * annotations and keeps status, finalizers and owner references.
 */
import type { KubeObject } from '../api/types.js';
import { apiVersionOf, resourceFor, resourceKey, type ResourceType } from '../api/resources.js';
import { firstMeshboxError, describeError } from '../core/errors.js';
import type { Store } from '../store/types.js';
import { deepEqual, clone } from '../store/object-util.js';
import type { Admission } from './api-admission.js';
import type { ApplyRequest, ApplyResult, ValidationIssue } from './api-types.js';
import { BadRequest, InvalidObject } from './api-errors.js';
import { applyAnalysis } from './api-analyze.js';
import type { Finding } from '../meshconfig/xds/status.js';

/** The apply response: what changed, plus analysis findings about the applied objects. */
export type ApplyResultWithAnalysis = ApplyResult & { analysis: Finding[] };

const KEEP = new Set(['apiVersion', 'kind', 'metadata', 'status']);

class DryRunRollback extends Error {}

interface Planned {
  index: number;
  resource: ResourceType;
  object: KubeObject;
}

export function applyItems(store: Store, admission: Admission, body: unknown): ApplyResultWithAnalysis {
  const req = body as ApplyRequest;
  if (typeof req !== 'object' || req === null || !Array.isArray(req.items)) {
    throw BadRequest('the apply body must be {"items": [...], "dryRun": false}');
  }
  const dryRun = req.dryRun === true;
  const issues: ValidationIssue[] = [];
  const planned: Planned[] = [];
  const seen = new Set<string>();
  req.items.forEach((item, index) => {
    const where = `items[${index}]`;
    if (typeof item !== 'object' || item === null || typeof item.apiVersion !== 'string' || typeof item.kind !== 'string') {
      issues.push({ path: where, message: 'each item needs apiVersion and kind' });
      return;
    }
    const resource = resourceFor(item.apiVersion, item.kind);
    if (!resource) {
      issues.push({ path: `${where}.kind`, message: `no kind "${item.kind}" is served at apiVersion "${item.apiVersion}"` });
      return;
    }
    const label = `${where} (${item.kind} ${String(item.metadata?.name ?? '')})`;
    if (!item.metadata?.name) {
      issues.push({ path: `${where}.metadata.name`, message: 'Required value: apply needs a name' });
      return;
    }
    const namespace = resource.namespaced ? (item.metadata.namespace ?? 'default') : undefined;
    const key = `${resourceKey(resource)}/${namespace ?? ''}/${item.metadata.name}`;
    if (seen.has(key)) {
      issues.push({ path: where, message: `${item.kind} ${namespace ? `${namespace}/` : ''}${item.metadata.name} appears twice in this apply` });
      return;
    }
    seen.add(key);
    try {
      const existing = store.get(resourceKey(resource), namespace, item.metadata.name);
      planned.push({ index, resource, object: admission.prepare(resource, item, undefined, existing) });
    } catch (err) {
      const mbx = firstMeshboxError(err);
      const inner = mbx?.details?.issues as ValidationIssue[] | undefined;
      if (inner) for (const i of inner) issues.push({ path: `${label}: ${i.path}`, message: i.message });
      else issues.push({ path: label, message: describeError(err) });
    }
  });
  if (issues.length > 0) {
    throw InvalidObject('apply', `${req.items.length} items`, issues.map((i) => `${i.path}: ${i.message}`).join('; '), {
      details: { issues },
    });
  }

  const results: ApplyResult['items'] = new Array(planned.length);
  // Namespaces first, so that objects in a namespace created by the same apply find it
  const order = [...planned].sort((a, b) => Number(b.resource.kind === 'Namespace') - Number(a.resource.kind === 'Namespace'));
  const run = (): void => {
    for (const p of order) {
      const key = resourceKey(p.resource);
      const meta = p.object.metadata;
      const existing = store.get(key, meta.namespace, meta.name);
      let action: ApplyResult['items'][number]['action'];
      if (!existing) {
        admission.checkNamespace(p.resource, meta.namespace);
        store.create(key, p.object);
        action = 'created';
      } else {
        const next = clone(existing);
        for (const k of Object.keys(next)) if (!KEEP.has(k)) delete next[k];
        for (const [k, v] of Object.entries(p.object)) if (!KEEP.has(k)) next[k] = v;
        next.apiVersion = apiVersionOf(p.resource);
        if (meta.labels) next.metadata.labels = meta.labels;
        else delete next.metadata.labels;
        if (meta.annotations) next.metadata.annotations = meta.annotations;
        else delete next.metadata.annotations;
        if (deepEqual(next, existing)) {
          action = 'unchanged';
        } else {
          store.update(key, next);
          action = 'configured';
        }
      }
      results[planned.indexOf(p)] = {
        resource: key,
        kind: p.resource.kind,
        ...(meta.namespace ? { namespace: meta.namespace } : {}),
        name: meta.name,
        action,
      };
    }
    if (dryRun) throw new DryRunRollback();
  };
  try {
    store.transaction(run);
  } catch (err) {
    if (!(err instanceof DryRunRollback)) throw err;
  }
  return { items: results, dryRun, analysis: applyAnalysis(store, planned.map((p) => p.object), dryRun) };
}
