/**
 * The Prometheus text exposition format (version 0.0.4), read strictly and written canonically.
 *
 * It lives in meshconfig/ because both ends use it: the control plane merges every proxy's
 * /stats/prometheus into one endpoint, and `meshbox top` reads that endpoint (the CLI may not import
 * the control plane). Strict means what Prometheus' own parser rejects is rejected here too, with the
 * line number: one TYPE and one HELP per family, declared before its samples; a family's lines form
 * one group; no duplicate series; histogram buckets carry `le`, summary quantiles `quantile`; only the
 * escapes \\, \" and \n.
 */
import { BadExposition } from './errors.js';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/** Label pairs in exposition order (an array, not an object: `__proto__` is a valid label name). */
export type Labels = [name: string, value: string][];

export interface Sample {
  /** the full sample name: `x_bucket`, `x_sum`, `x_count` for a histogram `x` */
  name: string;
  labels: Labels;
  value: number;
  timestampMs?: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DIRECTIVE = /^#[ \t]+(HELP|TYPE)[ \t]+([^ \t]+)(?:[ \t]+(.*))?$/;

interface FamilyState {
  family: MetricFamily;
  typed: boolean;
  sampled: boolean;
  /** another family's lines came after this one's: its group is over */
  closed: boolean;
  series: Set<string>;
}

/** Parses a whole exposition; throws MBX_TELEMETRY_BAD_EXPOSITION naming the first bad line. */
export function parseExposition(text: string): MetricFamily[] {
  const byName = new Map<string, FamilyState>();
  const out: MetricFamily[] = [];
  let current: FamilyState | undefined;

  const enter = (state: FamilyState, line: number): void => {
    if (state === current) return;
    if (state.closed) throw BadExposition(line, `the lines of ${state.family.name} must form one group, but other metrics came between them`);
    if (current) current.closed = true;
    current = state;
  };
  const create = (name: string, type: MetricType): FamilyState => {
    const state: FamilyState = { family: { name, type, samples: [] }, typed: false, sampled: false, closed: false, series: new Set() };
    byName.set(name, state);
    out.push(state.family);
    return state;
  };

  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const lineNo = i + 1;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = DIRECTIVE.exec(line);
      if (!m) continue; // a plain comment
      const [, directive, name, rest] = m as unknown as [string, 'HELP' | 'TYPE', string, string | undefined];
      if (!METRIC_NAME.test(name)) throw BadExposition(lineNo, `${JSON.stringify(name)} is not a metric name`);
      const state = byName.get(name) ?? create(name, 'untyped');
      enter(state, lineNo);
      if (directive === 'HELP') {
        if (state.family.help !== undefined) throw BadExposition(lineNo, `second HELP line for ${name}`);
        state.family.help = unescape(rest ?? '', lineNo, false);
      } else {
        const type = (rest ?? '').trim();
        if (!TYPES.has(type)) throw BadExposition(lineNo, `unknown type ${JSON.stringify(type)} for ${name} (counter, gauge, histogram, summary or untyped)`);
        if (state.typed) throw BadExposition(lineNo, `second TYPE line for ${name}`);
        if (state.sampled) throw BadExposition(lineNo, `the TYPE line for ${name} comes after its samples`);
        state.family.type = type as MetricType;
        state.typed = true;
      }
      continue;
    }
    const sample = parseSampleLine(line, lineNo);
    const state = familyFor(sample.name, byName) ?? create(sample.name, 'untyped');
    enter(state, lineNo);
    checkShape(state.family, sample, lineNo);
    const key = seriesKey(sample.name, sample.labels);
    if (state.series.has(key)) throw BadExposition(lineNo, `duplicate series ${key}`);
    state.series.add(key);
    state.sampled = true;
    state.family.samples.push(sample);
  }
  return out;
}

/** The declared family a sample name belongs to (`x_bucket` → histogram `x`), if any. */
function familyFor(name: string, byName: Map<string, FamilyState>): FamilyState | undefined {
  const m = /^(.+)_(bucket|sum|count)$/.exec(name);
  if (m) {
    const base = byName.get(m[1]!);
    if (base && (base.family.type === 'histogram' || (base.family.type === 'summary' && m[2] !== 'bucket'))) return base;
  }
  return byName.get(name);
}

function checkShape(family: MetricFamily, sample: Sample, line: number): void {
  const label = (n: string): string | undefined => sample.labels.find(([k]) => k === n)?.[1];
  if (family.type === 'histogram') {
    if (sample.name === family.name) throw BadExposition(line, `histogram ${family.name} has only _bucket, _sum and _count samples`);
    if (sample.name.endsWith('_bucket')) {
      const le = label('le');
      if (le === undefined || parseValue(le) === undefined || Number.isNaN(parseValue(le))) throw BadExposition(line, `bucket of ${family.name} needs a numeric "le" label`);
    }
  } else if (family.type === 'summary' && sample.name === family.name) {
    const q = label('quantile');
    if (q === undefined || parseValue(q) === undefined) throw BadExposition(line, `sample of summary ${family.name} needs a numeric "quantile" label`);
  }
}

