/**
 * VirtualService (networking.istio.io v1, v1beta1, v1alpha3) with the fields the meshbox proxy
 * can do. What Istio has and meshbox cannot do yet is `rejected`: an error at apply, never a
 * silent no-op. Rules follow Istio's validateVirtualService / validateHTTPRoute.
 */
import { RETRY_ON_CONDITIONS } from '../../../core/retry-on.js';
import { base64, dns1123Subdomain } from '../../formats.js';
import {
  array,
  boolean,
  deprecated,
  exactlyOne,
  integer,
  map,
  nonEmptyString,
  object,
  oneOf,
  rejected,
  required,
  string,
  type Check,
} from '../../schema.js';
import { suggest } from '../../suggest.js';
import { isPlainObject } from '../../walk-schema.js';
import { kindSchema } from '../meta.js';
import {
  destination,
  duration,
  exportTo,
  gatewayName,
  headerName,
  headerOpName,
  headerValue,
  hostsOverlap,
  istioDuration,
  istioHostOrIp,
  labels,
  numberAt,
  percent,
  port,
  stringMatch,
} from './common.js';

const NOT_YET = (what: string, instead: string) => `meshbox does not support ${what} yet; remove it${instead ? ` (${instead})` : ''}`;

// The vocabulary is shared with the proxy's snapshot validation (src/core/retry-on.ts).
export { RETRY_ON_CONDITIONS };

const retryOn = nonEmptyString({
  name: 'retryOn',
  check(v) {
    for (const raw of v.split(',')) {
      const part = raw.trim();
      if (part === '') return `retryOn ${JSON.stringify(v)} has an empty entry; separate conditions with single commas`;
      if (/^\d+$/.test(part)) {
        const code = Number(part);
        if (code < 100 || code > 599) return `retryOn: ${part} is not an HTTP status code (100-599)`;
      } else if (!RETRY_ON_CONDITIONS.includes(part)) {
        const close = suggest(part, RETRY_ON_CONDITIONS);
        if (close) return `retryOn: unknown condition ${JSON.stringify(part)}, did you mean ${close}?`;
        return `retryOn: unknown condition ${JSON.stringify(part)}; use ${RETRY_ON_CONDITIONS.join(', ')} or an HTTP status code such as 503`;
      }
    }
    return undefined;
  },
});

const headerOps = object({
  set: map(string(headerValue), headerOpName),
  add: map(string(headerValue), headerOpName),
  remove: array(nonEmptyString(headerOpName)),
});

const headers = object({ request: headerOps, response: headerOps });

const withoutHeaderMatch = stringMatch({ emptyMeans: 'absent' });

const onlyAbsence: Check = (without: Record<string, unknown>, ctx) => {
  for (const [name, m] of Object.entries(without)) {
    if (isPlainObject(m) && Object.keys(m).length > 0) {
      ctx.error([name], NOT_YET('withoutHeaders with a value match', 'write {} to require that the header is absent'), 'value');
    }
  }
};

/** Istio (and Envoy) ignore case for exact and prefix uri matches only; a regex stays case-sensitive. */
const ignoreCaseOnRegex: Check = (m: Record<string, unknown>, ctx) => {
  if (m.ignoreUriCase === true && isPlainObject(m.uri) && m.uri.regex !== undefined) {
    ctx.warn(['ignoreUriCase'], 'ignoreUriCase has no effect on a regex uri match (as in Istio); spell both cases out in the regex ([Aa]) or use exact or prefix', 'key');
  }
};

const httpMatchRequest = object({
  name: string(),
  uri: stringMatch(),
  scheme: rejected(NOT_YET('match.scheme', 'match on authority, uri, method or headers')),
  method: stringMatch(),
  authority: stringMatch(),
  headers: map(stringMatch({ emptyMeans: 'present' }), headerName),
  queryParams: map(stringMatch({ emptyMeans: 'present' })),
  withoutHeaders: map(withoutHeaderMatch, headerName, onlyAbsence),
  port,
  sourceLabels: labels,
  gateways: array(nonEmptyString(gatewayName)),
  ignoreUriCase: boolean(),
  sourceNamespace: rejected(NOT_YET('match.sourceNamespace', 'use sourceLabels, or one VirtualService per client namespace with exportTo')),
  statPrefix: rejected(NOT_YET('match.statPrefix', 'meshbox reports Istio\'s standard metrics only')),
}, ignoreCaseOnRegex);

