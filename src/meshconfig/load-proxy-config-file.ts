/**
 * Reads a proxy config file (YAML or JSON; JSON is YAML) into a validated `ProxyConfig`:
 * the bootstrap fields at the top level, and the snapshot fields (version, listeners, routes,
 * clusters) beside them. Any issue rejects the whole file.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Checker } from './checker.js';
import { ConfigInvalid, ConfigUnparsable, ConfigUnreadable, type ConfigIssue } from './errors.js';
import type { Bootstrap, ProxyConfig, ProxyLimits } from './types.js';
import { validAddress, validateSnapshot } from './validate-snapshot.js';

const BOOTSTRAP_FIELDS = ['node', 'admin', 'stats', 'health', 'accessLog', 'limits', 'drainTimeout'] as const;
const SNAPSHOT_FIELDS = ['version', 'listeners', 'routes', 'clusters'] as const;

export const DEFAULT_LIMITS: ProxyLimits = {
  maxHeaderBytes: 60 * 1024,
  maxHeaderCount: 100,
  headersTimeout: '10s',
  idleTimeout: '60s',
  requestTimeout: '0s',
  detectTimeout: '200ms',
};

export function defaultBootstrap(): Bootstrap {
  return {
    node: { id: 'meshbox-proxy', metadata: {} },
    admin: { address: '127.0.0.1', port: 15000 },
    stats: { address: '0.0.0.0', port: 15090 },
    health: { address: '0.0.0.0', port: 15021 },
    accessLog: 'stdout',
    limits: { ...DEFAULT_LIMITS },
    drainTimeout: '5s',
  };
}

export async function loadProxyConfigFile(path: string): Promise<ProxyConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw ConfigUnreadable(path, (err as Error).message, { cause: err });
  }
  return parseProxyConfig(text, path);
}

/**
 * The yaml package is loaded on first use: it costs ~8.5 MB RSS, which a sidecar fed by xDS (or by
 * a JSON file) never needs to carry.
 */
let yamlParse: ((text: string, options: { uniqueKeys: boolean; prettyErrors: boolean }) => unknown) | undefined;
function parseYaml(text: string): unknown {
  yamlParse ??= (createRequire(import.meta.url)('yaml') as { parse: typeof yamlParse }).parse;
  return (yamlParse as NonNullable<typeof yamlParse>)(text, { uniqueKeys: true, prettyErrors: true });
}

/**
 * JSON is YAML, so a JSON document parses the same either way; JSON.parse is used when it gives
 * exactly YAML's answer: the text is valid JSON and no object repeats a key (YAML rejects
 * duplicates, JSON.parse would keep the last). Anything else goes to YAML, errors included.
 */
function parseJsonIfPlain(text: string): { doc: unknown } | undefined {
  const t = text.trimStart();
  if (!t.startsWith('{') && !t.startsWith('[')) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(t);
  } catch {
    return undefined;
  }
  return hasDuplicateKeys(t) ? undefined : { doc };
}

/** Scans valid JSON text for an object that repeats a key (keys compared decoded). */
export function hasDuplicateKeys(json: string): boolean {
  const stack: (Set<string> | undefined)[] = [];
  for (let i = 0; i < json.length; i++) {
    const ch = json.charCodeAt(i);
    if (ch === 123 /* { */) stack.push(new Set());
    else if (ch === 91 /* [ */) stack.push(undefined);
    else if (ch === 125 /* } */ || ch === 93 /* ] */) stack.pop();
    else if (ch === 34 /* " */) {
      let j = i + 1;
      for (; j < json.length; j++) {
        const c = json.charCodeAt(j);
        if (c === 92 /* \ */) j++;
        else if (c === 34) break;
      }
      const top = stack[stack.length - 1];
      let k = j + 1;
      while (k < json.length && (json[k] === ' ' || json[k] === '\t' || json[k] === '\n' || json[k] === '\r')) k++;
      if (top !== undefined && json[k] === ':') {
        const key = JSON.parse(json.slice(i, j + 1)) as string;
        if (top.has(key)) return true;
        top.add(key);
      }
      i = j;
    }
  }
  return false;
}

