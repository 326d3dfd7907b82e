/**
 * Loads Kubernetes manifests (multi-document YAML or JSON) with positions: every problem, from a
 * YAML syntax error to a misspelt field, becomes a ManifestIssue with the file, line and column of
 * the offending key or value. The CLI prints them as `FILE:LINE:COL: field: message` and applies
 * nothing when there is any.
 */
import { LineCounter, parseAllDocuments, type Document, type Node, type Tags } from 'yaml';
import type { KubeObject } from './types.js';
import { locateNode } from './locate-node.js';
import type { Segment } from './schema.js';
import { checkObject, isNamespacedKind } from './validate.js';
import { fieldPath, isPlainObject, type RawIssue } from './walk-schema.js';

export interface ManifestSource {
  path: string;
  text: string;
}

export interface SourcePosition {
  path: string;
  line: number;
  col: number;
}

export interface ManifestIssue {
  path: string;
  line: number;
  col: number;
  /** dotted field path, e.g. spec.containers[0].ports[0].containerPort; '' for YAML syntax errors */
  field: string;
  message: string;
}

export interface LoadedDocument {
  object: KubeObject;
  source: SourcePosition;
}

export interface LoadResult {
  /** the objects without errors, in source order (List items expanded), as written minus nulls */
  documents: LoadedDocument[];
  /** errors: any one means nothing may be applied */
  issues: ManifestIssue[];
  /** fields accepted but ignored by meshbox, and similar notes; they do not block an apply */
  warnings: ManifestIssue[];
}

const MAX_ALIAS_COUNT = 100;

/** Timestamps stay strings, as Kubernetes' YAML decoder keeps them (annotations like `date: 2024-01-01`). */
const withoutTimestamps = (tags: Tags): Tags =>
  tags.filter((t) => typeof t !== 'object' || t === null || (t as { tag?: string }).tag !== 'tag:yaml.org,2002:timestamp');

const SYNTAX_HINTS: Partial<Record<string, string>> = {
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  DUPLICATE_KEY: 'each key may appear once in a mapping; remove or rename the repeated key',
  BAD_INDENT: 'check the indentation of this line against the lines above',
  MULTILINE_IMPLICIT_KEY: 'a key must fit on one line; check for a missing ":" or a missing quote above',
};

/** `FILE:LINE:COL: field: message`, the format of DESIGN.md. */
export function formatIssue(issue: ManifestIssue): string {
  return `${issue.path}:${issue.line}:${issue.col}: ${issue.field ? `${issue.field}: ` : ''}${issue.message}`;
}

export function loadManifests(sources: ManifestSource[]): LoadResult {
  const result: LoadResult = { documents: [], issues: [], warnings: [] };
  const identities = new Map<string, SourcePosition>();
  for (const source of sources) {
    const before = result.issues.length;
    loadSource(source, result, identities);
    // checks run kind by kind; users read a file top to bottom
    const mine = result.issues.splice(before).sort((a, b) => a.line - b.line || a.col - b.col);
    result.issues.push(...mine);
  }
  return result;
}