const httpRouteDestination = object({
  destination: required(destination),
  weight: integer({ min: 0, max: 2_147_483_647 }),
  headers,
});

/**
 * Istio's rule (validateHTTPRouteDestinations): weights are relative (a destination gets
 * weight / sum of weights), a missing weight is 0, and with several destinations the sum must not
 * be 0. One destination takes all traffic whatever its weight.
 */
const checkWeights: Check = (route: unknown[], ctx) => {
  if (route.length < 2) return;
  // The proxy applies header operations per route, not per destination of a split.
  route.forEach((d, i) => {
    if (isPlainObject(d) && d.headers !== undefined) {
      ctx.error([i, 'headers'], 'meshbox applies header operations per route, not per destination of a split; move them to the rule\'s headers (they then apply to every destination) or split the rule by a match', 'key');
    }
  });
  const weights = route.map((d) => (isPlainObject(d) ? numberAt(d, 'weight') ?? 0 : 0));
  const total = weights.reduce((a, b) => a + b, 0);
  if (total === 0) {
    ctx.error([], `the destination weights add up to 0, so no destination would get traffic; give them weights that add up to 100 (e.g. ${route.length === 2 ? '90 and 10' : 'equal shares'})`, 'key');
    return;
  }
  if (total !== 100) {
    ctx.warn([], `the destination weights add up to ${total}, not 100; each destination gets weight/${total} of the traffic`, 'key');
  }
  weights.forEach((w, i) => {
    if (w === 0) ctx.warn([i], 'this destination has no weight (0), so it gets no traffic; give it a weight if it should', 'key');
  });
};

const redirect = object(
  {
    uri: string(),
    authority: string(),
    port,
    derivePort: rejected(NOT_YET('redirect.derivePort', 'set redirect.port explicitly')),
    scheme: oneOf('http', 'https'),
    redirectCode: integer(),
  },
  (r: Record<string, unknown>, ctx) => {
    if (r.uri === undefined && r.authority === undefined && r.port === undefined && r.scheme === undefined) {
      ctx.error([], 'a redirect needs at least one of uri, authority, port or scheme', 'missing');
    }
    const code = numberAt(r, 'redirectCode');
    if (code !== undefined && ![301, 302, 303, 307, 308].includes(code)) {
      ctx.error(['redirectCode'], `meshbox redirects with 301, 302, 303, 307 or 308, not ${code}`);
    }
  },
);

const KIB = 1024;

/** Istio's limits: the body travels in every proxy's config. */
const bodySize: Check = (body: Record<string, unknown>, ctx) => {
  const key = typeof body.string === 'string' ? 'string' : 'bytes';
  const text = body[key];
  if (typeof text !== 'string') return;
  const size = key === 'string' ? Buffer.byteLength(text) : Math.floor((text.replace(/[\r\n=]/g, '').length * 3) / 4);
  if (size > 1024 * KIB) ctx.error([key], `the body is ${size} bytes; direct responses must be under 1 MiB (they are sent to every proxy); serve it from a service instead`);
  else if (size > 100 * KIB) ctx.warn([key], `the body is ${Math.round(size / KIB)} KiB; large direct responses slow down config pushes to every proxy`);
};

/** The proxy model carries a direct response body as text, so bytes must be UTF-8 to arrive unchanged. */
const bytesAreText: Check = (body: Record<string, unknown>, ctx) => {
  if (typeof body.bytes !== 'string') return;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(body.bytes, 'base64'));
  } catch {
    ctx.error(['bytes'], 'meshbox sends direct response bodies as UTF-8 text and these bytes are not UTF-8; serve binary bodies from a service instead');
  }
};

const directResponse = object({
  status: required(integer({ min: 200, max: 599 })),
  body: object({ string: string(), bytes: string(base64) }, exactlyOne(['string', 'bytes'], 'a direct response body'), bodySize, bytesAreText),
});

