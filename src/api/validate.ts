/**
 * Validation of one object against its kind's schema. The API server calls `validateObject` on
 * create and update; the manifest loader calls `checkObject` to keep paths for positions.
 */
import { RESOURCES, resourceByKind, resourceFor, apiVersionOf } from './resources.js';
import { KIND_SCHEMAS } from './schemas/kind-schemas.js';
import { suggest } from './suggest.js';
import { fieldPath, isPlainObject, walkSchema, type RawIssue } from './walk-schema.js';

export interface FieldIssue {
  field: string;
  message: string;
}

/** Every problem with `obj` (errors only; warnings come from checkObject). Empty means valid. */
export function validateObject(obj: unknown): FieldIssue[] {
  return checkObject(obj)
    .filter((i) => i.severity === 'error')
    .map((i) => ({ field: fieldPath(i.path), message: i.message }));
}

/** Non-fatal findings: fields meshbox accepts but ignores, deprecated forms. */
export function warningsFor(obj: unknown): FieldIssue[] {
  return checkObject(obj)
    .filter((i) => i.severity === 'warning')
    .map((i) => ({ field: fieldPath(i.path), message: i.message }));
}

/** Errors and warnings with their paths and anchors, for callers that map them to source positions. */
export function checkObject(obj: unknown): RawIssue[] {
  if (!isPlainObject(obj)) {
    return [{ path: [], anchor: 'value', severity: 'error', message: 'a manifest must be a mapping with apiVersion, kind and metadata' }];
  }
  const { apiVersion, kind } = obj;
  const out: RawIssue[] = [];
  const error = (path: string[], message: string, anchor: RawIssue['anchor'] = 'value') =>
    out.push({ path, anchor, message, severity: 'error' });
  if (apiVersion === undefined || apiVersion === null) error(['apiVersion'], 'required field is missing', 'missing');
  else if (typeof apiVersion !== 'string') error(['apiVersion'], 'must be a string such as "v1" or "apps/v1"');
  if (kind === undefined || kind === null) error(['kind'], 'required field is missing', 'missing');
  else if (typeof kind !== 'string') error(['kind'], 'must be a string such as "Pod"');
  if (typeof kind !== 'string') return out;

  const known = [...KIND_SCHEMAS.keys()];
  const schema = KIND_SCHEMAS.get(kind);
  const resource = resourceByKind(kind);
  if (!schema || !resource) {
    const servable = known.filter((k) => resourceByKind(k) !== undefined);
    const close = suggest(kind, servable);
    const served = resource || schema ? `meshbox does not support ${kind} yet; ` : `unknown kind ${JSON.stringify(kind)}; `;
    error(['kind'], `${served}${close && close !== kind ? `did you mean ${close}? ` : ''}known kinds: ${servable.join(', ')}`);
    return out;
  }
  if (typeof apiVersion === 'string' && !resourceFor(apiVersion, kind)) {
    const versions = resource.acceptedVersions.map((v) => apiVersionOf(resource, v)).join(' or ');
    error(['apiVersion'], `${kind} is served at apiVersion ${versions}, not ${JSON.stringify(apiVersion)}`);
  }
  walkSchema(schema, obj, [], out);
  return out;
}

/** Kinds whose objects live in a namespace. */
export function isNamespacedKind(kind: string): boolean {
  return RESOURCES.find((r) => r.kind === kind)?.namespaced ?? true;
}
