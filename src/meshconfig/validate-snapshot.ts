/**
 * Full validation of a proxy config snapshot: field types, value ranges, unknown fields, regex
 * syntax, and every cross-reference (listener → route config → cluster). Returns a normalised
 * snapshot (defaults filled in) only when there are no issues, so a bad snapshot never half-applies.
 */
import { Checker } from './checker.js';
import type { ConfigIssue } from './errors.js';
import { validateClusterPolicies, validateRouteFault, validateRouteRetries } from './policy-validation.js';
import {
  CLUSTER_PROTOCOLS,
  LISTENER_PROTOCOLS,
  type Cluster,
  type DirectResponse,
  type Endpoint,
  type HeaderOps,
  type Listener,
  type Redirect,
  type Route,
  type RouteConfig,
  type RouteMatch,
  type Snapshot,
  type StringMatch,
  type VirtualHost,
  type WeightedCluster,
} from './types.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:|~\-/]*$/;
const NAME_HINT = 'use letters, digits and . _ - : | ~ / (starting with a letter or digit)';
export const HEADER_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_HINT = 'a header name is an HTTP token (letters, digits, !#$%&\'*+-.^_`|~)';
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6_RE = /^[0-9A-Fa-f:.]+$/;
/** Headers the proxy owns: changing them with header ops would break framing or routing. */
const PROTECTED_HEADERS = new Set([
  'host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'content-length', 'upgrade', 'te', 'trailer',
]);
const REDIRECT_CODES = [301, 302, 303, 307, 308];

export interface SnapshotValidation {
  snapshot?: Snapshot;
  issues: ConfigIssue[];
}

export function validateSnapshot(input: unknown): SnapshotValidation {
  const c = new Checker();
  const root = c.object(input, '$', ['version', 'listeners', 'routes', 'clusters']);
  if (!root) return { issues: c.issues };
  const version =
    typeof root.version === 'number' ? String(root.version) : c.string(root.version ?? '', 'version', { nonEmpty: true });

  const clusters = list(c, root.clusters, 'clusters', validateCluster);
  const routes = list(c, root.routes, 'routes', validateRouteConfig);
  const listeners = list(c, root.listeners, 'listeners', validateListener);

  unique(c, clusters, 'clusters', (x) => x.name);
  unique(c, routes, 'routes', (x) => x.name);
  unique(c, listeners, 'listeners', (x) => x.name);
  unique(
    c,
    listeners.filter((l) => l.port !== 0),
    'listeners',
    (l) => `${l.address}:${l.port}`,
    'address:port',
  );

  // Cross-references, with the path of the referring field.
  const clusterByName = new Map(clusters.map((cl) => [cl.name, cl]));
  const routeNames = new Set(routes.map((r) => r.name));
  listeners.forEach((l, i) => {
    if (l.routeConfig !== undefined && !routeNames.has(l.routeConfig)) {
      c.add(`listeners[${i}].routeConfig`, `route config ${JSON.stringify(l.routeConfig)} is not defined in routes`);
    }
    if (l.tcpCluster !== undefined) {
      if (!clusterByName.has(l.tcpCluster)) c.add(`listeners[${i}].tcpCluster`, `cluster ${JSON.stringify(l.tcpCluster)} is not defined in clusters`);
    }
    for (const [dst, cluster] of Object.entries(l.originalDst?.tcp ?? {})) {
      if (!clusterByName.has(cluster)) c.add(`listeners[${i}].originalDst.tcp.${dst}`, `cluster ${JSON.stringify(cluster)} is not defined in clusters`);
    }
  });
  routes.forEach((rc, i) =>
    rc.virtualHosts.forEach((vh, j) =>
      vh.routes.forEach((r, k) => {
        const at = `routes[${i}].virtualHosts[${j}].routes[${k}]`;
        r.route?.forEach((wc, n) => checkHttpCluster(c, clusterByName, wc.cluster, `${at}.route[${n}].cluster`));
        if (r.mirror) checkHttpCluster(c, clusterByName, r.mirror.cluster, `${at}.mirror.cluster`);
      }),
    ),
  );

  if (c.issues.length > 0 || version === undefined) return { issues: c.issues };
  return { snapshot: { version, listeners, routes, clusters }, issues: [] };
}

