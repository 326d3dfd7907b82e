/**
 * Scrapes every proxy's /stats/prometheus in parallel and merges them, with the daemon's own
 * registry, into one exposition (what a Prometheus federating the mesh would see).
 *
 * A target that is down, slow (over `timeoutMs`, default 1 s), answers non-200, too much or
 * invalid text is skipped for this scrape, never failing the whole: it shows as
 * meshbox_telemetry_target_up 0 and in meshbox_telemetry_scrape_failures_total{reason}. Concurrent
 * callers (the API route, the TCP endpoint, several `meshbox top`) share one scrape in flight.
 */
import http from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { describeError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { parseExposition, renderExposition, type MetricFamily } from '../../meshconfig/telemetry/prometheus-text.js';
import { ScrapeFailed } from './errors.js';
import { mergeFamilies, type LabeledFamilies } from './merge-families.js';

export interface ScrapeTarget {
  namespace: string;
  pod: string;
  url: string;
}

export type ScrapeFailureReason = 'timeout' | 'connect' | 'http_status' | 'too_large' | 'invalid';

export interface MetricsAggregatorOptions {
  targets: () => readonly ScrapeTarget[] | Promise<readonly ScrapeTarget[]>;
  /** the daemon's registry: the aggregator's own metrics go here, and it is served after the proxies' */
  registry?: Registry;
  timeoutMs?: number;
  /** a bigger answer is a failure (too_large); default 32 MiB */
  maxBytes?: number;
  /** scrapes running at once; default 32 */
  concurrency?: number;
  log?: Logger;
}

const DEFAULT_TIMEOUT_MS = 1_000;
const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

type Outcome = { ok: true; families: MetricFamily[] } | { ok: false; reason: ScrapeFailureReason; detail: string };

export class MetricsAggregator {
  readonly registry: Registry;
  readonly #opts: MetricsAggregatorOptions;
  readonly #log: Logger;
  readonly #failures: Counter<'namespace' | 'pod' | 'reason'>;
  readonly #up: Gauge<'namespace' | 'pod'>;
  readonly #duration: Gauge;
  readonly #dropped: Counter<'reason'>;
  /** label sets published per target key, removed when the target goes away */
  readonly #published = new Map<string, { namespace: string; pod: string; up: boolean; reasons: Set<string> }>();
  #inFlight: Promise<MetricFamily[]> | undefined;
  readonly #warned = new Set<string>();
  /** each target's last answer and its parse (never mutated: the merge copies samples) */
  readonly #lastParsed = new Map<string, { text: string; families: MetricFamily[] }>();

  constructor(opts: MetricsAggregatorOptions) {
    this.#opts = opts;
    this.#log = opts.log ?? silentLogger;
    this.registry = opts.registry ?? new Registry();
    const registers = [this.registry];
    this.#failures = new Counter({
      name: 'meshbox_telemetry_scrape_failures_total',
      help: 'Scrapes of a proxy that failed and were skipped, by reason (timeout, connect, http_status, too_large, invalid).',
      labelNames: ['namespace', 'pod', 'reason'],
      registers,
    });
    this.#up = new Gauge({ name: 'meshbox_telemetry_target_up', help: '1 when the last scrape of the proxy succeeded, else 0.', labelNames: ['namespace', 'pod'], registers });
    this.#duration = new Gauge({ name: 'meshbox_telemetry_scrape_duration_seconds', help: 'Time the last scrape of every proxy took.', registers });
    this.#dropped = new Counter({
      name: 'meshbox_telemetry_dropped_families_total',
      help: 'Families or series left out of the merge: type_conflict (same name, other type) or duplicate (same series twice).',
      labelNames: ['reason'],
      registers,
    });
  }

  /** Every target's families with namespace/pod labels, then the daemon registry's. */
  collect(): Promise<MetricFamily[]> {
    // one scrape in flight at a time: callers that arrive meanwhile share its result
    this.#inFlight ??= this.#collect().finally(() => (this.#inFlight = undefined));
    return this.#inFlight;
  }

  async render(): Promise<string> {
    return renderExposition(await this.collect());
  }

  async #collect(): Promise<MetricFamily[]> {
    const started = performance.now();
    const targets = dedupeTargets(await this.#opts.targets());
    const outcomes = await mapLimit(targets, this.#opts.concurrency ?? 32, (t) => this.#scrape(t));
    const sources: LabeledFamilies[] = [];
    const seen = new Set<string>();
    targets.forEach((t, i) => {
      const outcome = outcomes[i]!;
      seen.add(targetKey(t));
      this.#record(t, outcome);
      if (outcome.ok) sources.push({ labels: [['namespace', t.namespace], ['pod', t.pod]], families: outcome.families });
    });
    this.#forgetGone(seen);
    this.#duration.set((performance.now() - started) / 1000);
    const merged = mergeFamilies(sources);
    // the daemon's own metrics last (they include this scrape's failures); no target labels
    const own = parseExposition(await this.registry.metrics());
    const all = mergeFamilies([{ labels: [], families: merged.families }, { labels: [], families: own }]);
    const conflicts = [...merged.conflicts, ...all.conflicts];
    if (conflicts.length) {
      this.#dropped.inc({ reason: 'type_conflict' }, conflicts.length);
      // once per conflict, not on every scrape (`meshbox top` scrapes every 2 s)
      const fresh = conflicts.filter((c) => !this.#warned.has(c));
      for (const c of fresh) this.#warned.add(c);
      if (fresh.length) this.#log.warn({ conflicts: fresh }, 'metric families with conflicting types were left out');
    }
    if (merged.duplicates + all.duplicates) this.#dropped.inc({ reason: 'duplicate' }, merged.duplicates + all.duplicates);
    return all.families;
  }

  async #scrape(t: ScrapeTarget): Promise<Outcome> {
    let text: string;
    try {
      text = await fetchText(t.url, this.#opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, this.#opts.maxBytes ?? DEFAULT_MAX_BYTES);
    } catch (err) {
      const reason = (ScrapeFailed.is(err) ? err.details?.reason : 'connect') as ScrapeFailureReason;
      return { ok: false, reason, detail: describeError(err) };
    }
    // an idle proxy answers the same text again: parsing is most of a scrape's CPU
    const last = this.#lastParsed.get(targetKey(t));
    if (last?.text === text) return { ok: true, families: last.families };
    try {
      const families = parseExposition(text);
      this.#lastParsed.set(targetKey(t), { text, families });
      return { ok: true, families };
    } catch (err) {
      return { ok: false, reason: 'invalid', detail: describeError(err) };
    }
  }

  #record(t: ScrapeTarget, outcome: Outcome): void {
    const key = targetKey(t);
    let pub = this.#published.get(key);
    if (!pub) {
      pub = { namespace: t.namespace, pod: t.pod, up: true, reasons: new Set() };
      this.#published.set(key, pub);
    }
    const labels = { namespace: t.namespace, pod: t.pod };
    this.#up.set(labels, outcome.ok ? 1 : 0);
    // `meshbox top` scrapes every 2 s: log a target going down once, not on every scrape
    if (outcome.ok) {
      if (!pub.up) this.#log.info({ target: key }, 'proxy metrics answer again');
      pub.up = true;
      return;
    }
    this.#failures.inc({ ...labels, reason: outcome.reason });
    pub.reasons.add(outcome.reason);
    if (pub.up) this.#log.warn({ target: key, url: t.url, reason: outcome.reason, err: outcome.detail }, 'proxy metrics scrape failed; skipping it until it answers');
    pub.up = false;
  }

  /** Series of pods that are gone would otherwise stay forever in a long-running daemon. */
  #forgetGone(seen: Set<string>): void {
    for (const [key, pub] of this.#published) {
      if (seen.has(key)) continue;
      this.#up.remove({ namespace: pub.namespace, pod: pub.pod });
      this.#lastParsed.delete(key);
      for (const reason of pub.reasons) this.#failures.remove({ namespace: pub.namespace, pod: pub.pod, reason });
      this.#published.delete(key);
    }
  }
}

function targetKey(t: ScrapeTarget): string {
  return `${t.namespace}/${t.pod}`;
}

/** Two targets with one namespace/pod would collide in every series: keep the first. */
function dedupeTargets(targets: readonly ScrapeTarget[]): ScrapeTarget[] {
  const seen = new Set<string>();
  return targets.filter((t) => {
    const key = targetKey(t);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** GET with one deadline for connect, head and body; a fresh connection each time (no stale keep-alive). */
export function fetchText(url: string, timeoutMs: number, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (reason: ScrapeFailureReason, detail: string, cause?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(ScrapeFailed(url, reason, detail, { details: { reason }, ...(cause === undefined ? {} : { cause }) }));
      req.destroy();
    };
    const req = http.get(url, { agent: false, headers: { accept: 'text/plain;version=0.0.4' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        fail('http_status', `HTTP ${res.statusCode}`);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) fail('too_large', `more than ${maxBytes} bytes`);
        else chunks.push(chunk);
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      res.on('error', (err) => fail('connect', err.message, err));
    });
    const timer = setTimeout(() => fail('timeout', `no complete answer within ${timeoutMs} ms`), timeoutMs);
    req.on('error', (err) => fail('connect', err.message, err));
  });
}
