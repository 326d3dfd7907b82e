/**
 * What `meshbox top` computes from two samples of the daemon's /metrics: per destination service,
 * requests per second, the non-5xx share and p50/p95/p99 latency over the interval between them.
 *
 * - Counters become deltas as Prometheus' rate() makes them: a counter that went down was reset
 *   (the proxy restarted), so its whole new value counts. A series absent from the first sample
 *   counts from 0 when its proxy answered that scrape (Istio creates a series on its first request),
 *   and is skipped when its proxy did not (its total would all land in one interval).
 * - Each request is reported by both sidecars; a service's rows use reporter="destination" when a
 *   destination sidecar reported requests in the interval, else reporter="source", never both.
 * - Quantiles follow PromQL's histogram_quantile over the summed bucket deltas: linear
 *   interpolation inside the bucket, the lower bound of the first bucket is 0, and a rank in the
 *   +Inf bucket answers the highest finite bound.
 */
import { labelValue, type Labels, type MetricFamily } from '../../meshconfig/telemetry/prometheus-text.js';

const REQUESTS = 'istio_requests_total';
const DURATION_BUCKETS = 'istio_request_duration_milliseconds_bucket';
const TARGET_UP = 'meshbox_telemetry_target_up';

interface Point {
  service: string;
  namespace: string;
  reporter: string;
  /** namespace/pod of the proxy that reported it (labels the daemon adds) */
  target: string;
  value: number;
}

interface RequestPoint extends Point {
  code: string;
}

interface BucketPoint extends Point {
  le: number;
}

export interface MeshSample {
  atMs: number;
  /** proxies that answered this scrape; undefined when the text has no meshbox_telemetry_target_up */
  upTargets: Set<string> | undefined;
  requests: Map<string, RequestPoint>;
  buckets: Map<string, BucketPoint>;
}

export interface ServiceRow {
  service: string;
  namespace: string;
  reporter: 'destination' | 'source';
  requests: number;
  rps: number;
  /** share of non-5xx answers, NaN without requests */
  success: number;
  /** milliseconds, NaN without requests */
  p50: number;
  p95: number;
  p99: number;
}

/** The series `top` needs from one parsed /metrics text. */
export function readSample(families: readonly MetricFamily[], atMs: number): MeshSample {
  const sample: MeshSample = { atMs, upTargets: undefined, requests: new Map(), buckets: new Map() };
  for (const f of families) {
    if (f.name === TARGET_UP) {
      sample.upTargets = new Set();
      for (const s of f.samples) if (s.value === 1) sample.upTargets.add(targetOf(s.labels));
    } else if (f.name === REQUESTS) {
      for (const s of f.samples) {
        const base = pointOf(s.labels, s.value);
        if (base) sample.requests.set(identity(s.name, s.labels), { ...base, code: labelValue(s.labels, 'response_code') ?? '' });
      }
    } else if (f.name === 'istio_request_duration_milliseconds') {
      for (const s of f.samples) {
        if (s.name !== DURATION_BUCKETS) continue;
        const base = pointOf(s.labels, s.value);
        const le = parseLe(labelValue(s.labels, 'le'));
        if (base && le !== undefined) sample.buckets.set(identity(s.name, s.labels), { ...base, le });
      }
    }
  }
  return sample;
}

function parseLe(le: string | undefined): number | undefined {
  if (le === undefined) return undefined;
  if (le === '+Inf' || le.toLowerCase() === 'inf') return Infinity;
  const n = Number(le);
  return Number.isNaN(n) ? undefined : n;
}

function targetOf(labels: Labels): string {
  return `${labelValue(labels, 'namespace') ?? ''}/${labelValue(labels, 'pod') ?? ''}`;
}

function pointOf(labels: Labels, value: number): Point | undefined {
  const reporter = labelValue(labels, 'reporter');
  if (reporter !== 'source' && reporter !== 'destination') return undefined;
  let service = labelValue(labels, 'destination_service_name') ?? 'unknown';
  let namespace = labelValue(labels, 'destination_service_namespace') ?? 'unknown';
  if (service === 'unknown' || namespace === 'unknown') {
    // fall back on the host: reviews.shop.svc.cluster.local → reviews, shop
    const host = labelValue(labels, 'destination_service') ?? 'unknown';
    const [name, ns] = host.split('.');
    if (service === 'unknown') service = name || 'unknown';
    if (namespace === 'unknown' && ns && host.includes('.svc.')) namespace = ns;
  }
  return { service, namespace, reporter, target: targetOf(labels), value };
}

/** Series identity without relying on label order. */
function identity(name: string, labels: Labels): string {
  return `${name}\u0000${labels
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join('\u0000')}`;
}

/** How much a counter grew between two samples (reset-aware), or undefined when it cannot be known. */
function delta(prev: MeshSample, point: Point, prevPoint: Point | undefined): number | undefined {
  if (prevPoint) return point.value >= prevPoint.value ? point.value - prevPoint.value : point.value;
  // a new series: created in the interval if its proxy answered the previous scrape
  if (prev.upTargets === undefined || prev.upTargets.has(point.target)) return point.value;
  return undefined;
}