const rewrite = object(
  {
    uri: string(),
    authority: string(),
    uriRegexRewrite: rejected(NOT_YET('rewrite.uriRegexRewrite', 'use rewrite.uri, which replaces the matched prefix')),
  },
  (r: Record<string, unknown>, ctx) => {
    if (r.uri === undefined && r.authority === undefined) ctx.error([], 'a rewrite needs uri or authority', 'missing');
  },
);

const retries = object(
  {
    attempts: integer({ min: 0, max: 100 }),
    perTryTimeout: string(istioDuration({ allowZero: true })),
    retryOn,
    retryRemoteLocalities: boolean(),
    retryIgnorePreviousHosts: rejected(NOT_YET('retries.retryIgnorePreviousHosts', 'meshbox already prefers another endpoint on a retry')),
    backoff: rejected(NOT_YET('retries.backoff', 'meshbox retries with exponential back-off and jitter from 25ms')),
  },
  // Istio: a missing attempts is 0, which turns retries off, so the other settings would do nothing
  (r: Record<string, unknown>, ctx) => {
    if ((r.attempts ?? 0) !== 0) return;
    const set = ['perTryTimeout', 'retryOn', 'retryRemoteLocalities'].filter((k) => r[k] !== undefined);
    if (set.length > 0) ctx.error(['attempts'], `retries are off (attempts is ${r.attempts === undefined ? 'missing, so 0' : '0'}) but ${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set; set attempts (e.g. 2) or remove the retry settings`, r.attempts === undefined ? 'missing' : 'value');
  },
);

const PERCENT_DEPRECATED = 'the integer percent is deprecated; write percentage: {value: N} instead (percentage wins when both are set)';
// Istio removed abort.percent from its API (it is a reserved field now), so such a manifest no longer ports back.
const ABORT_PERCENT_DEPRECATED = 'the integer percent is deprecated and current Istio no longer reads it on abort; meshbox still honours it, but write percentage: {value: N} instead (percentage wins when both are set)';

const samePercent: Check = (f: Record<string, unknown>, ctx) => {
  if (f.percent !== undefined && f.percentage !== undefined) {
    ctx.warn(['percent'], 'both percent and percentage are set; meshbox uses percentage, as Istio does; remove percent', 'key');
  }
  // Istio (since istio/istio#36303) injects a fault without a percentage into no request at all
  if (f.percent === undefined && f.percentage === undefined) {
    ctx.warn([], 'no percentage is set, and Istio then injects this fault into no request; say how many: percentage: {value: 100} for every request', 'missing');
  }
};

const delay = object(
  {
    fixedDelay: required(duration),
    exponentialDelay: rejected(NOT_YET('fault.delay.exponentialDelay', 'use fixedDelay')),
    percentage: percent,
    percent: deprecated(PERCENT_DEPRECATED, integer({ min: 0, max: 100 })),
  },
  samePercent,
);

const abort = object(
  {
    httpStatus: integer({ min: 200, max: 599 }),
    grpcStatus: rejected(NOT_YET('fault.abort.grpcStatus', 'use httpStatus; gRPC clients see it as a gRPC error')),
    http2Error: rejected(NOT_YET('fault.abort.http2Error', 'use httpStatus')),
    percentage: percent,
    percent: deprecated(ABORT_PERCENT_DEPRECATED, integer({ min: 0, max: 100 })),
  },
  samePercent,
  (a: Record<string, unknown>, ctx) => {
    if (a.httpStatus === undefined && a.grpcStatus === undefined && a.http2Error === undefined) {
      ctx.warn([], 'abort has no httpStatus, so nothing is aborted; set httpStatus (e.g. 503)', 'missing');
    }
  },
);

const fault = object({ delay, abort }, (f: Record<string, unknown>, ctx) => {
  if (f.delay === undefined && f.abort === undefined) ctx.error([], 'a fault needs delay or abort (or both)', 'missing');
});

