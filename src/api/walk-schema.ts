/**
 * The one generic walker: checks a JSON value against a Schema and reports every problem it finds
 * (it never stops at the first one). Issues carry a path of segments and an anchor, so the manifest
 * loader can map each to the line and column of the offending key or value.
 */
import { Quantity } from './quantity.js';
import type { Anchor, CheckContext, Schema, Segment } from './schema.js';
import { suggest } from './suggest.js';

export interface RawIssue {
  path: Segment[];
  anchor: Anchor;
  message: string;
  severity: 'error' | 'warning';
}

const IDENT_RE = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** "spec.containers[0].ports[0].containerPort"; keys that are not identifiers go in brackets. */
export function fieldPath(path: readonly Segment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENT_RE.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${seg}]`;
  }
  return out;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (isPlainObject(value)) return 'a mapping';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 37)}...` : value;
    return `the string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value;
}

/** The object schema a field value holds, looking through lists and maps. */
function objectIn(schema: Schema): Extract<Schema, { type: 'object' }> | undefined {
  if (schema.type === 'object') return schema;
  if (schema.type === 'array' || schema.type === 'map') return objectIn(schema.type === 'array' ? schema.items : schema.values);
  return undefined;
}

/**
 * Where a field misplaced one level too high belongs: `image` under a PodSpec belongs under
 * `containers[]` (or `initContainers[]`). Only direct children are searched, so the hint stays short.
 */
function homeOf(schema: Extract<Schema, { type: 'object' }>, name: string): string | undefined {
  const homes: string[] = [];
  for (const [fieldName, field] of Object.entries(schema.fields)) {
    if (field.support !== 'supported') continue;
    const child = objectIn(field.schema);
    if (child && Object.hasOwn(child.fields, name) && child.fields[name]?.support !== 'rejected') homes.push(field.schema.type === 'array' ? `${fieldName}[]` : fieldName);
  }
  return homes.length > 0 && homes.length <= 3 ? homes.join(' or ') : undefined;
}

export function walkSchema(schema: Schema, value: unknown, path: Segment[] = [], out: RawIssue[] = []): RawIssue[] {
  new Walker(out).walk(schema, value, path);
  return out;
}

class Walker {
  readonly #out: RawIssue[];

  constructor(out: RawIssue[]) {
    this.#out = out;
  }

  #error(path: Segment[], message: string, anchor: Anchor = 'value'): void {
    this.#out.push({ path, anchor, message, severity: 'error' });
  }

  #warn(path: Segment[], message: string, anchor: Anchor = 'key'): void {
    this.#out.push({ path, anchor, message, severity: 'warning' });
  }

  #context(path: Segment[]): CheckContext {
    return {
      error: (rel, message, anchor) => this.#error([...path, ...rel], message, anchor),
      warn: (rel, message, anchor) => this.#warn([...path, ...rel], message, anchor),
    };
  }

  walk(schema: Schema, value: unknown, path: Segment[]): void {
    switch (schema.type) {
      case 'any':
        return;
      case 'string':
        return this.#string(schema, value, path);
      case 'integer':
      case 'number':
        return this.#number(schema, value, path);
      case 'boolean':
        if (typeof value === 'boolean') return;
        if (value === 'true' || value === 'false') {
          return this.#error(path, `must be a boolean, not a string: remove the quotes around ${JSON.stringify(value)}`);
        }
        return this.#error(path, `must be a boolean (true or false), got ${describe(value)}`);
      case 'intOrString':
        if (typeof value === 'string') {
          const bad = schema.format?.check(value);
          if (bad) this.#error(path, bad);
          return;
        }
        if (typeof value === 'number' && Number.isInteger(value)) return this.#range(schema, value, path);
        return this.#error(path, `must be an integer or a name, got ${describe(value)}`);
      case 'quantity':
        return this.#quantity(schema.nonNegative, value, path);
      case 'object':
        return this.#object(schema, value, path);
      case 'array':
        return this.#array(schema, value, path);
      case 'map':
        return this.#map(schema, value, path);
    }
  }

  #string(schema: Extract<Schema, { type: 'string' }>, value: unknown, path: Segment[]): void {
    if (typeof value !== 'string') {
      const hint = typeof value === 'number' || typeof value === 'boolean' ? `; quote it: "${String(value)}"` : '';
      return this.#error(path, `must be a string, got ${describe(value)}${hint}`);
    }
    if (schema.nonEmpty && value.length === 0) return this.#error(path, 'must not be empty');
    if (schema.enum && !schema.enum.includes(value)) {
      const close = suggest(value, schema.enum);
      const hint = close ? ` (did you mean ${close}?)` : '';
      return this.#error(path, `unsupported value ${JSON.stringify(value)}${hint}: use one of ${schema.enum.join(', ')}`);
    }
    if (schema.format && (value.length > 0 || schema.nonEmpty)) {
      const bad = schema.format.check(value);
      if (bad) this.#error(path, bad);
    }
  }

  #number(schema: Extract<Schema, { type: 'integer' | 'number' }>, value: unknown, path: Segment[]): void {
    const what = schema.type === 'integer' ? 'an integer' : 'a number';
    if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
      return this.#error(path, `must be ${what}, not a string: remove the quotes around ${JSON.stringify(value)}`);
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return this.#error(path, `must be ${what}, got ${describe(value)}`);
    }
    if (schema.type === 'integer' && !Number.isInteger(value)) return this.#error(path, `must be an integer, got ${value}`);
    this.#range(schema, value, path);
  }

  #range(schema: { min?: number; max?: number }, value: number, path: Segment[]): void {
    const { min, max } = schema;
    if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
      let range: string;
      if (min !== undefined && max !== undefined) range = `between ${min} and ${max}`;
      else if (min !== undefined) range = min === 0 ? 'zero or more' : `at least ${min}`;
      else range = `at most ${max}`;
      this.#error(path, `must be ${range}, got ${value}`);
    } else if (!Number.isSafeInteger(value) && Number.isInteger(value)) {
      this.#error(path, `${value} is too large`);
    }
  }

  #quantity(nonNegative: boolean, value: unknown, path: Segment[]): void {
    const q = Quantity.tryParse(value);
    if (typeof q === 'string') {
      const shown = typeof value === 'string' || typeof value === 'number' ? ` ${JSON.stringify(value)}` : '';
      return this.#error(path, `invalid quantity${shown}: ${q}; write e.g. "128Mi", "1G", "500m" or "0.5"`);
    }
    if (nonNegative && q.negative) this.#error(path, `must not be negative, got ${q.text}`);
  }

  #object(schema: Extract<Schema, { type: 'object' }>, value: unknown, path: Segment[]): void {
    if (!isPlainObject(value)) return this.#error(path, `must be a mapping (key: value), got ${describe(value)}`);
    const known = Object.keys(schema.fields);
    // a misspelt field already explains why the real one is missing: report it once
    const suggested = new Set<string>();
    for (const [name, child] of Object.entries(value)) {
      const field = schema.fields[name];
      const childPath = [...path, name];
      if (field === undefined || !Object.hasOwn(schema.fields, name)) {
        const close = suggest(name, known);
        let message = 'unknown field';
        if (close) {
          message += `, did you mean ${close}?`;
          suggested.add(close);
        }
        else {
          const home = homeOf(schema, name);
          if (home) message += `; ${name} belongs under ${home} (check the indentation)`;
          else if (known.length <= 12) message += `; known fields here: ${known.join(', ')}`;
        }
        this.#error(childPath, message, 'key');
        continue;
      }
      if (child === null || child === undefined) continue;
      if (field.support === 'rejected') {
        this.#error(childPath, `not supported by meshbox: ${field.note ?? 'remove it'}`, 'key');
        continue;
      }
      if (field.support === 'ignored') this.#warn(childPath, `ignored: ${field.note ?? 'meshbox does not use it'}`);
      if (field.support === 'deprecated') this.#warn(childPath, `deprecated: ${field.note ?? 'it may go away'}`);
      this.walk(field.schema, child, childPath);
    }
    for (const [name, field] of Object.entries(schema.fields)) {
      if (field.required && !suggested.has(name) && (value[name] === undefined || value[name] === null)) {
        this.#error([...path, name], 'required field is missing', 'missing');
      }
    }
    // cross-field rules read fields whose types may be wrong; they guard for it themselves
    for (const check of schema.checks) check(value, this.#context(path));
  }

  #array(schema: Extract<Schema, { type: 'array' }>, value: unknown, path: Segment[]): void {
    if (!Array.isArray(value)) {
      const hint = isPlainObject(value) ? ' (start each item with "- ")' : '';
      return this.#error(path, `must be a list, got ${describe(value)}${hint}`);
    }
    if (value.length < schema.minItems) {
      this.#error(path, schema.minItems === 1 ? 'must have at least one item' : `must have at least ${schema.minItems} items`);
    }
    value.forEach((item, i) => {
      if (item === null || item === undefined) this.#error([...path, i], 'list item is empty');
      else this.walk(schema.items, item, [...path, i]);
    });
    for (const check of schema.checks) check(value, this.#context(path));
  }

  #map(schema: Extract<Schema, { type: 'map' }>, value: unknown, path: Segment[]): void {
    if (!isPlainObject(value)) return this.#error(path, `must be a mapping (key: value), got ${describe(value)}`);
    for (const [key, child] of Object.entries(value)) {
      const bad = schema.keys?.check(key);
      if (bad) this.#error([...path, key], bad, 'key');
      if (child === null || child === undefined) {
        if (schema.values.type === 'string') this.#error([...path, key], 'must be a string, got null; write "" for an empty value', 'key');
        continue;
      }
      this.walk(schema.values, child, [...path, key]);
    }
    for (const check of schema.checks) check(value, this.#context(path));
  }
}