function loadSource(source: ManifestSource, result: LoadResult, identities: Map<string, SourcePosition>): void {
  const lineCounter = new LineCounter();
  const at = (offset: number): { line: number; col: number } => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, col: pos.col };
  };
  const issue = (offset: number, field: string, message: string): ManifestIssue => ({
    path: source.path,
    ...at(offset),
    field,
    message,
  });

  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(source.text, {
      lineCounter,
      version: '1.1',
      prettyErrors: false,
      uniqueKeys: true,
      customTags: withoutTimestamps,
    }) as Document.Parsed[];
  } catch (err) {
    // the parser is defensive, but pathological input (very deep nesting) can still exhaust the stack
    result.issues.push(issue(0, '', `the YAML could not be parsed: ${(err as Error).message}`));
    return;
  }

  for (const doc of docs) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const hint = SYNTAX_HINTS[e.code];
        const message = /call stack/i.test(e.message) ? 'the YAML is nested too deeply to read; flatten it' : e.message;
        result.issues.push(issue(e.pos[0], '', `YAML syntax error: ${message}${hint ? `; ${hint}` : ''}`));
      }
      continue;
    }
    const root = doc.contents as Node | null;
    if (root === null || (root as { value?: unknown }).value === null) continue;

    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      result.issues.push(issue(rangeStart(root), '', `the YAML could not be read: ${(err as Error).message}`));
      continue;
    }
    const nonJson: Segment[][] = [];
    value = toJson(value, [], nonJson);
    for (const path of nonJson) {
      const offset = locateNode(doc, root, path, 'value');
      result.issues.push(issue(offset, fieldPath(path), 'this YAML value has no JSON form (binary, set, ordered map or similar); write a plain string, number, list or mapping'));
    }
    if (nonJson.length > 0) continue;

    for (const { object, prefix } of expandLists(value)) {
      const raw = safeCheck(object);
      const errors = raw.filter((r) => r.severity === 'error');
      for (const r of raw) {
        const path = [...prefix, ...r.path];
        const offset = locateNode(doc, root, path, r.anchor);
        const message = withSourceText(r.message, source.text, offset);
        (r.severity === 'error' ? result.issues : result.warnings).push(issue(offset, fieldPath(path), message));
      }
      if (errors.length > 0) continue;
      const objectOffset = locateNode(doc, root, prefix, 'value');
      const position: SourcePosition = { path: source.path, ...at(objectOffset) };
      const kube = object as KubeObject;
      const identity = identityOf(kube);
      const first = identities.get(identity);
      if (first) {
        const nameOffset = locateNode(doc, root, [...prefix, 'metadata', 'name'], 'value');
        result.issues.push(
          issue(nameOffset, 'metadata.name', `${identity} is defined twice (first at ${first.path}:${first.line}:${first.col}); keep one`),
        );
        continue;
      }
      identities.set(identity, position);
      result.documents.push({ object: kube, source: position });
    }
  }
}

/**
 * The walker sees YAML 1.1's `yes` as true and `1.10` as 1.1; "quote it" hints show what the user
 * wrote, not what the parser made of it.
 */
function withSourceText(message: string, text: string, offset: number): string {
  const hint = /quote it: "[^"]*"$/.exec(message);
  if (!hint) return message;
  const plain = /^[^\s,\]}#"']+/.exec(text.slice(offset, offset + 100));
  return plain ? `${message.slice(0, hint.index)}quote it: "${plain[0]}"` : message;
}

function rangeStart(node: Node): number {
  return node.range?.[0] ?? 0;
}

/** A bug in a check must not crash `apply`: it becomes an issue the user can report. */
function safeCheck(object: unknown): RawIssue[] {
  try {
    return checkObject(object);
  } catch (err) {
    return [{ path: [], anchor: 'value', severity: 'error', message: `internal error while validating (please report): ${(err as Error).message}` }];
  }
}

function identityOf(obj: KubeObject): string {
  const ns = isNamespacedKind(obj.kind) ? `${obj.metadata.namespace ?? 'default'}/` : '';
  return `${obj.kind} ${ns}${obj.metadata.name ?? obj.metadata.generateName ?? ''}`;
}

/** `kind: List` (and FooList) documents carry their objects in `items`. */
function expandLists(value: unknown): { object: unknown; prefix: Segment[] }[] {
  if (isPlainObject(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
    return value.items.map((object, i) => ({ object, prefix: ['items', i] }));
  }
  return [{ object: value, prefix: [] }];
}

/**
 * Drops nulls from mappings (Kubernetes reads `labels:` with nothing after it as absent) and
 * records values that JSON cannot carry. Iterative, so deep input cannot exhaust the stack.
 */
function toJson(value: unknown, path: Segment[], nonJson: Segment[][]): unknown {
  const rootBox: { v: unknown } = { v: undefined };
  const stack: { value: unknown; path: Segment[]; assign: (v: unknown) => void }[] = [
    { value, path, assign: (v) => (rootBox.v = v) },
  ];
  while (stack.length > 0) {
    const { value: v, path: p, assign } = stack.pop()!;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') assign(v);
    else if (typeof v === 'number') {
      if (Number.isFinite(v)) assign(v);
      else {
        nonJson.push(p);
        assign(null);
      }
    } else if (Array.isArray(v)) {
      const out: unknown[] = new Array(v.length);
      assign(out);
      v.forEach((item, i) => stack.push({ value: item, path: [...p, i], assign: (x) => (out[i] = x) }));
    } else if (isPlainObject(v) && Object.getPrototypeOf(v) === Object.prototype) {
      const out: Record<string, unknown> = {};
      assign(out);
      for (const [k, item] of Object.entries(v)) {
        if (item === null || item === undefined) continue;
        out[k] = undefined;
        stack.push({ value: item, path: [...p, k], assign: (x) => (out[k] = x) });
      }
    } else {
      nonJson.push(p);
      assign(null);
    }
  }
  return rootBox.v;
}
