/**
 * Cluster and route traffic policy, with Istio's field names (DestinationRule.trafficPolicy and
 * VirtualService.http[].retries/fault) and Istio's defaults, shared by the proxy and the control
 * plane. Nothing here imports from src/proxy.
 *
 * Public API:
 *   types      LoadBalancerSettings, ConsistentHashLB, ConnectionPoolSettings, OutlierDetection,
 *              HTTPRetry, HTTPFaultInjection, Percent, TrafficPolicy, PolicyIssue
 *   durations  parseDuration(text) → ms | undefined   (re-exported from ./duration.js)
 *   validate   validateLoadBalancer / validateConnectionPool / validateOutlierDetection /
 *              validateRetry / validateFault / validateTrafficPolicy (value: unknown, path) → PolicyIssue[]
 *   resolve    resolveConnectionPool(cp?) → ResolvedConnectionPool      (Istio defaults applied)
 *              resolveOutlierDetection(od?) → ResolvedOutlierDetection | undefined (absent = off)
 *              resolveRetry(r?) → ResolvedRetry                          (absent = Istio's default policy)
 *              resolveFault(f?) → ResolvedFault | undefined
 *              percentOf(p?) → 0..100
 *
 * Validators take `unknown` (parsed YAML) so they report wrong types and unknown fields too; the
 * resolvers take already-validated values and are what the proxy builds its layers from.
 */
import { parseDuration } from './duration.js';
import { RETRY_ON_GRPC, RETRY_ON_HTTP } from '../core/retry-on.js';

export { parseDuration };

// === types (Istio field names) ===

/** An Istio duration string: "1s", "500ms", "1m30s", "1h". */
export type Duration = string;

/** Istio's Percent: `value` in 0..100, fractions allowed (0.1 = one request in a thousand). */
export interface Percent {
  value: number;
}