export function parseProxyConfig(text: string, source: string): ProxyConfig {
  let doc: unknown;
  try {
    const plain = parseJsonIfPlain(text);
    doc = plain !== undefined ? plain.doc : parseYaml(text);
  } catch (err) {
    throw ConfigUnparsable(source, (err as Error).message.split('\n')[0] ?? '', { cause: err });
  }
  const result = validateProxyConfig(doc);
  if (!result.config) throw ConfigInvalid(source, result.issues, { details: { issues: result.issues } });
  return result.config;
}

export function validateProxyConfig(doc: unknown): { config?: ProxyConfig; issues: ConfigIssue[] } {
  const c = new Checker();
  const root = c.object(doc, '$', [...BOOTSTRAP_FIELDS, ...SNAPSHOT_FIELDS]);
  if (!root) return { issues: c.issues };
  const bootstrap = validateBootstrap(c, root);
  const snapshotInput: Record<string, unknown> = {};
  for (const k of SNAPSHOT_FIELDS) if (root[k] !== undefined) snapshotInput[k] = root[k];
  if (snapshotInput.version === undefined) snapshotInput.version = '0';
  const snap = validateSnapshot(snapshotInput);
  const issues = [...c.issues, ...snap.issues];
  if (issues.length > 0 || !snap.snapshot) return { issues };
  return { config: { bootstrap, snapshot: snap.snapshot }, issues: [] };
}

function validateBootstrap(c: Checker, root: Record<string, unknown>): Bootstrap {
  const b = defaultBootstrap();
  if (root.node !== undefined) {
    const n = c.object(root.node, 'node', ['id', 'metadata']);
    if (n) {
      if (n.id !== undefined) b.node.id = c.string(n.id, 'node.id') ?? b.node.id;
      if (n.metadata !== undefined) {
        const m = c.object(n.metadata, 'node.metadata', ['workload', 'namespace', 'app', 'version', 'principal', 'cluster']);
        if (m) b.node.metadata = c.stringMap(m, 'node.metadata') ?? {};
      }
    }
  }
  for (const key of ['admin', 'stats', 'health'] as const) {
    if (root[key] === undefined) continue;
    const o = c.object(root[key], key, ['address', 'port']);
    if (!o) continue;
    if (o.address !== undefined) b[key].address = validAddress(c, o.address, `${key}.address`) ?? b[key].address;
    if (o.port !== undefined) b[key].port = c.int(o.port, `${key}.port`, 0, 65535) ?? b[key].port;
  }
  if (root.accessLog !== undefined) b.accessLog = c.string(root.accessLog, 'accessLog') ?? b.accessLog;
  if (root.drainTimeout !== undefined) b.drainTimeout = c.duration(root.drainTimeout, 'drainTimeout') ?? b.drainTimeout;
  if (root.limits !== undefined) {
    const l = c.object(root.limits, 'limits', Object.keys(DEFAULT_LIMITS));
    if (l) {
      if (l.maxHeaderBytes !== undefined) b.limits.maxHeaderBytes = c.int(l.maxHeaderBytes, 'limits.maxHeaderBytes', 1024, 1024 * 1024) ?? 0;
      if (l.maxHeaderCount !== undefined) b.limits.maxHeaderCount = c.int(l.maxHeaderCount, 'limits.maxHeaderCount', 1, 10_000) ?? 0;
      for (const k of ['headersTimeout', 'idleTimeout', 'requestTimeout', 'detectTimeout'] as const) {
        if (l[k] !== undefined) b.limits[k] = c.duration(l[k], `limits.${k}`) ?? b.limits[k];
      }
    }
  }
  return b;
}