function checkHttpCluster(c: Checker, clusters: Map<string, Cluster>, name: string, path: string): void {
  const cluster = clusters.get(name);
  if (!cluster) c.add(path, `cluster ${JSON.stringify(name)} is not defined in clusters`);
  else if (cluster.protocol === 'tcp') c.add(path, `cluster ${JSON.stringify(name)} has protocol tcp and cannot serve HTTP routes`);
}

function list<T>(c: Checker, value: unknown, path: string, each: (c: Checker, v: unknown, path: string) => T | undefined): T[] {
  if (value === undefined) return [];
  const arr = c.array(value, path);
  if (!arr) return [];
  const out: T[] = [];
  // Items with issues are kept so cross-reference checks see them and do not report
  // follow-on errors; the snapshot as a whole is dropped when any issue exists.
  arr.forEach((v, i) => {
    const item = each(c, v, `${path}[${i}]`);
    if (item !== undefined) out.push(item);
  });
  return out;
}

function unique<T>(c: Checker, items: T[], path: string, key: (x: T) => string, what = 'name'): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    const first = seen.get(k);
    if (first !== undefined) c.add(`${path}[${i}]`, `duplicate ${what} ${JSON.stringify(k)} (also at ${path}[${first}])`);
    else seen.set(k, i);
  });
}

function name(c: Checker, value: unknown, path: string): string | undefined {
  return c.string(value, path, { pattern: NAME_RE, hint: NAME_HINT });
}

export function validAddress(c: Checker, value: unknown, path: string): string | undefined {
  const s = c.string(value, path);
  if (s === undefined) return undefined;
  if (!IPV4_RE.test(s) && !(s.includes(':') && IPV6_RE.test(s))) {
    c.add(path, `${JSON.stringify(s)} is not an IP address; listeners and endpoints take literal IPv4 or IPv6 addresses`);
    return undefined;
  }
  return s;
}

// === listeners ===

function validateListener(c: Checker, value: unknown, path: string): Listener | undefined {
  const o = c.object(value, path, ['name', 'address', 'port', 'protocol', 'direction', 'routeConfig', 'tcpCluster', 'originalDst']);
  if (!o) return undefined;
  const l: Listener = {
    name: name(c, o.name, `${path}.name`) ?? '',
    address: o.address === undefined ? '0.0.0.0' : (validAddress(c, o.address, `${path}.address`) ?? ''),
    port: c.int(o.port, `${path}.port`, 0, 65535) ?? 0,
    protocol: o.protocol === undefined ? 'auto' : (c.oneOf(o.protocol, `${path}.protocol`, LISTENER_PROTOCOLS) ?? 'auto'),
    direction: o.direction === undefined ? 'outbound' : (c.oneOf(o.direction, `${path}.direction`, ['inbound', 'outbound'] as const) ?? 'outbound'),
  };
  if (o.routeConfig !== undefined) l.routeConfig = name(c, o.routeConfig, `${path}.routeConfig`);
  if (o.tcpCluster !== undefined) l.tcpCluster = name(c, o.tcpCluster, `${path}.tcpCluster`);
  if (o.originalDst !== undefined) l.originalDst = validateOriginalDst(c, o.originalDst, `${path}.originalDst`, l.protocol);
  if (l.protocol === 'tcp') {
    if (o.tcpCluster === undefined && o.originalDst === undefined) {
      c.add(`${path}.tcpCluster`, 'a tcp listener needs tcpCluster (the cluster to forward connections to) or originalDst');
    }
    if (o.routeConfig !== undefined) c.add(`${path}.routeConfig`, 'a tcp listener does not route HTTP; remove routeConfig or use protocol auto');
  } else if (o.routeConfig === undefined) {
    c.add(`${path}.routeConfig`, `a ${l.protocol} listener needs routeConfig, the route config that routes its HTTP requests`);
  } else if (l.protocol !== 'auto' && o.tcpCluster !== undefined) {
    c.add(`${path}.tcpCluster`, `a ${l.protocol} listener never falls back to TCP; remove tcpCluster or use protocol auto`);
  }
  return l;
}