function ruleConflicts(route: Record<string, unknown>, ctx: Parameters<Check>[1]): void {
  const has = (k: string) => route[k] !== undefined && route[k] !== null;
  const actions = ['route', 'redirect', 'directResponse'].filter(has);
  if (actions.length === 0 && !has('delegate')) {
    ctx.error([], 'an http route needs one of route, redirect or directResponse', 'missing');
  }
  for (const extra of actions.slice(1)) {
    ctx.error([extra], `an http route takes only one of route, redirect or directResponse, but ${actions[0]} is set too`, 'key');
  }
  // Istio refuses these combinations; the others are accepted by Istio and do nothing, so warn
  const errorsWith: Record<string, readonly string[]> = { redirect: ['fault', 'rewrite'], directResponse: ['fault'] };
  for (const action of ['redirect', 'directResponse']) {
    if (!has(action)) continue;
    for (const k of ['rewrite', 'fault', 'mirror', 'retries', 'timeout']) {
      if (!has(k)) continue;
      const fix = `the proxy answers ${action} itself; remove ${k} or use route`;
      if (errorsWith[action]?.includes(k)) ctx.error([k], `${k} cannot be combined with ${action}: ${fix}`, 'key');
      else ctx.warn([k], `${k} has no effect with ${action}: ${fix}`, 'key');
    }
  }
  if (!has('mirror') && has('mirrorPercentage')) {
    ctx.error(['mirrorPercentage'], 'a mirror percentage needs mirror (the host to copy requests to)', 'key');
  }
}

const httpRoute = object(
  {
    name: string(),
    match: array(httpMatchRequest),
    route: array(httpRouteDestination, { minItems: 1 }, checkWeights),
    redirect,
    directResponse,
    delegate: rejected(NOT_YET('delegate (VirtualService chaining)', 'put the routes into this VirtualService')),
    rewrite,
    timeout: string(istioDuration({ allowZero: true })),
    retries,
    fault,
    mirror: destination,
    mirrorPercentage: percent,
    mirrorPercent: rejected('mirrorPercent is deprecated in Istio and meshbox reads only its replacement: remove it and write mirrorPercentage: {value: N}'),
    mirrors: rejected(NOT_YET('mirrors (several mirror targets)', 'use mirror and mirrorPercentage for one target')),
    corsPolicy: rejected(NOT_YET('corsPolicy', 'answer CORS preflight requests in the application')),
    headers,
  },
  ruleConflicts,
);

const l4Match = object({
  port,
  gateways: array(nonEmptyString(gatewayName)),
  sourceLabels: rejected(NOT_YET('tcp match.sourceLabels', 'match on port, or give the clients their own VirtualService with exportTo')),
  destinationSubnets: rejected(NOT_YET('tcp match.destinationSubnets', 'match on port')),
  sourceNamespace: rejected(NOT_YET('match.sourceNamespace', 'use exportTo')),
  sourceSubnet: rejected(NOT_YET('tcp match.sourceSubnet', 'match on port')),
});

const routeDestination = object({ destination: required(destination), weight: integer({ min: 0, max: 2_147_483_647 }) });

/** The proxy's original-destination table maps an address to one cluster: no weighted TCP split. */
const oneTcpDestination: Check = (route: unknown[], ctx) => {
  route.slice(1).forEach((_, i) => {
    ctx.error([i + 1], 'meshbox sends a TCP connection to one destination; weighted TCP splits are not supported yet: keep one destination (split HTTP traffic with http routes)', 'key');
  });
};

const tcpRoute = object({
  match: array(l4Match),
  route: required(array(routeDestination, { minItems: 1 }, oneTcpDestination)),
});

/** tcp routes serve sidecars only: the meshbox gateway has no TCP servers. */
const tcpForMesh: Check = (spec: Record<string, unknown>, ctx) => {
  if (!Array.isArray(spec.tcp)) return;
  const gateways = Array.isArray(spec.gateways) ? spec.gateways : [];
  if (gateways.length > 0 && !gateways.includes('mesh')) {
    ctx.error(['tcp'], 'tcp routes apply to sidecars only (the meshbox gateway serves HTTP); add "mesh" to gateways or remove tcp', 'key');
    return;
  }
  spec.tcp.forEach((rule: unknown, i: number) => {
    if (!isPlainObject(rule) || !Array.isArray(rule.match)) return;
    rule.match.forEach((m: unknown, j: number) => {
      if (isPlainObject(m) && Array.isArray(m.gateways) && m.gateways.length > 0 && !m.gateways.includes('mesh')) {
        ctx.error(['tcp', i, 'match', j, 'gateways'], 'this match never applies: tcp routes serve sidecars only ("mesh"); add "mesh" or remove gateways', 'key');
      }
    });
  });
};

