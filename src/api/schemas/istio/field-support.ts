/**
 * Which Istio fields meshbox refuses, accepts with a warning, or accepts as deprecated, read from
 * the schemas themselves, so docs and `explain`-style commands never drift from what apply does.
 */
import type { Schema, Support } from '../../schema.js';

export interface FieldSupport {
  /** dotted path with [] for list items, e.g. spec.http[].corsPolicy */
  path: string;
  support: Exclude<Support, 'supported'>;
  note: string;
}

/** Every field of `schema` that is not plainly supported, depth first, in declaration order. */
export function fieldSupport(schema: Schema, prefix = ''): FieldSupport[] {
  const out: FieldSupport[] = [];
  const visit = (s: Schema, path: string, seen: Set<Schema>): void => {
    if (seen.has(s)) return;
    seen.add(s);
    if (s.type === 'array') return visit(s.items, `${path}[]`, seen);
    if (s.type === 'map') return visit(s.values, `${path}.*`, seen);
    if (s.type !== 'object') return;
    for (const [name, field] of Object.entries(s.fields)) {
      const child = path ? `${path}.${name}` : name;
      if (field.support !== 'supported') out.push({ path: child, support: field.support, note: field.note ?? '' });
      if (field.support !== 'rejected') visit(field.schema, child, new Set(seen));
    }
  };
  visit(schema, prefix, new Set());
  return out;
}
