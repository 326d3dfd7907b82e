import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseExposition } from '../../meshconfig/telemetry/prometheus-text.js';
import { formatMs, formatRps, formatShare, histogramQuantile, readSample, serviceRates, topCells, type MeshSample } from './top-rates.js';

interface Req {
  pod: string;
  reporter: 'source' | 'destination';
  service: string;
  ns?: string;
  code: number;
  n: number;
}

interface Hist {
  pod: string;
  reporter: 'source' | 'destination';
  service: string;
  ns?: string;
  /** cumulative counts for le 5, 10, 50, +Inf */
  counts: [number, number, number, number];
}

/** /metrics text as the daemon serves it: Istio labels plus the namespace/pod the daemon adds. */
function metricsText(reqs: Req[], hists: Hist[], up: string[]): string {
  const labels = (x: { pod: string; reporter: string; service: string; ns?: string }): string =>
    `reporter="${x.reporter}",destination_service="${x.service}.${x.ns ?? 'shop'}.svc.cluster.local",destination_service_name="${x.service}",destination_service_namespace="${x.ns ?? 'shop'}",namespace="shop",pod="${x.pod}"`;
  const lines = ['# TYPE istio_requests_total counter'];
  for (const r of reqs) lines.push(`istio_requests_total{${labels(r)},response_code="${r.code}",response_flags="-"} ${r.n}`);
  lines.push('# TYPE istio_request_duration_milliseconds histogram');
  for (const h of hists) {
    ['5', '10', '50', '+Inf'].forEach((le, i) => lines.push(`istio_request_duration_milliseconds_bucket{${labels(h)},response_code="200",le="${le}"} ${h.counts[i]}`));
    lines.push(`istio_request_duration_milliseconds_count{${labels(h)},response_code="200"} ${h.counts[3]}`);
  }
  lines.push('# TYPE meshbox_telemetry_target_up gauge');
  for (const p of up) lines.push(`meshbox_telemetry_target_up{namespace="shop",pod="${p}"} 1`);
  return `${lines.join('\n')}\n`;
}

function sample(atMs: number, reqs: Req[], hists: Hist[] = [], up = ['reviews-a', 'reviews-b', 'web']): MeshSample {
  return readSample(parseExposition(metricsText(reqs, hists, up)), atMs);
}

describe('histogramQuantile (PromQL semantics)', () => {
  const buckets = [
    { le: 1, count: 10 },
    { le: 5, count: 60 },
    { le: 10, count: 90 },
    { le: Infinity, count: 100 },
  ];
  it('interpolates linearly inside the bucket that holds the rank', () => {
    assert.equal(histogramQuantile(0.5, buckets), 1 + 4 * (40 / 50)); // 4.2
    assert.equal(histogramQuantile(0.9, buckets), 10);
    assert.equal(histogramQuantile(0.05, buckets), 0.5); // first bucket starts at 0
  });
  it('a rank in the +Inf bucket answers the highest finite bound; order of input does not matter', () => {
    assert.equal(histogramQuantile(0.95, [...buckets].reverse()), 10);
  });
  it('no observations, no +Inf bucket or a single bucket: NaN', () => {
    assert.ok(Number.isNaN(histogramQuantile(0.5, buckets.map((b) => ({ ...b, count: 0 })))));
    assert.ok(Number.isNaN(histogramQuantile(0.5, buckets.slice(0, 3))));
    assert.ok(Number.isNaN(histogramQuantile(0.5, [{ le: Infinity, count: 3 }])));
  });
  it('counts that dip (float deltas) are made monotonic first', () => {
    // unfixed, the bucket below (2,3] would hold 4 and give 2.5
    const dipping = [{ le: 1, count: 5 }, { le: 2, count: 4 }, { le: 3, count: 8 }, { le: Infinity, count: 8 }];
    assert.equal(histogramQuantile(0.75, dipping), 2 + 1 / 3);
  });
});

