/**
 * The schema DSL: one declarative schema per kind (schemas/*.ts), checked by one generic walker
 * (walk-schema.ts). Compact on purpose: a kind's schema reads like its API reference.
 *
 *   const containerPort = object({
 *     name: string(portName),
 *     containerPort: required(port),
 *     hostIP: ignored('...'),            // accepted, with a warning
 *     hostNetwork: rejected('...'),      // known to Kubernetes, not supported by meshbox: an error
 *     percent: deprecated('use percentage.value', integer()),  // accepted and checked, with a warning
 *   });
 *
 * Cross-field rules (duplicate names, exactly one of, references) are `checks` on objects and
 * arrays; they receive the value and a context that reports relative to the node.
 */
import type { Format } from './formats.js';

export type Segment = string | number;

/** Where in the YAML an issue points: the key of the field, its value, or (missing) its parent. */
export type Anchor = 'key' | 'value' | 'missing';

export interface CheckContext {
  error(rel: readonly Segment[], message: string, anchor?: Anchor): void;
  warn(rel: readonly Segment[], message: string, anchor?: Anchor): void;
}

// Checks get the raw JSON value; the walker has already checked its type.
export type Check = (value: any, ctx: CheckContext) => void;

export type Schema =
  | { readonly type: 'string'; readonly format?: Format; readonly enum?: readonly string[]; readonly nonEmpty?: boolean }
  | { readonly type: 'integer'; readonly min?: number; readonly max?: number }
  | { readonly type: 'number'; readonly min?: number; readonly max?: number }
  | { readonly type: 'boolean' }
  | { readonly type: 'intOrString'; readonly min?: number; readonly max?: number; readonly format?: Format }
  | { readonly type: 'quantity'; readonly nonNegative: boolean }
  | {
      readonly type: 'object';
      readonly fields: Readonly<Record<string, Field>>;
      readonly checks: readonly Check[];
    }
  | { readonly type: 'array'; readonly items: Schema; readonly minItems: number; readonly checks: readonly Check[] }
  | { readonly type: 'map'; readonly values: Schema; readonly keys?: Format; readonly checks: readonly Check[] }
  | { readonly type: 'any' };

export type Support = 'supported' | 'ignored' | 'deprecated' | 'rejected';

export interface Field {
  readonly schema: Schema;
  readonly required: boolean;
  /** 'ignored': accepted with a warning; 'rejected': known to Kubernetes/Istio, unsupported here */
  readonly support: Support;
  /** why a field is ignored or rejected; shown to the user */
  readonly note?: string;
}

export type FieldSpec = Schema | Field;

function isField(spec: FieldSpec): spec is Field {
  return 'schema' in spec && 'support' in spec;
}

function toField(spec: FieldSpec): Field {
  return isField(spec) ? spec : { schema: spec, required: false, support: 'supported' };
}

// === builders ===

export function string(format?: Format): Schema {
  return format ? { type: 'string', format } : { type: 'string' };
}

export function nonEmptyString(format?: Format): Schema {
  return format ? { type: 'string', format, nonEmpty: true } : { type: 'string', nonEmpty: true };
}

export function oneOf(...values: string[]): Schema {
  return { type: 'string', enum: values };
}

export function integer(opts: { min?: number; max?: number } = {}): Schema {
  return { type: 'integer', ...opts };
}

export function number(opts: { min?: number; max?: number } = {}): Schema {
  return { type: 'number', ...opts };
}

export function boolean(): Schema {
  return { type: 'boolean' };
}

export function intOrString(opts: { min?: number; max?: number; format?: Format } = {}): Schema {
  return { type: 'intOrString', ...opts };
}

export function quantity(opts: { nonNegative?: boolean } = {}): Schema {
  return { type: 'quantity', nonNegative: opts.nonNegative ?? true };
}

export function any(): Schema {
  return { type: 'any' };
}

export function object(fields: Record<string, FieldSpec>, ...checks: Check[]): Schema {
  const out: Record<string, Field> = {};
  for (const [name, spec] of Object.entries(fields)) out[name] = toField(spec);
  return { type: 'object', fields: out, checks };
}

/** A copy of an object schema with more fields and checks (fields given later win). */
export function extend(base: Schema, fields: Record<string, FieldSpec>, ...checks: Check[]): Schema {
  if (base.type !== 'object') throw new Error('extend() needs an object schema');
  const more = object(fields);
  if (more.type !== 'object') throw new Error('unreachable');
  return { type: 'object', fields: { ...base.fields, ...more.fields }, checks: [...base.checks, ...checks] };
}

export function array(items: Schema, opts: { minItems?: number } = {}, ...checks: Check[]): Schema {
  return { type: 'array', items, minItems: opts.minItems ?? 0, checks };
}

export function map(values: Schema, keys?: Format, ...checks: Check[]): Schema {
  return keys ? { type: 'map', values, keys, checks } : { type: 'map', values, checks };
}

export function required(schema: Schema): Field {
  return { schema, required: true, support: 'supported' };
}

/** Known and accepted, but meshbox does nothing with it: the user gets a warning saying so. */
export function ignored(note: string, schema: Schema = any()): Field {
  return { schema, required: false, support: 'ignored', note };
}

/** Accepted and used, with a warning that points to the replacement (Istio's `fault.abort.percent`). */
export function deprecated(note: string, schema: Schema): Field {
  return { schema, required: false, support: 'deprecated', note };
}

/** Known (to Kubernetes or Istio) but not supported by meshbox: an error that says why. */
export function rejected(note: string): Field {
  return { schema: any(), required: false, support: 'rejected', note };
}

// === reusable checks ===

/** Exactly one of `names` must be set (volume sources, probe handlers, ...). */
export function exactlyOne(names: readonly string[], what: string): Check {
  return (value: Record<string, unknown>, ctx) => {
    const set = names.filter((n) => value[n] !== undefined && value[n] !== null);
    if (set.length === 0) ctx.error([], `${what}: set exactly one of ${names.join(', ')}`, 'missing');
    for (const extra of set.slice(1)) {
      ctx.error([extra], `${what}: only one of ${names.join(', ')} may be set, but ${set[0]} is set too`, 'key');
    }
  };
}

/** At most one of `names` may be set. */
export function atMostOne(names: readonly string[], what: string): Check {
  return (value: Record<string, unknown>, ctx) => {
    const set = names.filter((n) => value[n] !== undefined && value[n] !== null);
    for (const extra of set.slice(1)) {
      ctx.error([extra], `${what}: only one of ${names.join(', ')} may be set, but ${set[0]} is set too`, 'key');
    }
  };
}

/** Items of an array must differ in `key` (container names, volume names, port names). */
export function uniqueBy(key: string, what: string): Check {
  return (items: unknown[], ctx) => {
    const seen = new Map<unknown, number>();
    items.forEach((item, i) => {
      if (typeof item !== 'object' || item === null) return;
      const v = (item as Record<string, unknown>)[key];
      if (v === undefined || v === null) return;
      const first = seen.get(v);
      if (first === undefined) seen.set(v, i);
      else ctx.error([i, key], `duplicate ${what} ${JSON.stringify(v)} (first used at [${first}])`, 'value');
    });
  };
}
