/**
 * A tiny collector for validation issues with typed field readers. Readers record an issue with
 * the exact path and return undefined, so validation keeps going and reports everything at once.
 */
import type { ConfigIssue } from './errors.js';
import { parseDuration } from './duration.js';

export class Checker {
  readonly issues: ConfigIssue[] = [];

  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  /** An object whose keys must all be in `allowed` (catches typos such as `timout`). */
  object(value: unknown, path: string, allowed: readonly string[] | null): Record<string, unknown> | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.add(path, `must be an object, got ${describe(value)}`);
      return undefined;
    }
    const record = value as Record<string, unknown>;
    if (allowed) {
      for (const key of Object.keys(record)) {
        if (!allowed.includes(key)) this.add(`${path}.${key}`, `unknown field; allowed fields are ${allowed.join(', ')}`);
      }
    }
    return record;
  }

  array(value: unknown, path: string): unknown[] | undefined {
    if (!Array.isArray(value)) {
      this.add(path, `must be a list, got ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  string(value: unknown, path: string, opts: { nonEmpty?: boolean; pattern?: RegExp; hint?: string } = {}): string | undefined {
    if (typeof value !== 'string') {
      this.add(path, `must be a string, got ${describe(value)}`);
      return undefined;
    }
    if (opts.nonEmpty !== false && value === '') {
      this.add(path, 'must not be empty');
      return undefined;
    }
    if (opts.pattern && !opts.pattern.test(value)) {
      this.add(path, `${JSON.stringify(value)} is not valid${opts.hint ? `: ${opts.hint}` : ''}`);
      return undefined;
    }
    return value;
  }

  int(value: unknown, path: string, min: number, max: number): number | undefined {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.add(path, `must be an integer, got ${describe(value)}`);
      return undefined;
    }
    if (value < min || value > max) {
      this.add(path, `must be between ${min} and ${max}, got ${value}`);
      return undefined;
    }
    return value;
  }

  number(value: unknown, path: string, min: number, max: number): number | undefined {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.add(path, `must be a number, got ${describe(value)}`);
      return undefined;
    }
    if (value < min || value > max) {
      this.add(path, `must be between ${min} and ${max}, got ${value}`);
      return undefined;
    }
    return value;
  }

  boolean(value: unknown, path: string): boolean | undefined {
    if (typeof value !== 'boolean') {
      this.add(path, `must be true or false, got ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T | undefined {
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.add(path, `must be one of ${allowed.join(', ')}, got ${describe(value)}`);
      return undefined;
    }
    return value as T;
  }

  /** A duration such as "1.5s" or "250ms"; returns the original text when valid. */
  duration(value: unknown, path: string): string | undefined {
    const ms = parseDuration(value);
    if (ms === undefined) {
      this.add(path, `must be a duration such as "250ms", "1.5s" or "1m", got ${describe(value)}`);
      return undefined;
    }
    return typeof value === 'number' ? `${value}ms` : (value as string);
  }

  stringMap(value: unknown, path: string, keyPattern?: RegExp, keyHint?: string): Record<string, string> | undefined {
    const record = this.object(value, path, null);
    if (!record) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(record)) {
      if (keyPattern && !keyPattern.test(k)) this.add(`${path}.${k}`, `invalid name${keyHint ? `: ${keyHint}` : ''}`);
      const s = this.string(v, `${path}.${k}`, { nonEmpty: false });
      if (s !== undefined) out[k] = s;
    }
    return out;
  }
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  return `${typeof value} ${String(value)}`;
}