function parseSampleLine(line: string, lineNo: number): Sample {
  let i = 0;
  const n = line.length;
  const blanks = (): void => {
    while (i < n && (line[i] === ' ' || line[i] === '\t')) i++;
  };
  const start = i;
  while (i < n && /[a-zA-Z0-9_:]/.test(line[i]!)) i++;
  const name = line.slice(start, i);
  if (!METRIC_NAME.test(name)) throw BadExposition(lineNo, `expected a metric name at the start of ${JSON.stringify(line.slice(0, 60))}`);
  const labels: Labels = [];
  const afterName = i;
  blanks();
  if (line[i] !== '{') i = afterName;
  else {
    i++;
    const seen = new Set<string>();
    for (;;) {
      blanks();
      if (line[i] === '}') {
        i++;
        break;
      }
      const ls = i;
      while (i < n && /[a-zA-Z0-9_]/.test(line[i]!)) i++;
      const label = line.slice(ls, i);
      if (!LABEL_NAME.test(label)) throw BadExposition(lineNo, `expected a label name in ${name}{...} at column ${ls + 1}`);
      if (seen.has(label)) throw BadExposition(lineNo, `label ${label} appears twice in one sample of ${name}`);
      seen.add(label);
      blanks();
      if (line[i] !== '=') throw BadExposition(lineNo, `expected "=" after label ${label} at column ${i + 1}`);
      i++;
      blanks();
      if (line[i] !== '"') throw BadExposition(lineNo, `the value of label ${label} must be in double quotes (column ${i + 1})`);
      i++;
      const vs = i;
      while (i < n && line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
      if (i >= n) throw BadExposition(lineNo, `the value of label ${label} has no closing quote`);
      labels.push([label, unescape(line.slice(vs, i), lineNo, true)]);
      i++;
      blanks();
      if (line[i] === ',') {
        i++;
        continue;
      }
      if (line[i] === '}') {
        i++;
        break;
      }
      throw BadExposition(lineNo, `expected "," or "}" after label ${label} at column ${i + 1}`);
    }
  }
  const rest = line.slice(i);
  if (!/^[ \t]/.test(rest)) throw BadExposition(lineNo, `expected a blank and a value after ${name}`);
  const tokens = rest.trim().split(/[ \t]+/);
  if (tokens.length > 2) throw BadExposition(lineNo, `unexpected text after the value and timestamp of ${name}`);
  const value = parseValue(tokens[0]!);
  if (value === undefined) throw BadExposition(lineNo, `${JSON.stringify(tokens[0])} is not a number (value of ${name})`);
  const sample: Sample = { name, labels, value };
  if (tokens.length === 2) {
    if (!/^-?\d{1,19}$/.test(tokens[1]!)) throw BadExposition(lineNo, `${JSON.stringify(tokens[1])} is not a timestamp in milliseconds`);
    sample.timestampMs = Number(tokens[1]);
  }
  return sample;
}

/** Go's ParseFloat as Prometheus uses it, without hex floats: decimals, NaN, ±Inf. */
export function parseValue(token: string): number | undefined {
  if (DECIMAL.test(token)) return Number(token);
  switch (token.toLowerCase()) {
    case 'nan':
      return NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Infinity;
    case '-inf':
    case '-infinity':
      return -Infinity;
    default:
      return undefined;
  }
}

function unescape(text: string, line: number, quotes: boolean): string {
  if (!text.includes('\\')) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = text[++i];
    if (next === '\\') out += '\\';
    else if (next === 'n') out += '\n';
    else if (next === '"' && quotes) out += '"';
    else throw BadExposition(line, `invalid escape sequence "\\${next ?? ''}" (only \\\\, ${quotes ? '\\", ' : ''}\\n)`);
  }
  return out;
}

// === writing ===

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatLabels(labels: Labels): string {
  if (labels.length === 0) return '';
  return `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

/** One HELP and one TYPE line per family, then its samples; ends with a newline. */
export function renderExposition(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (f.help !== undefined) out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      out.push(`${s.name}${formatLabels(s.labels)} ${formatValue(s.value)}${s.timestampMs === undefined ? '' : ` ${s.timestampMs}`}`);
    }
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** Identity of a series: its name and its labels in name order. */
export function seriesKey(name: string, labels: Labels): string {
  const sorted = labels.length < 2 ? labels : [...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${name}${formatLabels(sorted)}`;
}

/** The value of one label of a sample, or undefined. */
export function labelValue(labels: Labels, name: string): string | undefined {
  for (const [k, v] of labels) if (k === name) return v;
  return undefined;
}
