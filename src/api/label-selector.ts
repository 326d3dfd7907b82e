/**
 * Kubernetes label selectors: the string form used in `?labelSelector=` and `-l`
 * ("app=web,tier!=db,env in (a,b),env notin (c),!legacy,track") and the object form used in
 * specs (`{matchLabels, matchExpressions}`), both compiled to one `Selector`.
 */
import { InvalidSelector as Invalid } from './errors.js';

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';

export interface Requirement {
  key: string;
  operator: SelectorOperator;
  values: string[];
}

/** metav1.LabelSelector */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export type Labels = Record<string, string> | undefined;

const KEY_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

export class Selector {
  readonly requirements: readonly Requirement[];
  /** a selector that matches nothing (a nil selector in Kubernetes) */
  readonly #nothing: boolean;

  constructor(requirements: Requirement[], nothing = false) {
    this.requirements = requirements;
    this.#nothing = nothing;
  }

  static everything(): Selector {
    return new Selector([]);
  }

  static nothing(): Selector {
    return new Selector([], true);
  }

  /** true for a selector without requirements (it matches every object) */
  get empty(): boolean {
    return !this.#nothing && this.requirements.length === 0;
  }

  matches(labels: Labels): boolean {
    if (this.#nothing) return false;
    for (const r of this.requirements) if (!requirementMatches(r, labels)) return false;
    return true;
  }

  toString(): string {
    return this.requirements.map(requirementToString).join(',');
  }
}

function requirementMatches(r: Requirement, labels: Labels): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = has ? labels![r.key] : undefined;
  switch (r.operator) {
    case 'In':
      return has && r.values.includes(value!);
    case 'NotIn':
      return !has || !r.values.includes(value!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has) return false;
      const a = Number(value);
      const b = Number(r.values[0]);
      if (!Number.isInteger(a) || !Number.isInteger(b)) return false;
      return r.operator === 'Gt' ? a > b : a < b;
    }
  }
}

function requirementToString(r: Requirement): string {
  switch (r.operator) {
    case 'Exists':
      return r.key;
    case 'DoesNotExist':
      return `!${r.key}`;
    case 'In':
      return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
    case 'NotIn':
      return r.values.length === 1 ? `${r.key}!=${r.values[0]}` : `${r.key} notin (${r.values.join(',')})`;
    case 'Gt':
      return `${r.key}>${r.values[0]}`;
    case 'Lt':
      return `${r.key}<${r.values[0]}`;
  }
}

function checkKey(key: string, text: string): string {
  if (!KEY_RE.test(key) || key.length > 316) {
    throw Invalid(`label selector "${text}": "${key}" is not a valid label key (letters, digits, '-', '_', '.', optional "prefix/")`);
  }
  return key;
}

function checkValue(value: string, text: string): string {
  if (!VALUE_RE.test(value) || value.length > 63) {
    throw Invalid(`label selector "${text}": "${value}" is not a valid label value (at most 63 letters, digits, '-', '_', '.')`);
  }
  return value;
}

/** Parses the string form. An empty string selects everything. Throws MBX_API_INVALID_SELECTOR. */
export function parseLabelSelector(text: string): Selector {
  const reqs: Requirement[] = [];
  for (const part of splitTopLevel(text)) {
    const s = part.trim();
    if (s === '') {
      if (text.trim() === '') continue;
      throw Invalid(`label selector "${text}": empty requirement (check for a stray comma)`);
    }
    let m: RegExpMatchArray | null;
    if ((m = s.match(/^!\s*([^\s=!<>(),]+)$/))) {
      reqs.push({ key: checkKey(m[1]!, text), operator: 'DoesNotExist', values: [] });
    } else if ((m = s.match(/^([^\s=!<>(),]+)\s+(in|notin)\s*\(([^()]*)\)$/))) {
      const values = m[3]!.split(',').map((v) => checkValue(v.trim(), text));
      reqs.push({ key: checkKey(m[1]!, text), operator: m[2] === 'in' ? 'In' : 'NotIn', values });
    } else if ((m = s.match(/^([^\s=!<>(),]+)\s*(==|=|!=)\s*([^\s=!<>(),]*)$/))) {
      reqs.push({ key: checkKey(m[1]!, text), operator: m[2] === '!=' ? 'NotIn' : 'In', values: [checkValue(m[3]!, text)] });
    } else if ((m = s.match(/^([^\s=!<>(),]+)\s*([<>])\s*(-?\d+)$/))) {
      reqs.push({ key: checkKey(m[1]!, text), operator: m[2] === '>' ? 'Gt' : 'Lt', values: [m[3]!] });
    } else if ((m = s.match(/^([^\s=!<>(),]+)$/))) {
      reqs.push({ key: checkKey(m[1]!, text), operator: 'Exists', values: [] });
    } else {
      throw Invalid(
        `label selector "${text}": cannot parse "${s}" (use key=value, key!=value, key in (a,b), key notin (a,b), key or !key)`,
      );
    }
  }
  return new Selector(reqs);
}

/** Splits on commas outside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

const OPERATORS: Record<string, SelectorOperator> = {
  In: 'In',
  NotIn: 'NotIn',
  Exists: 'Exists',
  DoesNotExist: 'DoesNotExist',
};

/**
 * Compiles the object form. As in Kubernetes, `undefined`/`null` selects nothing and `{}` selects
 * everything. Throws MBX_API_INVALID_SELECTOR for an unknown operator or a values list that does not fit it.
 */
export function selectorFromObject(sel: LabelSelector | null | undefined): Selector {
  if (sel === undefined || sel === null) return Selector.nothing();
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) {
    reqs.push({ key, operator: 'In', values: [String(value)] });
  }
  for (const [i, e] of (sel.matchExpressions ?? []).entries()) {
    const op = OPERATORS[e.operator];
    if (!op) {
      throw Invalid(`matchExpressions[${i}].operator "${e.operator}" is not one of In, NotIn, Exists, DoesNotExist`);
    }
    const values = e.values ?? [];
    if ((op === 'In' || op === 'NotIn') && values.length === 0) {
      throw Invalid(`matchExpressions[${i}]: operator ${op} needs at least one value`);
    }
    if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) {
      throw Invalid(`matchExpressions[${i}]: operator ${op} takes no values`);
    }
    reqs.push({ key: e.key, operator: op, values: values.map(String) });
  }
  return new Selector(reqs);
}

/** Does `sel` (object form) select an object with `labels`? undefined/null selects nothing. */
export function matchesLabelSelector(sel: LabelSelector | null | undefined, labels: Labels): boolean {
  return selectorFromObject(sel).matches(labels);
}

/** The string form of an object selector, e.g. for `status.selector` or `?labelSelector=`. */
export function labelSelectorToString(sel: LabelSelector): string {
  return selectorFromObject(sel).toString();
}
