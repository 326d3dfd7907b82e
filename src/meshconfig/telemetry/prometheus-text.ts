/**
 * The Prometheus text exposition format (version 0.0.4), read strictly and written canonically.
 *
 * It lives in meshconfig/ because both ends use it: the control plane merges every proxy's
 * /stats/prometheus into one endpoint, and `meshbox top` reads that endpoint (the CLI may not import
 * the control plane). Strict means what Prometheus' own parser rejects is rejected here too, with the
 * line number: one TYPE and one HELP per family, declared before its samples; a family's lines form
 * one group; no series written twice; histogram buckets carry `le`, summary quantiles `quantile`;
 * only the escapes \\, \" and \n.
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
  /**
   * `labels` as written between the braces, kept by the parser when already canonical
   * (`k="v",k2="v2"`): rendering reuses it instead of escaping every value again.
   */
  labelText?: string;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
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
    const { sample, seriesEnd } = parseSampleLine(line, lineNo);
    const state = familyFor(sample.name, byName) ?? create(sample.name, 'untyped');
    enter(state, lineNo);
    checkShape(state.family, sample, lineNo);
    // the series as written: cheap, and exporters write one series' labels in one order
    const key = line.slice(0, seriesEnd);
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

// Character classes by code, for the hot loop (a metrics text has tens of thousands of lines).
const SPACE = 32;
const TAB = 9;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const EQUALS = 61;
const OPEN = 123;
const CLOSE = 125;

function isNameChar(c: number, colon: boolean): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || (colon && c === 58);
}

/** A parsed sample and where its series identity ends in the line (name and labels as written). */
interface ParsedLine {
  sample: Sample;
  seriesEnd: number;
}

function parseSampleLine(line: string, lineNo: number): ParsedLine {
  const n = line.length;
  let i = 0;
  while (i < n && isNameChar(line.charCodeAt(i), true)) i++;
  const name = line.slice(0, i);
  if (!METRIC_NAME.test(name)) throw BadExposition(lineNo, `expected a metric name at the start of ${JSON.stringify(line.slice(0, 60))}`);
  const labels: Labels = [];
  const afterName = i;
  while (i < n && (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB)) i++;
  let labelText: string | undefined;
  if (line.charCodeAt(i) !== OPEN) i = afterName;
  else {
    const open = ++i;
    // blanks between the tokens or a trailing comma: valid, but not reusable as written
    let canonical = true;
    let b0: number;
    for (;;) {
      b0 = i;
      while (i < n && (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB)) i++;
      if (i !== b0) canonical = false;
      // `{}` or a trailing comma: nothing reusable as written
      if (line.charCodeAt(i) === CLOSE) {
        i++;
        break;
      }
      const ls = i;
      while (i < n && isNameChar(line.charCodeAt(i), false)) i++;
      const label = line.slice(ls, i);
      const first = line.charCodeAt(ls);
      if (i === ls || (first >= 48 && first <= 57)) throw BadExposition(lineNo, `expected a label name in ${name}{...} at column ${ls + 1}`);
      for (let l = 0; l < labels.length; l++) if (labels[l]![0] === label) throw BadExposition(lineNo, `label ${label} appears twice in one sample of ${name}`);
      b0 = i;
      while (i < n && (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB)) i++;
      if (i !== b0) canonical = false;
      if (line.charCodeAt(i) !== EQUALS) throw BadExposition(lineNo, `expected "=" after label ${label} at column ${i + 1}`);
      i++;
      b0 = i;
      while (i < n && (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB)) i++;
      if (i !== b0) canonical = false;
      if (line.charCodeAt(i) !== QUOTE) throw BadExposition(lineNo, `the value of label ${label} must be in double quotes (column ${i + 1})`);
      const vs = ++i;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw BadExposition(lineNo, `the value of label ${label} has no closing quote`);
        // a quote after an odd number of backslashes is part of the value
        let b = q - 1;
        while (b >= vs && line.charCodeAt(b) === BACKSLASH) b--;
        i = q;
        if ((q - 1 - b) % 2 === 0) break;
        i = q + 1;
      }
      const raw = line.slice(vs, i);
      labels.push([label, unescape(raw, lineNo, true)]);
      i++;
      b0 = i;
      while (i < n && (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB)) i++;
      if (i !== b0) canonical = false;
      const c = line.charCodeAt(i);
      if (c === COMMA) {
        i++;
        continue;
      }
      if (c === CLOSE) {
        if (canonical) labelText = line.slice(open, i);
        i++;
        break;
      }
      throw BadExposition(lineNo, `expected "," or "}" after label ${label} at column ${i + 1}`);
    }
  }
  const seriesEnd = i;
  if (i >= n || (line.charCodeAt(i) !== SPACE && line.charCodeAt(i) !== TAB)) throw BadExposition(lineNo, `expected a blank and a value after ${name}`);
  while (i < n && (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB)) i++;
  let e = i;
  while (e < n && line.charCodeAt(e) !== SPACE && line.charCodeAt(e) !== TAB) e++;
  const valueText = line.slice(i, e);
  const value = parseValue(valueText);
  if (value === undefined) throw BadExposition(lineNo, `${JSON.stringify(valueText)} is not a number (value of ${name})`);
  const sample: Sample = labelText === undefined ? { name, labels, value } : { name, labels, value, labelText };
  i = e;
  while (i < n && (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB)) i++;
  if (i < n) {
    e = i;
    while (e < n && line.charCodeAt(e) !== SPACE && line.charCodeAt(e) !== TAB) e++;
    const ts = line.slice(i, e);
    i = e;
    while (i < n && (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB)) i++;
    if (i < n) throw BadExposition(lineNo, `unexpected text after the value and timestamp of ${name}`);
    if (!/^-?\d{1,19}$/.test(ts)) throw BadExposition(lineNo, `${JSON.stringify(ts)} is not a timestamp in milliseconds`);
    sample.timestampMs = Number(ts);
  }
  return { sample, seriesEnd };
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

const NEEDS_ESCAPE = /[\\"\n]/;

function escapeLabelValue(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatLabels(labels: Labels): string {
  if (labels.length === 0) return '';
  let out = '{';
  for (let i = 0; i < labels.length; i++) {
    const [k, v] = labels[i]!;
    out += `${i === 0 ? '' : ','}${k}="${escapeLabelValue(v)}"`;
  }
  return `${out}}`;
}

/** One HELP and one TYPE line per family, then its samples; ends with a newline. */
export function renderExposition(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (f.help !== undefined) out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = s.labelText !== undefined ? `{${s.labelText}}` : formatLabels(s.labels);
      out.push(`${s.name}${labels} ${formatValue(s.value)}${s.timestampMs === undefined ? '' : ` ${s.timestampMs}`}`);
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