export const SIMPLE_LB = ['UNSPECIFIED', 'ROUND_ROBIN', 'LEAST_REQUEST', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH'] as const;
export type SimpleLB = (typeof SIMPLE_LB)[number];

export interface HTTPCookie {
  name: string;
  path?: string;
  /** when set and the request has no such cookie, the proxy may generate one (Envoy does) */
  ttl?: Duration;
}

export interface ConsistentHashLB {
  httpHeaderName?: string;
  httpCookie?: HTTPCookie;
  useSourceIp?: boolean;
  httpQueryParameterName?: string;
  ringHash?: { minimumRingSize?: number };
  maglev?: { tableSize?: number };
  /** deprecated Istio field, same as ringHash.minimumRingSize */
  minimumRingSize?: number;
}

export interface LoadBalancerSettings {
  /** default LEAST_REQUEST (Istio's default); LEAST_CONN is Istio's deprecated alias */
  simple?: SimpleLB;
  consistentHash?: ConsistentHashLB;
}

export interface ConnectionPoolSettings {
  tcp?: {
    maxConnections?: number;
    connectTimeout?: Duration;
  };
  http?: {
    http1MaxPendingRequests?: number;
    http2MaxRequests?: number;
    /** 0 = unlimited */
    maxRequestsPerConnection?: number;
    maxRetries?: number;
    idleTimeout?: Duration;
  };
}

export interface OutlierDetection {
  /** default 5; 0 disables. Counts every 5xx, gateway errors and local-origin failures included */
  consecutive5xxErrors?: number;
  /** default 0 (off). Counts 502/503/504 and local-origin failures */
  consecutiveGatewayErrors?: number;
  /** only with splitExternalLocalOriginErrors; default 5 */
  consecutiveLocalOriginFailures?: number;
  /** count connect failures/resets/timeouts separately instead of as 503/504 (default false) */
  splitExternalLocalOriginErrors?: boolean;
  /** default 10s */
  interval?: Duration;
  /** default 30s; an ejection lasts baseEjectionTime × times ejected */
  baseEjectionTime?: Duration;
  /** default 10 */
  maxEjectionPercent?: number;
  /** default 0; below it the balancer ignores ejections (Envoy's panic threshold) */
  minHealthPercent?: number;
}

export interface HTTPRetry {
  /** retries after the first try; 0 disables retries */
  attempts?: number;
  perTryTimeout?: Duration;
  /** comma-separated Envoy retry_on values and bare HTTP status codes */
  retryOn?: string;
  retryRemoteLocalities?: boolean;
}

export interface HTTPFaultInjection {
  delay?: { fixedDelay?: Duration; percentage?: Percent };
  abort?: { httpStatus?: number; percentage?: Percent };
}

/** The parts of DestinationRule.trafficPolicy a cluster carries. */
export interface TrafficPolicy {
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
}

export interface PolicyIssue {
  /** dotted field path, e.g. `clusters[0].outlierDetection.interval` */
  path: string;
  message: string;
}

// === retryOn vocabulary ===

// one list for apply-time validation (api) and snapshot validation (here)
export { RETRY_ON_HTTP, RETRY_ON_GRPC };

/** Istio's policy when a route has no `retries` (pilot retry.DefaultPolicy). */
export const ISTIO_DEFAULT_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';
export const ISTIO_DEFAULT_RETRY_ATTEMPTS = 2;
export const ISTIO_DEFAULT_RETRIABLE_STATUS_CODES: readonly number[] = [503];

const UINT32_MAX = 4_294_967_295;

// === resolved forms (numbers in ms, defaults applied) ===

export interface ResolvedConnectionPool {
  maxConnections: number;
  connectTimeoutMs: number;
  http1MaxPendingRequests: number;
  http2MaxRequests: number;
  /** 0 = unlimited */
  maxRequestsPerConnection: number;
  maxRetries: number;
  idleTimeoutMs: number;
}

export interface ResolvedOutlierDetection {
  consecutive5xxErrors: number;
  consecutiveGatewayErrors: number;
  consecutiveLocalOriginFailures: number;
  splitExternalLocalOriginErrors: boolean;
  intervalMs: number;
  baseEjectionTimeMs: number;
  /** Envoy's max_ejection_time: 300 s, or the base time when that is larger */
  maxEjectionTimeMs: number;
  maxEjectionPercent: number;
  minHealthPercent: number;
}

export interface ResolvedRetry {
  /** retries after the first try */
  attempts: number;
  perTryTimeoutMs: number | undefined;
  retryOn: ReadonlySet<string>;
  retriableStatusCodes: ReadonlySet<number>;
  retryRemoteLocalities: boolean;
}

export interface ResolvedFault {
  /** 0..100 */
  delayPercent: number;
  delayMs: number;
  abortPercent: number;
  abortStatus: number;
}

/** Istio's defaults for connectionPool (istio.io DestinationRule reference). */
export function resolveConnectionPool(cp: ConnectionPoolSettings | undefined): ResolvedConnectionPool {
  return {
    maxConnections: cp?.tcp?.maxConnections ?? UINT32_MAX,
    connectTimeoutMs: durationOr(cp?.tcp?.connectTimeout, 10_000),
    http1MaxPendingRequests: cp?.http?.http1MaxPendingRequests ?? UINT32_MAX,
    http2MaxRequests: cp?.http?.http2MaxRequests ?? UINT32_MAX,
    maxRequestsPerConnection: cp?.http?.maxRequestsPerConnection ?? 0,
    maxRetries: cp?.http?.maxRetries ?? UINT32_MAX,
    idleTimeoutMs: durationOr(cp?.http?.idleTimeout, 3_600_000),
  };
}

/** Absent outlierDetection means no outlier detection at all (as in Istio). */
export function resolveOutlierDetection(od: OutlierDetection | undefined): ResolvedOutlierDetection | undefined {
  if (od === undefined) return undefined;
  const baseEjectionTimeMs = durationOr(od.baseEjectionTime, 30_000);
  return {
    consecutive5xxErrors: od.consecutive5xxErrors ?? 5,
    consecutiveGatewayErrors: od.consecutiveGatewayErrors ?? 0,
    consecutiveLocalOriginFailures: od.consecutiveLocalOriginFailures ?? 5,
    splitExternalLocalOriginErrors: od.splitExternalLocalOriginErrors ?? false,
    intervalMs: durationOr(od.interval, 10_000),
    baseEjectionTimeMs,
    maxEjectionTimeMs: Math.max(300_000, baseEjectionTimeMs),
    maxEjectionPercent: od.maxEjectionPercent ?? 10,
    minHealthPercent: od.minHealthPercent ?? 0,
  };
}

/**
 * Mirrors Istio's ConvertPolicy: no `retries` → Istio's default policy (2 retries on
 * connect-failure, refused-stream, gRPC unavailable/cancelled and 503); attempts 0 or absent → none
 * (Istio's `attempts` is a plain int32, so leaving it out disables retries); a given
 * `retryOn` replaces the default list, bare numbers in it become retriable status codes (and turn
 * on `retriable-status-codes`).
 */
export function resolveRetry(r: HTTPRetry | undefined): ResolvedRetry {
  if (r === undefined) {
    return {
      attempts: ISTIO_DEFAULT_RETRY_ATTEMPTS,
      perTryTimeoutMs: undefined,
      retryOn: new Set(ISTIO_DEFAULT_RETRY_ON.split(',')),
      retriableStatusCodes: new Set(ISTIO_DEFAULT_RETRIABLE_STATUS_CODES),
      retryRemoteLocalities: false,
    };
  }
  const attempts = Math.max(0, r.attempts ?? 0);
  let retryOn = new Set(ISTIO_DEFAULT_RETRY_ON.split(','));
  let codes = new Set<number>(ISTIO_DEFAULT_RETRIABLE_STATUS_CODES);
  if (r.retryOn !== undefined && r.retryOn.trim() !== '') {
    retryOn = new Set();
    codes = new Set();
    for (const raw of r.retryOn.split(',')) {
      const part = raw.trim();
      if (part === '') continue;
      if (/^\d+$/.test(part)) codes.add(Number(part));
      else retryOn.add(part);
    }
    if (codes.size > 0) retryOn.add('retriable-status-codes');
  }
  const perTry = r.perTryTimeout === undefined ? undefined : parseDuration(r.perTryTimeout);
  return {
    attempts,
    perTryTimeoutMs: perTry === undefined || perTry === 0 ? undefined : perTry,
    retryOn,
    retriableStatusCodes: codes,
    retryRemoteLocalities: r.retryRemoteLocalities ?? false,
  };
}

/**
 * A missing percentage means 0 %: that is what Istio does (istio/istio#36303; the docs were changed
 * to match), so `abort: {httpStatus: 503}` alone never fires. The validator does not flag it.
 */
export function resolveFault(f: HTTPFaultInjection | undefined): ResolvedFault | undefined {
  if (f === undefined || (f.delay === undefined && f.abort === undefined)) return undefined;
  return {
    delayPercent: f.delay ? percentOf(f.delay.percentage) : 0,
    delayMs: f.delay ? durationOr(f.delay.fixedDelay, 0) : 0,
    abortPercent: f.abort ? percentOf(f.abort.percentage) : 0,
    abortStatus: f.abort?.httpStatus ?? 0,
  };
}

export function percentOf(p: Percent | undefined): number {
  if (p === undefined || typeof p.value !== 'number' || Number.isNaN(p.value)) return 0;
  return Math.min(100, Math.max(0, p.value));
}

function durationOr(text: Duration | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  return parseDuration(text) ?? fallback;
}

// === validators ===

class Issues {
  readonly list: PolicyIssue[] = [];
  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
  object(value: unknown, path: string, allowed: readonly string[]): Record<string, unknown> | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.add(path, `must be an object, got ${kindOf(value)}`);
      return undefined;
    }
    const rec = value as Record<string, unknown>;
    for (const key of Object.keys(rec)) {
      if (!allowed.includes(key)) this.add(`${path}.${key}`, `unknown field; allowed fields are ${allowed.join(', ')}`);
    }
    return rec;
  }
  int(value: unknown, path: string, min: number, max = UINT32_MAX): void {
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isInteger(value)) this.add(path, `must be an integer, got ${kindOf(value)}`);
    else if (value < min || value > max) this.add(path, `must be between ${min} and ${max}, got ${value}`);
  }
  bool(value: unknown, path: string): void {
    if (value !== undefined && typeof value !== 'boolean') this.add(path, `must be true or false, got ${kindOf(value)}`);
  }
  string(value: unknown, path: string): void {
    if (value === undefined) return;
    if (typeof value !== 'string' || value === '') this.add(path, `must be a non-empty string, got ${kindOf(value)}`);
  }
  /** Istio requires durations of at least 1ms where a duration is given. */
  duration(value: unknown, path: string, minMs = 1): void {
    if (value === undefined) return;
    if (typeof value !== 'string') {
      this.add(path, `must be a duration string such as "1s" or "500ms", got ${kindOf(value)}`);
      return;
    }
    const ms = parseDuration(value);
    if (ms === undefined) this.add(path, `${JSON.stringify(value)} is not a duration; write it as "1s", "500ms", "1m30s" or "1h"`);
    else if (ms < minMs) this.add(path, `must be at least ${minMs}ms, got ${JSON.stringify(value)}`);
  }
  percent(value: unknown, path: string): void {
    if (value === undefined) return;
    const rec = this.object(value, path, ['value']);
    if (!rec) return;
    const v = rec['value'];
    if (typeof v !== 'number' || Number.isNaN(v)) this.add(`${path}.value`, `must be a number from 0 to 100, got ${kindOf(v)}`);
    else if (v < 0 || v > 100) this.add(`${path}.value`, `must be from 0 to 100, got ${v}`);
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

export function validateLoadBalancer(value: unknown, path = 'loadBalancer'): PolicyIssue[] {
  const c = new Issues();
  checkLoadBalancer(c, value, path);
  return c.list;
}

function checkLoadBalancer(c: Issues, value: unknown, path: string): void {
  const lb = c.object(value, path, ['simple', 'consistentHash']);
  if (!lb) return;
  if (lb['simple'] !== undefined && lb['consistentHash'] !== undefined) {
    c.add(path, 'set either simple or consistentHash, not both');
  }
  const simple = lb['simple'];
  if (simple !== undefined && !(SIMPLE_LB as readonly unknown[]).includes(simple)) {
    c.add(`${path}.simple`, `must be one of ${SIMPLE_LB.join(', ')}, got ${kindOf(simple)}`);
  }
  if (lb['consistentHash'] === undefined) return;
  const chPath = `${path}.consistentHash`;
  const ch = c.object(lb['consistentHash'], chPath, [
    'httpHeaderName',
    'httpCookie',
    'useSourceIp',
    'httpQueryParameterName',
    'ringHash',
    'maglev',
    'minimumRingSize',
  ]);
  if (!ch) return;
  const keys = ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'].filter((k) => ch[k] !== undefined);
  if (keys.length === 0) {
    c.add(chPath, 'needs one hash key: httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName');
  } else if (keys.length > 1) {
    c.add(chPath, `set only one hash key, got ${keys.join(' and ')}`);
  }
  c.string(ch['httpHeaderName'], `${chPath}.httpHeaderName`);
  c.string(ch['httpQueryParameterName'], `${chPath}.httpQueryParameterName`);
  if (ch['useSourceIp'] !== undefined && ch['useSourceIp'] !== true) {
    c.add(`${chPath}.useSourceIp`, 'must be true when set (leave it out to hash on something else)');
  }
  if (ch['httpCookie'] !== undefined) {
    const cookie = c.object(ch['httpCookie'], `${chPath}.httpCookie`, ['name', 'path', 'ttl']);
    if (cookie) {
      if (cookie['name'] === undefined) c.add(`${chPath}.httpCookie.name`, 'is required: the cookie to hash on');
      c.string(cookie['name'], `${chPath}.httpCookie.name`);
      c.string(cookie['path'], `${chPath}.httpCookie.path`);
      c.duration(cookie['ttl'], `${chPath}.httpCookie.ttl`, 0);
    }
  }
  const hasRing = ch['ringHash'] !== undefined || ch['minimumRingSize'] !== undefined;
  if (hasRing && ch['maglev'] !== undefined) c.add(chPath, 'set either ringHash or maglev, not both');
  c.int(ch['minimumRingSize'], `${chPath}.minimumRingSize`, 1, 8_388_608);
  if (ch['ringHash'] !== undefined) {
    const ring = c.object(ch['ringHash'], `${chPath}.ringHash`, ['minimumRingSize']);
    if (ring) c.int(ring['minimumRingSize'], `${chPath}.ringHash.minimumRingSize`, 1, 8_388_608);
  }
  if (ch['maglev'] !== undefined) {
    const mg = c.object(ch['maglev'], `${chPath}.maglev`, ['tableSize']);
    const size = mg?.['tableSize'];
    if (size !== undefined) {
      c.int(size, `${chPath}.maglev.tableSize`, 2, 5_000_011);
      if (typeof size === 'number' && Number.isInteger(size) && !isPrime(size)) {
        c.add(`${chPath}.maglev.tableSize`, `must be a prime number (such as 65537 or 5003), got ${size}`);
      }
    }
  }
}

export function validateConnectionPool(value: unknown, path = 'connectionPool'): PolicyIssue[] {
  const c = new Issues();
  checkConnectionPool(c, value, path);
  return c.list;
}

function checkConnectionPool(c: Issues, value: unknown, path: string): void {
  const cp = c.object(value, path, ['tcp', 'http']);
  if (!cp) return;
  if (cp['tcp'] !== undefined) {
    const tcp = c.object(cp['tcp'], `${path}.tcp`, ['maxConnections', 'connectTimeout']);
    if (tcp) {
      c.int(tcp['maxConnections'], `${path}.tcp.maxConnections`, 1);
      c.duration(tcp['connectTimeout'], `${path}.tcp.connectTimeout`);
    }
  }
  if (cp['http'] !== undefined) {
    const http = c.object(cp['http'], `${path}.http`, [
      'http1MaxPendingRequests',
      'http2MaxRequests',
      'maxRequestsPerConnection',
      'maxRetries',
      'idleTimeout',
    ]);
    if (http) {
      c.int(http['http1MaxPendingRequests'], `${path}.http.http1MaxPendingRequests`, 1);
      c.int(http['http2MaxRequests'], `${path}.http.http2MaxRequests`, 1);
      c.int(http['maxRequestsPerConnection'], `${path}.http.maxRequestsPerConnection`, 0);
      c.int(http['maxRetries'], `${path}.http.maxRetries`, 0);
      c.duration(http['idleTimeout'], `${path}.http.idleTimeout`);
    }
  }
}

export function validateOutlierDetection(value: unknown, path = 'outlierDetection'): PolicyIssue[] {
  const c = new Issues();
  checkOutlierDetection(c, value, path);
  return c.list;
}

function checkOutlierDetection(c: Issues, value: unknown, path: string): void {
  const od = c.object(value, path, [
    'consecutive5xxErrors',
    'consecutiveGatewayErrors',
    'consecutiveLocalOriginFailures',
    'splitExternalLocalOriginErrors',
    'interval',
    'baseEjectionTime',
    'maxEjectionPercent',
    'minHealthPercent',
  ]);
  if (!od) return;
  c.int(od['consecutive5xxErrors'], `${path}.consecutive5xxErrors`, 0);
  c.int(od['consecutiveGatewayErrors'], `${path}.consecutiveGatewayErrors`, 0);
  c.int(od['consecutiveLocalOriginFailures'], `${path}.consecutiveLocalOriginFailures`, 0);
  c.bool(od['splitExternalLocalOriginErrors'], `${path}.splitExternalLocalOriginErrors`);
  if (od['consecutiveLocalOriginFailures'] !== undefined && od['splitExternalLocalOriginErrors'] !== true) {
    c.add(`${path}.consecutiveLocalOriginFailures`, 'only takes effect with splitExternalLocalOriginErrors: true; set that too or drop this field');
  }
  c.duration(od['interval'], `${path}.interval`);
  c.duration(od['baseEjectionTime'], `${path}.baseEjectionTime`);
  c.int(od['maxEjectionPercent'], `${path}.maxEjectionPercent`, 0, 100);
  c.int(od['minHealthPercent'], `${path}.minHealthPercent`, 0, 100);
}

export function validateRetry(value: unknown, path = 'retries'): PolicyIssue[] {
  const c = new Issues();
  checkRetry(c, value, path, []);
  return c.list;
}

/** `extraFields` lets a caller allow its own additions (the route's `retryNonIdempotent`). */
export function validateRetryWith(value: unknown, path: string, extraFields: readonly string[]): PolicyIssue[] {
  const c = new Issues();
  checkRetry(c, value, path, extraFields);
  return c.list;
}

function checkRetry(c: Issues, value: unknown, path: string, extraFields: readonly string[]): void {
  const r = c.object(value, path, ['attempts', 'perTryTimeout', 'retryOn', 'retryRemoteLocalities', ...extraFields]);
  if (!r) return;
  c.int(r['attempts'], `${path}.attempts`, 0, 100);
  c.duration(r['perTryTimeout'], `${path}.perTryTimeout`);
  c.bool(r['retryRemoteLocalities'], `${path}.retryRemoteLocalities`);
  const retryOn = r['retryOn'];
  if (retryOn === undefined) return;
  if (typeof retryOn !== 'string') {
    c.add(`${path}.retryOn`, `must be a comma-separated string such as "5xx,connect-failure", got ${kindOf(retryOn)}`);
    return;
  }
  const known = new Set<string>([...RETRY_ON_HTTP, ...RETRY_ON_GRPC]);
  for (const raw of retryOn.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    if (/^\d+$/.test(part)) {
      const code = Number(part);
      if (code < 100 || code > 599) c.add(`${path}.retryOn`, `status code ${part} is not an HTTP status (100-599)`);
    } else if (!known.has(part)) {
      c.add(`${path}.retryOn`, `unknown retry condition ${JSON.stringify(part)}; use ${[...known].join(', ')} or an HTTP status code`);
    }
  }
}

export function validateFault(value: unknown, path = 'fault'): PolicyIssue[] {
  const c = new Issues();
  const f = c.object(value, path, ['delay', 'abort']);
  if (!f) return c.list;
  if (f['delay'] === undefined && f['abort'] === undefined) c.add(path, 'needs delay or abort (or both)');
  if (f['delay'] !== undefined) {
    const d = c.object(f['delay'], `${path}.delay`, ['fixedDelay', 'percentage']);
    if (d) {
      if (d['fixedDelay'] === undefined) c.add(`${path}.delay.fixedDelay`, 'is required, e.g. "5s"');
      c.duration(d['fixedDelay'], `${path}.delay.fixedDelay`);
      c.percent(d['percentage'], `${path}.delay.percentage`);
    }
  }
  if (f['abort'] !== undefined) {
    const a = c.object(f['abort'], `${path}.abort`, ['httpStatus', 'percentage']);
    if (a) {
      if (a['httpStatus'] === undefined) c.add(`${path}.abort.httpStatus`, 'is required, e.g. 503');
      c.int(a['httpStatus'], `${path}.abort.httpStatus`, 200, 599);
      c.percent(a['percentage'], `${path}.abort.percentage`);
    }
  }
  return c.list;
}

/** Validates a mirror percentage ({value: 0..100}). */
export function validatePercent(value: unknown, path: string): PolicyIssue[] {
  const c = new Issues();
  c.percent(value, path);
  return c.list;
}

export function validateTrafficPolicy(value: unknown, path = 'trafficPolicy'): PolicyIssue[] {
  const c = new Issues();
  const tp = c.object(value, path, ['loadBalancer', 'connectionPool', 'outlierDetection']);
  if (!tp) return c.list;
  if (tp['loadBalancer'] !== undefined) checkLoadBalancer(c, tp['loadBalancer'], `${path}.loadBalancer`);
  if (tp['connectionPool'] !== undefined) checkConnectionPool(c, tp['connectionPool'], `${path}.connectionPool`);
  if (tp['outlierDetection'] !== undefined) checkOutlierDetection(c, tp['outlierDetection'], `${path}.outlierDetection`);
  return c.list;
}