interface Acc {
  service: string;
  namespace: string;
  requests: number;
  failures: number;
  buckets: Map<number, number>;
}

/** Per service rows over the interval between `prev` and `cur`, sorted by namespace then service. */
export function serviceRates(prev: MeshSample, cur: MeshSample, opts: { namespace?: string } = {}): ServiceRow[] {
  const seconds = (cur.atMs - prev.atMs) / 1000;
  const acc = { destination: new Map<string, Acc>(), source: new Map<string, Acc>() };
  const accFor = (p: Point): Acc | undefined => {
    if (opts.namespace !== undefined && p.namespace !== opts.namespace) return undefined;
    const byReporter = acc[p.reporter as 'destination' | 'source'];
    const key = `${p.namespace}/${p.service}`;
    let a = byReporter.get(key);
    if (!a) {
      a = { service: p.service, namespace: p.namespace, requests: 0, failures: 0, buckets: new Map() };
      byReporter.set(key, a);
    }
    return a;
  };
  for (const [key, p] of cur.requests) {
    const a = accFor(p);
    const d = delta(prev, p, prev.requests.get(key));
    if (!a || d === undefined) continue;
    a.requests += d;
    if (p.code.startsWith('5')) a.failures += d;
  }
  for (const [key, p] of cur.buckets) {
    const a = accFor(p);
    const d = delta(prev, p, prev.buckets.get(key));
    if (!a || d === undefined) continue;
    a.buckets.set(p.le, (a.buckets.get(p.le) ?? 0) + d);
  }
  const rows: ServiceRow[] = [];
  const keys = new Set([...acc.destination.keys(), ...acc.source.keys()]);
  for (const key of keys) {
    const dest = acc.destination.get(key);
    const useDest = dest !== undefined && dest.requests > 0;
    const a = useDest ? dest : (acc.source.get(key) ?? dest!);
    const buckets = [...a.buckets].map(([le, count]) => ({ le, count }));
    rows.push({
      service: a.service,
      namespace: a.namespace,
      reporter: useDest || !acc.source.has(key) ? 'destination' : 'source',
      requests: a.requests,
      rps: seconds > 0 ? a.requests / seconds : 0,
      success: a.requests > 0 ? (a.requests - a.failures) / a.requests : NaN,
      p50: histogramQuantile(0.5, buckets),
      p95: histogramQuantile(0.95, buckets),
      p99: histogramQuantile(0.99, buckets),
    });
  }
  return rows.sort((x, y) => (x.namespace === y.namespace ? cmp(x.service, y.service) : cmp(x.namespace, y.namespace)));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** PromQL histogram_quantile over cumulative buckets (`le` upper bounds, counts ≤ le). */
export function histogramQuantile(q: number, buckets: readonly { le: number; count: number }[]): number {
  if (Number.isNaN(q) || q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  if (sorted.length < 2 || sorted[sorted.length - 1]!.le !== Infinity) return NaN;
  // counts must not go down with le; deltas of rounded floats may, as Prometheus fixes too
  for (let i = 1; i < sorted.length; i++) if (sorted[i]!.count < sorted[i - 1]!.count) sorted[i] = { le: sorted[i]!.le, count: sorted[i - 1]!.count };
  const total = sorted[sorted.length - 1]!.count;
  if (total === 0) return NaN;
  const rank = q * total;
  let b = sorted.findIndex((x) => x.count >= rank);
  if (b === -1) b = sorted.length - 1;
  if (b === sorted.length - 1) return sorted[sorted.length - 2]!.le;
  if (b === 0 && sorted[0]!.le <= 0) return sorted[0]!.le;
  const start = b === 0 ? 0 : sorted[b - 1]!.le;
  const below = b === 0 ? 0 : sorted[b - 1]!.count;
  const inBucket = sorted[b]!.count - below;
  return start + (sorted[b]!.le - start) * ((rank - below) / inBucket);
}

// === rendering ===

export const TOP_HEADERS = ['SERVICE', 'NAMESPACE', 'RPS', 'SUCCESS', 'P50', 'P95', 'P99'];

export function formatRps(rps: number): string {
  return rps.toFixed(rps >= 100 ? 0 : rps >= 10 ? 1 : 2);
}

export function formatShare(share: number): string {
  if (Number.isNaN(share)) return '-';
  // never round 99.96 % up to 100 %: 100 % means no failure at all
  const pct = Math.floor(share * 1000 + 1e-9) / 10;
  return `${pct.toFixed(1)}%`;
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 10) return `${ms.toFixed(2)}ms`;
  if (ms < 100) return `${ms.toFixed(1)}ms`;
  if (ms < 10_000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(1)}s`;
}

export function topCells(rows: readonly ServiceRow[]): string[][] {
  return rows.map((r) => [r.service, r.namespace, formatRps(r.rps), formatShare(r.success), formatMs(r.p50), formatMs(r.p95), formatMs(r.p99)]);
}