describe('serviceRates', () => {
  const t0 = 1_000_000;
  const prev = sample(
    t0,
    [
      { pod: 'reviews-a', reporter: 'destination', service: 'reviews', code: 200, n: 100 },
      { pod: 'reviews-a', reporter: 'destination', service: 'reviews', code: 500, n: 10 },
      { pod: 'reviews-b', reporter: 'destination', service: 'reviews', code: 200, n: 50 },
      { pod: 'web', reporter: 'source', service: 'reviews', code: 200, n: 999 },
      { pod: 'web', reporter: 'source', service: 'ratings', code: 200, n: 40 },
    ],
    [{ pod: 'reviews-a', reporter: 'destination', service: 'reviews', counts: [10, 20, 30, 30] }],
  );
  const cur = sample(
    t0 + 2_000,
    [
      { pod: 'reviews-a', reporter: 'destination', service: 'reviews', code: 200, n: 160 }, // +60
      { pod: 'reviews-a', reporter: 'destination', service: 'reviews', code: 500, n: 16 }, // +6
      { pod: 'reviews-a', reporter: 'destination', service: 'reviews', code: 503, n: 4 }, // new series, proxy was up: +4
      { pod: 'reviews-b', reporter: 'destination', service: 'reviews', code: 200, n: 30 }, // reset (restart): +30
      { pod: 'reviews-c', reporter: 'destination', service: 'reviews', code: 200, n: 5000 }, // proxy not up before: skipped
      { pod: 'web', reporter: 'source', service: 'reviews', code: 200, n: 1999 }, // source view of reviews: not counted
      { pod: 'web', reporter: 'source', service: 'ratings', code: 200, n: 57 }, // +17, no destination sidecar
      { pod: 'web', reporter: 'source', service: 'ratings', code: 500, n: 3 }, // +3
    ],
    // +60 observations: 30 ≤ 5 ms, 15 in (5,10], 12 in (10,50], 3 above
    [{ pod: 'reviews-a', reporter: 'destination', service: 'reviews', counts: [40, 65, 87, 90] }],
  );

  it('uses destination reports when there are any, else source ones; deltas are reset-aware', () => {
    const rows = serviceRates(prev, cur);
    assert.deepEqual(
      rows.map((r) => [r.service, r.namespace, r.reporter, r.requests, r.rps]),
      [
        ['ratings', 'shop', 'source', 20, 10],
        ['reviews', 'shop', 'destination', 100, 50],
      ],
    );
    const reviews = rows[1]!;
    assert.equal(reviews.success, 90 / 100); // 6 × 500 and 4 × 503 of 100
    assert.equal(rows[0]!.success, 17 / 20);
    // bucket deltas: le5 30, le10 45, le50 57, +Inf 60
    assert.equal(reviews.p50, 5); // rank 30 is the top of the first bucket (0, 5]
    assert.equal(reviews.p95, 50); // rank 57 → end of (10,50]
    assert.equal(reviews.p99, 50); // rank 59.4 → +Inf bucket → highest finite bound
    assert.ok(Number.isNaN(rows[0]!.p50), 'no histogram for ratings');
  });

  it('filters by namespace and formats the table cells', () => {
    assert.deepEqual(serviceRates(prev, cur, { namespace: 'other' }), []);
    assert.deepEqual(topCells(serviceRates(prev, cur, { namespace: 'shop' })), [
      ['ratings', 'shop', '10.0', '85.0%', '-', '-', '-'],
      ['reviews', 'shop', '50.0', '90.0%', '5.00ms', '50.0ms', '50.0ms'],
    ]);
  });
});

describe('formatting', () => {
  it('keeps 100 % for no failures only, and picks units for latency', () => {
    assert.equal(formatShare(0.99996), '99.9%');
    assert.equal(formatShare(1), '100.0%');
    assert.equal(formatShare(NaN), '-');
    assert.equal(formatRps(0.5), '0.50');
    assert.equal(formatRps(123.4), '123');
    assert.equal(formatMs(0.42), '0.42ms');
    assert.equal(formatMs(250.4), '250ms');
    assert.equal(formatMs(12_500), '12.5s');
  });
});