const ORIGINAL_DST_KEY_RE = /^(\*|(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/;

function validateOriginalDst(c: Checker, value: unknown, path: string, protocol: Listener['protocol']): Listener['originalDst'] {
  const o = c.object(value, path, ['tcp', 'passthrough']);
  if (!o) return undefined;
  const out: NonNullable<Listener['originalDst']> = {};
  if (o.passthrough !== undefined) {
    const b = c.boolean(o.passthrough, `${path}.passthrough`);
    if (b !== undefined) out.passthrough = b;
  }
  if (o.tcp !== undefined) {
    const m = c.object(o.tcp, `${path}.tcp`, null);
    if (m) {
      out.tcp = {};
      for (const [key, cluster] of Object.entries(m)) {
        const at = `${path}.tcp.${key}`;
        const port = ORIGINAL_DST_KEY_RE.exec(key)?.[5];
        if (port === undefined || Number(port) < 1 || Number(port) > 65535) {
          c.add(at, 'a key is "ip:port" (IPv4), "[ip6]:port" or "*:port" with a port from 1 to 65535');
          continue;
        }
        const n = name(c, cluster, at);
        if (n !== undefined) out.tcp[key.toLowerCase()] = n;
      }
      if (protocol !== 'tcp' && protocol !== 'auto' && Object.keys(m).length > 0) {
        c.add(`${path}.tcp`, `a ${protocol} listener never forwards plain TCP; remove originalDst.tcp or use protocol auto`);
      }
    }
  }
  return out;
}

// === route configs ===

function validateRouteConfig(c: Checker, value: unknown, path: string): RouteConfig | undefined {
  const o = c.object(value, path, ['name', 'virtualHosts']);
  if (!o) return undefined;
  const virtualHosts = list(c, o.virtualHosts, `${path}.virtualHosts`, validateVirtualHost);
  if (o.virtualHosts === undefined) c.add(`${path}.virtualHosts`, 'a route config needs at least one virtual host');
  unique(c, virtualHosts, `${path}.virtualHosts`, (v) => v.name);
  const domains = new Map<string, string>();
  virtualHosts.forEach((vh, i) =>
    vh.domains.forEach((d, j) => {
      const key = d.toLowerCase();
      const first = domains.get(key);
      if (first !== undefined) c.add(`${path}.virtualHosts[${i}].domains[${j}]`, `domain ${JSON.stringify(d)} is already served by virtual host ${JSON.stringify(first)}`);
      else domains.set(key, vh.name);
    }),
  );
  return { name: name(c, o.name, `${path}.name`) ?? '', virtualHosts };
}

const DOMAIN_RE = /^(\*|(\*[.-])?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?)$/;

function validateVirtualHost(c: Checker, value: unknown, path: string): VirtualHost | undefined {
  const o = c.object(value, path, ['name', 'domains', 'routes']);
  if (!o) return undefined;
  const domains: string[] = [];
  const arr = c.array(o.domains, `${path}.domains`);
  arr?.forEach((d, i) => {
    const s = c.string(d, `${path}.domains[${i}]`, { pattern: DOMAIN_RE, hint: 'a host name, host:port, "*.suffix" or "*"' });
    if (s !== undefined) domains.push(s);
  });
  if (arr && arr.length === 0) c.add(`${path}.domains`, 'needs at least one domain ("*" matches every host)');
  const routes = list(c, o.routes, `${path}.routes`, validateRoute);
  if (o.routes === undefined) c.add(`${path}.routes`, 'a virtual host needs at least one route');
  unique(c, routes, `${path}.routes`, (r) => r.name);
  return { name: name(c, o.name, `${path}.name`) ?? '', domains, routes };
}

const ROUTE_FIELDS = [
  'name', 'match', 'route', 'redirect', 'directResponse', 'headers', 'rewrite', 'timeout', 'retries', 'fault', 'mirror', 'mirrorPercentage',
];

function validateRoute(c: Checker, value: unknown, path: string): Route | undefined {
  const o = c.object(value, path, ROUTE_FIELDS);
  if (!o) return undefined;
  const r: Route = { name: name(c, o.name, `${path}.name`) ?? '' };
  if (o.match !== undefined) r.match = list(c, o.match, `${path}.match`, validateMatch);
  const actions = ['route', 'redirect', 'directResponse'].filter((k) => o[k] !== undefined);
  if (actions.length !== 1) {
    c.add(path, actions.length === 0
      ? 'a route needs exactly one action: route (weighted clusters), redirect or directResponse'
      : `a route takes exactly one action, got ${actions.join(' and ')}`);
  }
  if (o.route !== undefined) {
    r.route = list(c, o.route, `${path}.route`, validateWeightedCluster);
    const arr = o.route as unknown[];
    if (Array.isArray(arr) && arr.length === 0) c.add(`${path}.route`, 'needs at least one destination cluster');
    if (r.route.length > 0 && r.route.every((w) => w.weight === 0)) c.add(`${path}.route`, 'all weights are 0; give at least one destination a weight above 0');
  }
  if (o.redirect !== undefined) r.redirect = validateRedirect(c, o.redirect, `${path}.redirect`);
  if (o.directResponse !== undefined) r.directResponse = validateDirectResponse(c, o.directResponse, `${path}.directResponse`);
  if (o.headers !== undefined) {
    const h = c.object(o.headers, `${path}.headers`, ['request', 'response']);
    if (h) {
      r.headers = {};
      if (h.request !== undefined) r.headers.request = validateHeaderOps(c, h.request, `${path}.headers.request`);
      if (h.response !== undefined) r.headers.response = validateHeaderOps(c, h.response, `${path}.headers.response`);
    }
  }
  if (o.rewrite !== undefined) {
    const w = c.object(o.rewrite, `${path}.rewrite`, ['uri', 'authority']);
    if (w) {
      r.rewrite = {};
      if (w.uri !== undefined) r.rewrite.uri = c.string(w.uri, `${path}.rewrite.uri`, { pattern: /^\//, hint: 'a path starting with /' });
      if (w.authority !== undefined) r.rewrite.authority = c.string(w.authority, `${path}.rewrite.authority`, { pattern: DOMAIN_RE, hint: 'a host or host:port' });
      if (r.rewrite.uri !== undefined && !r.match?.some((m) => m.path?.prefix !== undefined || m.path?.exact !== undefined)) {
        // Istio rewrites the matched prefix; without a path match the whole path is replaced.
      }
    }
  }
  if (o.timeout !== undefined) r.timeout = c.duration(o.timeout, `${path}.timeout`);
  if (o.retries !== undefined) r.retries = validateRouteRetries(c, o.retries, `${path}.retries`);
  if (o.fault !== undefined) r.fault = validateRouteFault(c, o.fault, `${path}.fault`);
  if (o.mirror !== undefined) {
    const m = c.object(o.mirror, `${path}.mirror`, ['cluster']);
    if (m) r.mirror = { cluster: name(c, m.cluster, `${path}.mirror.cluster`) ?? '' };
    if (o.route === undefined) c.add(`${path}.mirror`, 'mirroring needs a route action (route), not a redirect or direct response');
  }
  if (o.mirrorPercentage !== undefined) {
    const m = c.object(o.mirrorPercentage, `${path}.mirrorPercentage`, ['value']);
    if (m) r.mirrorPercentage = { value: c.number(m.value, `${path}.mirrorPercentage.value`, 0, 100) ?? 0 };
    if (o.mirror === undefined) c.add(`${path}.mirrorPercentage`, 'mirrorPercentage needs mirror');
  }
  return r;
}

function validateMatch(c: Checker, value: unknown, path: string): RouteMatch | undefined {
  const o = c.object(value, path, ['name', 'authority', 'path', 'method', 'headers', 'queryParams']);
  if (!o) return undefined;
  const m: RouteMatch = {};
  if (o.name !== undefined) m.name = c.string(o.name, `${path}.name`);
  if (o.authority !== undefined) m.authority = validateStringMatch(c, o.authority, `${path}.authority`, false);
  if (o.path !== undefined) {
    m.path = validateStringMatch(c, o.path, `${path}.path`, false);
    const p = m.path?.exact ?? m.path?.prefix;
    if (p !== undefined && !p.startsWith('/')) c.add(`${path}.path`, `a path ${m.path?.exact !== undefined ? 'exact' : 'prefix'} starts with "/", got ${JSON.stringify(p)}`);
  }
  if (o.method !== undefined) {
    m.method = typeof o.method === 'string' ? { exact: o.method } : validateStringMatch(c, o.method, `${path}.method`, false);
  }
  for (const key of ['headers', 'queryParams'] as const) {
    if (o[key] === undefined) continue;
    const h = c.object(o[key], `${path}.${key}`, null);
    if (!h) continue;
    const out: Record<string, StringMatch> = {};
    for (const [k, v] of Object.entries(h)) {
      if (key === 'headers' && !HEADER_NAME_RE.test(k)) c.add(`${path}.headers.${k}`, `invalid header name; ${HEADER_HINT}`);
      const sm = validateStringMatch(c, v, `${path}.${key}.${k}`, true);
      if (sm) out[key === 'headers' ? k.toLowerCase() : k] = sm;
    }
    m[key] = out;
  }
  return m;
}

function validateStringMatch(c: Checker, value: unknown, path: string, allowPresent: boolean): StringMatch | undefined {
  const allowed = allowPresent ? ['exact', 'prefix', 'regex', 'present'] : ['exact', 'prefix', 'regex'];
  const o = c.object(value, path, [...allowed, 'ignoreCase']);
  if (!o) return undefined;
  const ignoreCase = o.ignoreCase === undefined ? undefined : c.boolean(o.ignoreCase, `${path}.ignoreCase`);
  if (ignoreCase !== undefined && o.present !== undefined) c.add(`${path}.ignoreCase`, 'has no meaning with present; remove it');
  const given = allowed.filter((k) => o[k] !== undefined);
  if (given.length !== 1) {
    c.add(path, `needs exactly one of ${allowed.join(', ')}${given.length ? `, got ${given.join(' and ')}` : ''}`);
    return undefined;
  }
  const kind = given[0] as 'exact' | 'prefix' | 'regex' | 'present';
  if (kind === 'present') {
    const b = c.boolean(o.present, `${path}.present`);
    return b === undefined ? undefined : { present: b };
  }
  const s = c.string(o[kind], `${path}.${kind}`, { nonEmpty: kind === 'regex' });
  if (s === undefined) return undefined;
  if (kind === 'regex') {
    try {
      new RegExp(`^(?:${s})$`);
    } catch (err) {
      c.add(`${path}.regex`, `invalid regular expression: ${(err as Error).message}`);
      return undefined;
    }
  }
  return ignoreCase ? { [kind]: s, ignoreCase } : { [kind]: s };
}

function validateWeightedCluster(c: Checker, value: unknown, path: string): WeightedCluster | undefined {
  const o = c.object(value, path, ['cluster', 'weight']);
  if (!o) return undefined;
  return {
    cluster: name(c, o.cluster, `${path}.cluster`) ?? '',
    weight: o.weight === undefined ? 1 : (c.int(o.weight, `${path}.weight`, 0, 1_000_000) ?? 0),
  };
}

function validateRedirect(c: Checker, value: unknown, path: string): Redirect | undefined {
  const o = c.object(value, path, ['uri', 'authority', 'scheme', 'port', 'redirectCode']);
  if (!o) return undefined;
  const r: Redirect = {};
  if (o.uri !== undefined) r.uri = c.string(o.uri, `${path}.uri`, { pattern: /^\//, hint: 'a path starting with /' });
  if (o.authority !== undefined) r.authority = c.string(o.authority, `${path}.authority`, { pattern: DOMAIN_RE, hint: 'a host or host:port' });
  if (o.scheme !== undefined) r.scheme = c.oneOf(o.scheme, `${path}.scheme`, ['http', 'https'] as const);
  if (o.port !== undefined) r.port = c.int(o.port, `${path}.port`, 1, 65535);
  if (o.redirectCode !== undefined) {
    const code = c.int(o.redirectCode, `${path}.redirectCode`, 300, 399);
    if (code !== undefined && !REDIRECT_CODES.includes(code)) c.add(`${path}.redirectCode`, `must be one of ${REDIRECT_CODES.join(', ')}`);
    r.redirectCode = code;
  }
  return r;
}

function validateDirectResponse(c: Checker, value: unknown, path: string): DirectResponse | undefined {
  const o = c.object(value, path, ['status', 'body', 'headers']);
  if (!o) return undefined;
  const d: DirectResponse = { status: c.int(o.status, `${path}.status`, 200, 599) ?? 200 };
  if (o.body !== undefined) d.body = c.string(o.body, `${path}.body`, { nonEmpty: false });
  if (o.headers !== undefined) d.headers = c.stringMap(o.headers, `${path}.headers`, HEADER_NAME_RE, HEADER_HINT);
  return d;
}

function validateHeaderOps(c: Checker, value: unknown, path: string): HeaderOps | undefined {
  const o = c.object(value, path, ['set', 'add', 'remove']);
  if (!o) return undefined;
  const ops: HeaderOps = {};
  const checkName = (n: string, at: string): void => {
    if (!HEADER_NAME_RE.test(n)) c.add(at, `invalid header name; ${HEADER_HINT}`);
    else if (PROTECTED_HEADERS.has(n.toLowerCase())) c.add(at, `header ${n} is managed by the proxy and cannot be changed here${n.toLowerCase() === 'host' ? '; use rewrite.authority' : ''}`);
  };
  for (const key of ['set', 'add'] as const) {
    if (o[key] === undefined) continue;
    const m = c.stringMap(o[key], `${path}.${key}`);
    if (!m) continue;
    for (const [k, v] of Object.entries(m)) {
      checkName(k, `${path}.${key}.${k}`);
      if (/[\r\n\0]/.test(v)) c.add(`${path}.${key}.${k}`, 'a header value must not contain CR, LF or NUL');
    }
    ops[key] = m;
  }
  if (o.remove !== undefined) {
    const arr = c.array(o.remove, `${path}.remove`);
    ops.remove = [];
    arr?.forEach((v, i) => {
      const s = c.string(v, `${path}.remove[${i}]`);
      if (s !== undefined) {
        checkName(s, `${path}.remove[${i}]`);
        ops.remove?.push(s);
      }
    });
  }
  return ops;
}

// === clusters ===

function validateCluster(c: Checker, value: unknown, path: string): Cluster | undefined {
  const o = c.object(value, path, ['name', 'protocol', 'endpoints', 'destination', 'lbPolicy', 'connectionPool', 'outlierDetection']);
  if (!o) return undefined;
  const cluster: Cluster = {
    name: name(c, o.name, `${path}.name`) ?? '',
    protocol: o.protocol === undefined ? 'http' : (c.oneOf(o.protocol, `${path}.protocol`, CLUSTER_PROTOCOLS) ?? 'http'),
    endpoints: list(c, o.endpoints ?? [], `${path}.endpoints`, validateEndpoint),
  };
  unique(c, cluster.endpoints, `${path}.endpoints`, (e) => `${e.address}:${e.port}`, 'address:port');
  if (o.destination !== undefined) {
    const d = c.object(o.destination, `${path}.destination`, [
      'service', 'serviceName', 'serviceNamespace', 'workload', 'workloadNamespace', 'app', 'version', 'principal',
    ]);
    if (d) cluster.destination = c.stringMap(d, `${path}.destination`);
  }
  Object.assign(cluster, validateClusterPolicies(c, o, path));
  return cluster;
}

function validateEndpoint(c: Checker, value: unknown, path: string): Endpoint | undefined {
  const o = c.object(value, path, ['address', 'port', 'weight', 'labels']);
  if (!o) return undefined;
  const e: Endpoint = {
    address: validAddress(c, o.address, `${path}.address`) ?? '',
    port: c.int(o.port, `${path}.port`, 1, 65535) ?? 0,
  };
  if (o.weight !== undefined) e.weight = c.int(o.weight, `${path}.weight`, 1, 1_000_000);
  if (o.labels !== undefined) e.labels = c.stringMap(o.labels, `${path}.labels`);
  return e;
}
