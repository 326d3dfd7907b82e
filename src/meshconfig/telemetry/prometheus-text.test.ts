import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { MeshboxError } from '../../core/errors.js';
import { seededRandom } from '../../core/seeded-random.js';
import { parseExposition, renderExposition, seriesKey, type Labels, type MetricFamily, type MetricType } from './prometheus-text.js';

function bad(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseExposition(text),
    (err: unknown) => err instanceof MeshboxError && err.code === 'MBX_TELEMETRY_BAD_EXPOSITION' && pattern.test(err.message),
  );
}

describe('parseExposition', () => {
  it('reads an Istio-style counter and histogram with escapes, NaN, ±Inf and a timestamp', () => {
    const text = [
      '# HELP istio_requests_total Total requests.\\nSecond line with \\\\ backslash.',
      '# TYPE istio_requests_total counter',
      'istio_requests_total{reporter="destination",destination_service="a\\"b\\\\c\\nd",response_code="200"} 42',
      'istio_requests_total{reporter="source" , response_code="500",} 3 1700000000000',
      '# a plain comment',
      '',
      '# TYPE lat histogram',
      'lat_bucket{le="0.5"} 1',
      'lat_bucket{le="+Inf"} 2',
      'lat_sum 3.5e0',
      'lat_count 2',
      'odd_value NaN',
      'neg -Inf',
    ].join('\n');
    const f = parseExposition(text);
    assert.deepEqual(f.map((x) => [x.name, x.type, x.samples.length]), [
      ['istio_requests_total', 'counter', 2],
      ['lat', 'histogram', 4],
      ['odd_value', 'untyped', 1],
      ['neg', 'untyped', 1],
    ]);
    assert.equal(f[0]!.help, 'Total requests.\nSecond line with \\ backslash.');
    assert.deepEqual(f[0]!.samples[0]!.labels[1], ['destination_service', 'a"b\\c\nd']);
    assert.equal(f[0]!.samples[1]!.timestampMs, 1700000000000);
    assert.equal(f[1]!.samples[1]!.labels[0]![1], '+Inf');
    assert.ok(Number.isNaN(f[2]!.samples[0]!.value));
    assert.equal(f[3]!.samples[0]!.value, -Infinity);
  });

  it('reads what prom-client writes (counter, gauge, histogram, summary)', async () => {
    const r = new Registry();
    new Counter({ name: 'c_total', help: 'c', labelNames: ['a'], registers: [r] }).inc({ a: 'x"y' }, 2);
    new Gauge({ name: 'g', help: 'g\\h', registers: [r] }).set(-1.5);
    const h = new Histogram({ name: 'h_seconds', help: 'h', buckets: [0.1, 1], registers: [r] });
    h.observe(0.05);
    h.observe(5);
    const s = new Summary({ name: 's', help: 's', percentiles: [0.5], registers: [r] });
    s.observe(1);
    const f = parseExposition(await r.metrics());
    assert.deepEqual(f.map((x) => `${x.name}:${x.type}:${x.samples.length}`), ['c_total:counter:1', 'g:gauge:1', 'h_seconds:histogram:5', 's:summary:3']);
    assert.equal(f[1]!.help, 'g\\h');
    assert.deepEqual(f[0]!.samples[0]!.labels, [['a', 'x"y']]);
  });

  it('rejects what Prometheus rejects, naming the line', () => {
    bad('# TYPE x counter\n# TYPE x counter\nx 1', /line 2.*second TYPE/);
    bad('x 1\n# TYPE x counter', /line 2.*after its samples/);
    bad('# HELP x a\n# HELP x b', /second HELP/);
    bad('# TYPE x countr', /unknown type/);
    bad('a 1\nb 1\na{l="2"} 1', /line 3.*one group/);
    bad('x{a="1"} 1\nx{a="1"} 2', /duplicate series/);
    bad('x{a="1",a="2"} 1', /appears twice/);
    bad('x{a=1} 1', /double quotes/);
    bad('x{a="1} 1', /closing quote/);
    bad('x{a="\\t"} 1', /invalid escape/);
    bad('x 1 2 3', /unexpected text/);
    bad('x one', /not a number/);
    bad('x 1 12.5', /timestamp/);
    bad('x', /blank and a value/);
    bad('9x 1', /metric name/);
    bad('# TYPE h histogram\nh_bucket 1', /numeric "le"/);
    bad('# TYPE h histogram\nh 1', /only _bucket/);
    bad('# TYPE s summary\ns 1', /"quantile"/);
  });
});

// --- property and fuzz tests: seeded, so a failure repeats ---

