/** ObjectMeta, label selectors and the envelope every kind shares (apiVersion, kind, metadata, status). */
import { dns1123Label, dns1123Subdomain, labelValue, qualifiedName, type Format } from '../formats.js';
import {
  any,
  array,
  boolean,
  extend,
  integer,
  map,
  nonEmptyString,
  object,
  oneOf,
  required,
  string,
  type Check,
  type FieldSpec,
  type Schema,
} from '../schema.js';

const MAX_ANNOTATIONS_BYTES = 256 * 1024;

export const labels = map(string(labelValue), qualifiedName);

export const annotations = map(string(), qualifiedName, (value: Record<string, unknown>, ctx) => {
  let size = 0;
  for (const [k, v] of Object.entries(value)) size += k.length + (typeof v === 'string' ? v.length : 0);
  if (size > MAX_ANNOTATIONS_BYTES) ctx.error([], `annotations total ${size} bytes, more than the 256 KiB Kubernetes allows`);
});

const ownerReference = object({
  apiVersion: required(nonEmptyString()),
  kind: required(nonEmptyString()),
  name: required(nonEmptyString()),
  uid: required(nonEmptyString()),
  controller: boolean(),
  blockOwnerDeletion: boolean(),
});

const nameRequired: Check = (meta: Record<string, unknown>, ctx) => {
  if (meta.name === undefined && meta.generateName === undefined) {
    ctx.error(['name'], 'required field is missing', 'missing');
  }
};

/**
 * metadata with the name format the kind requires (most: DNS-1123 subdomain). Pod templates carry
 * metadata without a name, hence `nameOptional`.
 */
export function objectMeta(nameFormat: Format = dns1123Subdomain, opts: { nameOptional?: boolean } = {}): Schema {
  const checks = opts.nameOptional ? [] : [nameRequired];
  return object(
    {
      name: nonEmptyString(nameFormat),
      generateName: string(),
      namespace: nonEmptyString(dns1123Label),
      labels,
      annotations,
      // server-set fields: accepted so `get -o yaml` output can be applied again
      uid: string(),
      resourceVersion: string(),
      generation: integer({ min: 0 }),
      creationTimestamp: any(),
      deletionTimestamp: any(),
      deletionGracePeriodSeconds: integer({ min: 0 }),
      ownerReferences: array(ownerReference),
      finalizers: array(nonEmptyString()),
      managedFields: any(),
      selfLink: any(),
    },
    ...checks,
  );
}

export const labelSelectorRequirement = object({
  key: required(nonEmptyString(qualifiedName)),
  operator: required(oneOf('In', 'NotIn', 'Exists', 'DoesNotExist')),
  values: array(string()),
}, (req: Record<string, unknown>, ctx) => {
  const values = Array.isArray(req.values) ? req.values : [];
  if ((req.operator === 'In' || req.operator === 'NotIn') && values.length === 0) {
    ctx.error(['values'], `must have at least one value when the operator is ${String(req.operator)}`, 'missing');
  }
  if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && values.length > 0) {
    ctx.error(['values'], `must be empty when the operator is ${String(req.operator)}`);
  }
});

export const labelSelector = object({
  matchLabels: labels,
  matchExpressions: array(labelSelectorRequirement),
});

/**
 * The top-level schema of a kind: apiVersion, kind, metadata (with the kind's name format), status
 * (written by meshbox, accepted as-is on input) and the kind's own fields.
 */
export function kindSchema(nameFormat: Format, fields: Record<string, FieldSpec>, ...checks: Check[]): Schema {
  const envelope = object({
    apiVersion: required(nonEmptyString()),
    kind: required(nonEmptyString()),
    metadata: required(objectMeta(nameFormat)),
    status: any(),
  });
  return extend(envelope, fields, ...checks);
}

/**
 * Whether a LabelSelector (matchLabels + matchExpressions) selects `labels`. Assumes a selector
 * the schema accepted; malformed parts select nothing.
 */
export function selectorMatches(selector: Record<string, unknown>, labels: Record<string, unknown>): boolean {
  const matchLabels = selector.matchLabels;
  if (typeof matchLabels === 'object' && matchLabels !== null) {
    for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== v) return false;
  }
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  for (const e of expressions as Record<string, unknown>[]) {
    if (typeof e !== 'object' || e === null || typeof e.key !== 'string') return false;
    const has = Object.hasOwn(labels, e.key);
    const values = Array.isArray(e.values) ? e.values : [];
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(value)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}
