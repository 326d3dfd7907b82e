/**
 * Pieces shared by the networking.istio.io kinds: Istio's string formats (hosts, durations, regexes),
 * Percent, PortSelector, Destination, StringMatch and exportTo. Field names follow Istio's protos
 * (istio.io/api networking/v1); the rules follow Istio's own validation (pkg/config/validation), so a
 * manifest Istio accepts loads here unless it uses something meshbox cannot do, which is an error
 * naming the field.
 */
import { dns1123Label, ipAddress, labelValue, qualifiedName, type Format } from '../../formats.js';
import {
  array,
  atMostOne,
  integer,
  map,
  nonEmptyString,
  number,
  object,
  rejected,
  required,
  string,
  type Check,
  type Field,
  type Schema,
} from '../../schema.js';

function show(value: string): string {
  return JSON.stringify(value.length > 70 ? `${value.slice(0, 67)}...` : value);
}

function format(name: string, check: (value: string) => string | undefined): Format {
  return { name, check };
}

// === durations ===

const DURATION_UNIT_NS: Readonly<Record<string, bigint>> = {
  h: 3_600_000_000_000n,
  m: 60_000_000_000n,
  s: 1_000_000_000n,
  ms: 1_000_000n,
  us: 1_000n,
  µs: 1_000n,
  ns: 1n,
};
const DURATION_PART_RE = /(\d+)(?:\.(\d+))?(h|ms|m|s|us|µs|ns)/y;

/**
 * Nanoseconds of a Go-style duration ("1s", "1.5s", "500ms", "1m30s", "1h"), as Istio's CRDs take
 * them; undefined when the text is not one. Counted in bigint so "0.1s" is exact.
 */
export function durationNanos(text: string): bigint | undefined {
  if (text === '') return undefined;
  if (text === '0') return 0n;
  let total = 0n;
  DURATION_PART_RE.lastIndex = 0;
  while (DURATION_PART_RE.lastIndex < text.length) {
    const m = DURATION_PART_RE.exec(text);
    if (!m) return undefined;
    const unit = DURATION_UNIT_NS[m[3] as string] as bigint;
    const frac = m[2] ?? '';
    total += BigInt(m[1] as string) * unit;
    if (frac) total += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
  }
  return total;
}

const NS_PER_MS = 1_000_000n;

/**
 * Istio's ValidateDuration: at least 1ms and a whole number of milliseconds (Envoy's resolution).
 * `allowZero` is for timeouts where "0s" means "no timeout".
 */
export function istioDuration(opts: { allowZero?: boolean } = {}): Format {
  return format('duration', (v) => {
    const ns = durationNanos(v);
    if (ns === undefined) return `${show(v)} is not a duration; write it as "1s", "500ms", "1m30s" or "1h"`;
    if (ns === 0n && opts.allowZero) return undefined;
    if (ns < NS_PER_MS) return `${show(v)} is too short: durations must be at least 1ms${opts.allowZero ? ' (or "0s" for none)' : ''}`;
    if (ns % NS_PER_MS !== 0n) return `${show(v)} is finer than a millisecond; round it to whole milliseconds (e.g. "1ms", "1.5s")`;
    return undefined;
  });
}

export const duration = string(istioDuration());

// === regexes ===