/**
 * Istio: "*" only works for gateways (a sidecar would capture every host with it), and one
 * VirtualService may not list overlapping hosts ("*.foo.com" and "bar.foo.com").
 */
const checkHosts: Check = (spec: Record<string, unknown>, ctx) => {
  if (spec.http === undefined && spec.tcp === undefined) {
    ctx.error(['http'], 'a VirtualService needs http or tcp routes', 'missing');
  }
  if (!Array.isArray(spec.hosts)) return;
  const gateways = Array.isArray(spec.gateways) ? spec.gateways : [];
  const appliesToMesh = gateways.length === 0 || gateways.includes('mesh');
  const hosts = spec.hosts as unknown[];
  hosts.forEach((h, i) => {
    if (typeof h !== 'string') return;
    if (h === '*' && appliesToMesh) {
      ctx.error(['hosts', i], 'the wildcard host "*" is only allowed for VirtualServices bound to gateways (without "mesh"); name the hosts');
      return;
    }
    const earlier = hosts.findIndex((o, j) => j < i && typeof o === 'string' && hostsOverlap(o, h));
    if (earlier >= 0) {
      const what = hosts[earlier] === h ? 'is listed twice' : `overlaps hosts[${earlier}] ${JSON.stringify(hosts[earlier])}`;
      ctx.error(['hosts', i], `host ${JSON.stringify(h)} ${what}; list each host once`);
    }
  });
};

/** JSON with keys sorted at every level, so equal matches compare equal however they are written. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isPlainObject(v)) {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** A match as Istio compares them: everything but its name. */
function matchKey(m: unknown): string {
  if (!isPlainObject(m)) return canonical(m);
  const rest = { ...m };
  delete rest.name;
  return canonical(rest);
}

/**
 * Istio's unreachable-rule warnings (analyzeUnreachableHTTPRules): rules after a rule without
 * matches never run, and a match identical to an earlier one never wins.
 */
const checkReachable: Check = (routes: unknown[], ctx) => {
  let catchAll = -1;
  const seen = new Map<string, number>();
  routes.forEach((r, i) => {
    if (!isPlainObject(r)) return;
    const matches = Array.isArray(r.match) ? r.match : [];
    if (catchAll >= 0) {
      ctx.warn([i], `this rule is never used: rule [${catchAll}] before it has no match and takes every request; move the catch-all rule to the end`, 'key');
      return;
    }
    if (matches.length === 0) {
      catchAll = i;
      return;
    }
    let duplicates = 0;
    matches.forEach((m, k) => {
      const key = matchKey(m);
      const first = seen.get(key);
      if (first === undefined) seen.set(key, i);
      else {
        duplicates++;
        ctx.warn([i, 'match', k], `this match is never used: rule [${first}] has the same match and comes first`, 'key');
      }
    });
    if (duplicates === matches.length && matches.length > 1) ctx.warn([i], 'this rule is never used: every one of its matches is used by earlier rules', 'key');
  });
};

export const virtualServiceSpec = object(
  {
    hosts: required(array(nonEmptyString(istioHostOrIp), { minItems: 1 })),
    gateways: array(nonEmptyString(gatewayName)),
    http: array(httpRoute, {}, checkReachable),
    // A TCP connection is routed by the address it dialled (the listener's originalDst table).
    tcp: array(tcpRoute, {}, checkReachable),
    tls: rejected(NOT_YET('tls routes (TLS passthrough)', 'use http routes on an HTTP port, or plain TCP to the Service')),
    exportTo,
  },
  checkHosts,
  tcpForMesh,
);

export const virtualServiceSchema = kindSchema(dns1123Subdomain, { spec: required(virtualServiceSpec) });
