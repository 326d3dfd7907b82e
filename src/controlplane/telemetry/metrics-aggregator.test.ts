import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { labelValue, parseExposition } from '../../meshconfig/telemetry/prometheus-text.js';
import { MetricsAggregator, type ScrapeTarget } from './metrics-aggregator.js';

const EXPOSITION = (n: number): string => `# HELP istio_requests_total Total requests.
# TYPE istio_requests_total counter
istio_requests_total{reporter="destination",response_code="200"} ${n}
`;

interface Fake {
  url: string;
  hits: number;
  close(): Promise<void>;
}

async function serve(handler: http.RequestListener): Promise<Fake> {
  const fake: Fake = { url: '', hits: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    fake.hits++;
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats/prometheus`;
  fake.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return fake;
}

/** A port nothing listens on: bound, then closed. */
async function deadUrl(): Promise<string> {
  const f = await serve(() => undefined);
  await f.close();
  return f.url;
}

describe('MetricsAggregator against real HTTP servers', () => {
  const fakes: Fake[] = [];
  let targets: ScrapeTarget[] = [];
  before(async () => {
    fakes.push(await serve((_req, res) => res.end(EXPOSITION(7))));
    fakes.push(await serve((_req, res) => res.end(EXPOSITION(5))));
    fakes.push(await serve(() => undefined)); // never answers: times out
    fakes.push(await serve((_req, res) => res.writeHead(503).end('draining')));
    fakes.push(await serve((_req, res) => res.end('this is not { prometheus\n')));
    targets = [
      { namespace: 'shop', pod: 'reviews-a', url: fakes[0]!.url },
      { namespace: 'shop', pod: 'reviews-b', url: fakes[1]!.url },
      { namespace: 'shop', pod: 'slow', url: fakes[2]!.url },
      { namespace: 'shop', pod: 'draining', url: fakes[3]!.url },
      { namespace: 'shop', pod: 'garbled', url: fakes[4]!.url },
      { namespace: 'shop', pod: 'dead', url: await deadUrl() },
    ];
  });
  after(async () => {
    for (const f of fakes) await f.close();
  });

  it('merges the live targets, skips and counts the others by reason, within the timeout', async () => {
    const registry = new Registry();
    new Counter({ name: 'meshbox_dns_queries_total', help: 'DNS messages', registers: [registry] }).inc(3);
    const agg = new MetricsAggregator({ targets: () => targets, registry, timeoutMs: 300 });
    const started = Date.now();
    const text = await agg.render();
    assert.ok(Date.now() - started < 2_000, 'a slow target costs the timeout, not more');
    const families = parseExposition(text);
    const requests = families.find((f) => f.name === 'istio_requests_total')!;
    assert.deepEqual(
      requests.samples.map((s) => [labelValue(s.labels, 'pod'), labelValue(s.labels, 'namespace'), s.value]),
      [
        ['reviews-a', 'shop', 7],
        ['reviews-b', 'shop', 5],
      ],
    );
    assert.equal(families.find((f) => f.name === 'meshbox_dns_queries_total')!.samples[0]!.value, 3);
    const failures = families.find((f) => f.name === 'meshbox_telemetry_scrape_failures_total')!;
    const byPod = Object.fromEntries(failures.samples.map((s) => [labelValue(s.labels, 'pod'), labelValue(s.labels, 'reason')]));
    assert.deepEqual(byPod, { slow: 'timeout', draining: 'http_status', garbled: 'invalid', dead: 'connect' });
    const up = families.find((f) => f.name === 'meshbox_telemetry_target_up')!;
    assert.deepEqual(up.samples.filter((s) => s.value === 1).map((s) => labelValue(s.labels, 'pod')).sort(), ['reviews-a', 'reviews-b']);
    // exactly one TYPE line per family in the whole text
    const types = text.match(/^# TYPE (\S+)/gm)!;
    assert.equal(new Set(types).size, types.length);
  });

  it('concurrent callers share one scrape; a target that went away loses its series', async () => {
    const agg = new MetricsAggregator({ targets: () => targets, timeoutMs: 300 });
    const before = fakes[0]!.hits;
    await Promise.all([agg.collect(), agg.collect(), agg.collect()]);
    assert.equal(fakes[0]!.hits - before, 1);
    targets = targets.filter((t) => t.pod !== 'dead');
    const text = await agg.render();
    assert.doesNotMatch(text, /pod="dead"/);
    assert.match(text, /meshbox_telemetry_scrape_failures_total\{namespace="shop",pod="slow",reason="timeout"\} 2/);
  });

  it('an answer over maxBytes is a failure (too_large), not a memory spike', async () => {
    const agg = new MetricsAggregator({ targets: () => targets.slice(0, 1), maxBytes: 10 });
    const text = await agg.render();
    assert.match(text, /reason="too_large"/);
    assert.doesNotMatch(text, /^istio_requests_total/m);
  });
});