const RE2_REFUSED: ReadonlyArray<[RegExp, string]> = [
  [/^\(\?<?[=!]/, 'lookaround assertions ((?=...), (?!...), (?<=...), (?<!...)) are not supported by RE2'],
  [/^\\[1-9]/, 'backreferences (\\1 ... \\9) are not supported by RE2'],
  [/^\\k</, 'named backreferences (\\k<name>) are not supported by RE2'],
  [/^\(\?P</, 'meshbox matches with JavaScript regexes: write a named group as (?<name>...) instead of (?P<name>...)'],
  [/^\(\?[imsU-]+[:)]/, 'inline flags such as (?i) are not supported by meshbox; spell both cases out ([Aa]) or use ignoreUriCase'],
  [/^\\[AzQEC]/, 'RE2 escapes \\A, \\z, \\Q...\\E and \\C are not supported by meshbox; use ^, $ or escape each character'],
  [/^\\[pP]/, 'Unicode classes (\\p{...}) are not supported by meshbox yet'],
];

/**
 * A regex Istio (RE2) accepts and the meshbox proxy runs the same way: the proxy compiles it as a
 * JavaScript RegExp anchored at both ends, so constructs RE2 refuses (lookarounds,
 * backreferences) and RE2 syntax JavaScript reads differently are errors here, not surprises later.
 */
export const re2Regex = format('regex', (v) => {
  // Istio's limit, which keeps Envoy's RE2 program size in bounds
  if (v.length > 1024) return `regex is ${v.length} characters long; Istio allows at most 1024`;
  let inClass = false;
  for (let i = 0; i < v.length; i++) {
    const ch = v[i];
    const rest = v.slice(i);
    if (!inClass) {
      for (const [re, why] of RE2_REFUSED) if (re.test(rest)) return `regex ${show(v)}: ${why}`;
    } else if (/^\\[pPQEC]/.test(rest)) {
      return `regex ${show(v)}: RE2 escape ${rest.slice(0, 2)} is not supported by meshbox inside [...]`;
    }
    if (ch === '\\') i++;
    else if (ch === '[' && !inClass) {
      inClass = true;
      // "[]" and "[^]" start a class whose first member is "]"
      if (v[i + 1] === '^') i++;
      if (v[i + 1] === ']') i++;
    } else if (ch === ']' && inClass) inClass = false;
  }
  try {
    new RegExp(`^(?:${v})$`);
  } catch (err) {
    return `regex ${show(v)} does not compile: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`;
  }
  return undefined;
});

// === hosts and names ===

const HOST_LABEL_RE = /^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$/;

function hostProblem(v: string, what: string): string | undefined {
  if (v === '*') return undefined;
  if (v.length > 255) return `${what} ${show(v)} is longer than 255 characters`;
  const rest = v.startsWith('*.') ? v.slice(2) : v;
  if (rest.includes('*')) return `${what} ${show(v)} is invalid: a wildcard may only be the whole first label ("*.example.com" or "*")`;
  const labels = rest.endsWith('.') ? rest.slice(0, -1).split('.') : rest.split('.');
  for (const label of labels) {
    if (label.length > 63 || !HOST_LABEL_RE.test(label)) {
      return `${what} ${show(v)} is invalid: use a DNS name ("reviews", "reviews.shop.svc.cluster.local"), optionally starting with "*." , or "*"`;
    }
  }
  return undefined;
}

/** Istio's ValidateWildcardDomain: a DNS name, "*.suffix" or "*". */
export const istioHost = format('host', (v) => hostProblem(v, 'host'));

/** VirtualService hosts may also be IP addresses (for gateway-bound services). */
export const istioHostOrIp = format('host', (v) => (ipAddress.check(v) === undefined ? undefined : hostProblem(v, 'host')));

/** A gateway reference of a VirtualService: "mesh", "name", "namespace/name" or an FQDN. */
export const gatewayName = format('gateway name', (v) => {
  if (v === 'mesh') return undefined;
  const slash = v.indexOf('/');
  if (slash >= 0) {
    const ns = v.slice(0, slash);
    const name = v.slice(slash + 1);
    if (dns1123Label.check(ns) || hostProblem(name, 'gateway') || name.includes('*')) {
      return `gateway ${show(v)} is invalid: write "mesh", "NAME" or "NAMESPACE/NAME" (e.g. "shop/shop-gateway")`;
    }
    return undefined;
  }
  if (hostProblem(v, 'gateway') || v.includes('*')) return `gateway ${show(v)} is invalid: write "mesh", "NAME" or "NAMESPACE/NAME" (e.g. "shop/shop-gateway")`;
  return undefined;
});

/** A subset name (Istio: a DNS-1123 label). */
export const subsetName = dns1123Label;

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** HTTP header names to match on (RFC 7230 tokens); pseudo-headers have their own match fields. */
export const headerName = format('header name', (v) => {
  if (v.startsWith(':')) return `header ${show(v)}: pseudo-headers cannot be used here; match the authority with match.authority and the path with match.uri`;
  if (!TOKEN_RE.test(v)) return `header name ${show(v)} is invalid: use letters, digits and -, e.g. "x-user"`;
  return undefined;
});

/** Header names to set, add or remove: as Istio, never Host or a pseudo-header (rewrite.authority does that). */
export const headerOpName = format('header name', (v) => {
  if (v.startsWith(':') || v.toLowerCase() === 'host') return `header ${show(v)} cannot be changed here; use rewrite.authority to change the host`;
  if (!TOKEN_RE.test(v)) return `header name ${show(v)} is invalid: use letters, digits and -, e.g. "x-user"`;
  return undefined;
});

/** Header values: no CR, LF or NUL (they would split or end the header). */
export const headerValue = format('header value', (v) => {
  if (/[\r\n\0]/.test(v)) return 'header values cannot contain line breaks or NUL characters';
  return undefined;
});

// === shared shapes ===

export const port = integer({ min: 1, max: 65535 });

/** Istio Percent: a double from 0 to 100 (0.1 is one request in a thousand). */
export const percent = object({ value: number({ min: 0, max: 100 }) });

/** PortSelector: Istio dropped `name`; only the number is left. */
export const portSelector = object({ number: port });

const destinationHost = format('host', (v) => (v === '*' ? 'a destination needs a real host, not "*"; name the service (e.g. "reviews")' : hostProblem(v, 'host')));

export const destination = object({
  host: required(nonEmptyString(destinationHost)),
  subset: nonEmptyString(subsetName),
  port: portSelector,
});

export const labels = map(string(labelValue), qualifiedName);

/**
 * Istio StringMatch: one of exact, prefix or regex. An empty match ({}) is allowed where Istio
 * reads it as "present" (headers and query parameters).
 */
export function stringMatch(opts: { emptyMeans?: string } = {}): Schema {
  const checks: Check[] = [atMostOne(['exact', 'prefix', 'regex'], 'a string match')];
  if (!opts.emptyMeans) {
    checks.push((m: Record<string, unknown>, ctx) => {
      if (m.exact === undefined && m.prefix === undefined && m.regex === undefined) {
        ctx.error([], 'set one of exact, prefix or regex', 'missing');
      }
    });
  }
  return object({ exact: string(), prefix: nonEmptyString(), regex: nonEmptyString(re2Regex) }, ...checks);
}

function exportToItem(allowTilde: boolean): Format {
  return format('exportTo entry', (v) => {
    if (v === '.' || v === '*' || (v === '~' && allowTilde)) return undefined;
    if (dns1123Label.check(v)) return `exportTo entry ${show(v)} is invalid: use ".", "*"${allowTilde ? ', "~"' : ''} or a namespace name`;
    return undefined;
  });
}

/** exportTo: ".", "*" or namespace names ("~" too on ServiceEntry); "*" and "~" stand alone (Istio's validateExportTo). */
export function exportToList(opts: { allowTilde?: boolean } = {}): Schema {
  return array(nonEmptyString(exportToItem(opts.allowTilde ?? false)), {}, (items: unknown[], ctx) => {
    const seen = new Set<unknown>();
    items.forEach((item, i) => {
      if (seen.has(item)) ctx.error([i], `duplicate exportTo entry ${JSON.stringify(item)}`);
      seen.add(item);
      if (item === '*' && items.length > 1) ctx.error([i], '"*" exports to every namespace; it cannot be combined with other entries');
      if (item === '~' && items.length > 1) ctx.error([i], '"~" exports to no namespace; it cannot be combined with other entries');
    });
  });
}

export const exportTo = exportToList();

/** workloadSelector on DestinationRule and ServiceEntry. */
export function workloadSelectorRejected(kind: string): Field {
  return rejected(`${kind}.workloadSelector is not supported yet; remove it (the ${kind} then applies to every workload)`);
}

/** A helper for checks: reads a number-valued field, or undefined if absent or of another type. */
export function numberAt(value: Record<string, unknown>, key: string): number | undefined {
  const v = value[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * "namespace/host" as Gateway servers and Sidecar egress listeners write it: the namespace is
 * "*", ".", "~" (Sidecar only) or a name; the host is a DNS name, "*.suffix" or "*".
 */
export function namespacedHost(opts: { allowTilde: boolean; requireNamespace: boolean }): Format {
  const example = opts.requireNamespace ? '"./reviews.shop.svc.cluster.local", "istio-system/*" or "*/*"' : '"shop.example.com", "*/shop.example.com" or "*"';
  return format('namespace/host', (v) => {
    const slash = v.indexOf('/');
    if (slash < 0) {
      if (opts.requireNamespace) return `host ${show(v)} needs a namespace: write it as NAMESPACE/HOST, e.g. ${example}`;
      return hostProblem(v, 'host');
    }
    const ns = v.slice(0, slash);
    const host = v.slice(slash + 1);
    const nsOk = ns === '*' || ns === '.' || (ns === '~' && opts.allowTilde) || dns1123Label.check(ns) === undefined;
    if (!nsOk) return `host ${show(v)}: ${JSON.stringify(ns)} is not a namespace; use "*", "."${opts.allowTilde ? ', "~"' : ''} or a namespace name, e.g. ${example}`;
    if (host === '') return `host ${show(v)} has no host after "/"; e.g. ${example}`;
    return hostProblem(host, 'host');
  });
}

/** Istio protocol names are case-insensitive ("http" = "HTTP"); `unsupported` explains the rest. */
export function protocolName(supported: readonly string[], unsupported: Readonly<Record<string, string>>): Format {
  const known = ['HTTP', 'HTTPS', 'GRPC', 'GRPC-WEB', 'HTTP2', 'MONGO', 'TCP', 'TLS', 'UDP', 'REDIS', 'MYSQL'];
  return format('protocol', (v) => {
    const upper = v.toUpperCase();
    if (supported.includes(upper)) return undefined;
    const why = unsupported[upper];
    if (why) return `protocol ${upper} is not supported by meshbox yet: ${why}`;
    if (known.includes(upper)) return `protocol ${upper} is not supported by meshbox yet; use ${supported.join(', ')}`;
    return `unknown protocol ${show(v)}; use ${supported.join(', ')}`;
  });
}

/**
 * Istio's host.Name.Matches: two hosts overlap when equal, or when a wildcard covers the other
 * ("*.foo.com" and "bar.foo.com"; "*.foo.com" and "*.com"; "*" and anything).
 */
export function hostsOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  const aWild = a.startsWith('*');
  const bWild = b.startsWith('*');
  if (!aWild && !bWild) return false;
  if (aWild && bWild) return a.slice(1).endsWith(b.slice(1)) || b.slice(1).endsWith(a.slice(1));
  const [wild, name] = aWild ? [a, b] : [b, a];
  return name.endsWith(wild.slice(1));
}
