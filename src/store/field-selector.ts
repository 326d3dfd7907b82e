/**
 * Field selectors ("metadata.name=web,status.phase!=Running"). Kubernetes allows only a few fields
 * per kind; meshbox accepts any dotted path to a scalar, which is a superset (e.g. the CLI's
 * `involvedObject.name=web` for events). A missing field compares as "".
 */
import { Invalid } from './errors.js';

export interface FieldRequirement {
  path: string[];
  equal: boolean;
  value: string;
}

export function parseFieldSelector(text: string): FieldRequirement[] {
  const reqs: FieldRequirement[] = [];
  if (text.trim() === '') return reqs;
  for (const raw of text.split(',')) {
    const m = raw.trim().match(/^([A-Za-z0-9_.-]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw Invalid(`field selector "${text}": cannot parse "${raw}" (use field.path=value or field.path!=value)`);
    reqs.push({ path: m[1]!.split('.'), equal: m[2] !== '!=', value: m[3]!.trim() });
  }
  return reqs;
}

function fieldValue(obj: unknown, path: string[]): string {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[p];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

export function matchesFieldSelector(reqs: readonly FieldRequirement[], obj: unknown): boolean {
  for (const r of reqs) if ((fieldValue(obj, r.path) === r.value) !== r.equal) return false;
  return true;
}