const CHARS = 'abc_:XYZ09 "\\\n{}=,#\tü€';
function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}
function str(rnd: () => number, max: number): string {
  let s = '';
  const n = Math.floor(rnd() * max);
  for (let i = 0; i < n; i++) s += pick(rnd, [...CHARS]);
  return s;
}
function ident(rnd: () => number, prefix: string): string {
  return `${prefix}${Math.floor(rnd() * 1e6).toString(36)}`;
}
function value(rnd: () => number): number {
  const r = rnd();
  if (r < 0.05) return NaN;
  if (r < 0.1) return Infinity;
  if (r < 0.15) return -Infinity;
  if (r < 0.5) return Math.floor(rnd() * 1e6);
  return (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20);
}

function randomFamilies(rnd: () => number): MetricFamily[] {
  const families: MetricFamily[] = [];
  const used = new Set<string>();
  const count = 1 + Math.floor(rnd() * 5);
  for (let f = 0; f < count; f++) {
    const name = ident(rnd, 'm_');
    // histogram/summary families own name_sum etc.: keep every generated name distinct from those
    if ([name, `${name}_sum`, `${name}_count`, `${name}_bucket`].some((n) => used.has(n))) continue;
    for (const n of [name, `${name}_sum`, `${name}_count`, `${name}_bucket`]) used.add(n);
    const type = pick<MetricType>(rnd, ['counter', 'gauge', 'untyped', 'histogram', 'summary']);
    const family: MetricFamily = { name, type, samples: [] };
    // Prometheus drops the blanks between the name and the text, so the text cannot start with one
    if (rnd() < 0.7) family.help = str(rnd, 20).replace(/^[ \t]+/, '');
    const series = Math.floor(rnd() * 4);
    for (let s = 0; s < series; s++) {
      const labels: Labels = [];
      const nl = Math.floor(rnd() * 3);
      for (let l = 0; l < nl; l++) labels.push([`l${l}_${ident(rnd, '')}`, str(rnd, 12)]);
      labels.push(['series', String(s)]);
      if (type === 'histogram') {
        for (const le of ['0.5', '10', '+Inf']) family.samples.push({ name: `${name}_bucket`, labels: [...labels, ['le', le]], value: value(rnd) });
        family.samples.push({ name: `${name}_sum`, labels, value: value(rnd) }, { name: `${name}_count`, labels, value: value(rnd) });
      } else if (type === 'summary') {
        family.samples.push({ name, labels: [...labels, ['quantile', '0.99']], value: value(rnd) });
        family.samples.push({ name: `${name}_count`, labels, value: value(rnd) });
      } else {
        const sample = { name, labels, value: value(rnd) } as MetricFamily['samples'][number];
        if (rnd() < 0.2) sample.timestampMs = Math.floor(rnd() * 2e12);
        family.samples.push(sample);
      }
    }
    families.push(family);
  }
  return families;
}

/** NaN !== NaN: compare through a key that spells values out. */
function canonical(families: MetricFamily[]): unknown {
  return families.map((f) => ({ ...f, samples: f.samples.map(({ labelText: _text, ...s }) => ({ ...s, value: String(s.value) })) }));
}

describe('parseExposition properties', () => {
  it('parse(render(families)) gives the families back (500 seeded cases)', () => {
    const rnd = seededRandom(20261125);
    for (let i = 0; i < 500; i++) {
      const families = randomFamilies(rnd);
      const text = renderExposition(families);
      assert.deepEqual(canonical(parseExposition(text)), canonical(families), `case ${i}:\n${text}`);
    }
  });

  it('mutated input either parses or throws the coded error, never anything else (3000 seeded cases)', () => {
    const rnd = seededRandom(7);
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      const text = renderExposition(randomFamilies(rnd));
      const chars = [...text];
      const edits = 1 + Math.floor(rnd() * 3);
      for (let e = 0; e < edits && chars.length > 0; e++) {
        const at = Math.floor(rnd() * chars.length);
        const op = rnd();
        if (op < 0.4) chars.splice(at, 1);
        else if (op < 0.8) chars.splice(at, 0, pick(rnd, [...CHARS]));
        else chars[at] = pick(rnd, [...CHARS]);
      }
      const mutated = chars.join('');
      try {
        const parsed = parseExposition(mutated);
        // what parses renders to text that parses to the same thing
        assert.deepEqual(canonical(parseExposition(renderExposition(parsed))), canonical(parsed), mutated);
      } catch (err) {
        if (!(err instanceof MeshboxError) || err.code !== 'MBX_TELEMETRY_BAD_EXPOSITION') throw err;
        rejected++;
      }
    }
    assert.ok(rejected > 300, `the mutations hit the checks (${rejected} rejected)`);
  });

  it('seriesKey ignores label order', () => {
    assert.equal(seriesKey('x', [['b', '1'], ['a', '2']]), seriesKey('x', [['a', '2'], ['b', '1']]));
    assert.notEqual(seriesKey('x', [['a', '1']]), seriesKey('x', [['a', '2']]));
  });
});
