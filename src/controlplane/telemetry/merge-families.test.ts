import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseExposition, renderExposition } from '../../meshconfig/telemetry/prometheus-text.js';
import { mergeFamilies, withTargetLabels } from './merge-families.js';

const podA = `# HELP istio_requests_total Total requests.
# TYPE istio_requests_total counter
istio_requests_total{reporter="destination",response_code="200"} 9
istio_requests_total{reporter="destination",response_code="500"} 1
# TYPE istio_request_duration_milliseconds histogram
istio_request_duration_milliseconds_bucket{reporter="destination",le="5"} 7
istio_request_duration_milliseconds_bucket{reporter="destination",le="+Inf"} 10
istio_request_duration_milliseconds_sum{reporter="destination"} 31
istio_request_duration_milliseconds_count{reporter="destination"} 10
`;
// the same series from a second replica, and a family whose type clashes with pod a's
const podB = `# TYPE istio_requests_total counter
istio_requests_total{reporter="destination",response_code="200"} 4
# TYPE istio_request_duration_milliseconds gauge
istio_request_duration_milliseconds 3
`;

it('two replicas keep apart through namespace/pod labels; one HELP/TYPE per family; a type clash is left out', () => {
  const r = mergeFamilies([
    { labels: [['namespace', 'shop'], ['pod', 'a']], families: parseExposition(podA) },
    { labels: [['namespace', 'shop'], ['pod', 'b']], families: parseExposition(podB) },
  ]);
  const text = renderExposition(r.families);
  assert.equal(text.match(/^# TYPE istio_requests_total /gm)?.length, 1);
  assert.equal(text.match(/^# HELP istio_requests_total /gm)?.length, 1);
  assert.match(text, /^istio_requests_total\{reporter="destination",response_code="200",namespace="shop",pod="a"\} 9$/m);
  assert.match(text, /^istio_requests_total\{reporter="destination",response_code="200",namespace="shop",pod="b"\} 4$/m);
  assert.match(text, /^istio_request_duration_milliseconds_bucket\{reporter="destination",le="\+Inf",namespace="shop",pod="a"\} 10$/m);
  assert.equal(r.conflicts.length, 1);
  assert.match(r.conflicts[0]!, /istio_request_duration_milliseconds is a histogram .* gauge \(namespace=shop pod=b\)/);
  assert.doesNotMatch(text, /^istio_request_duration_milliseconds\S*\{[^}]*pod="b"/m);
  // the merge is itself valid exposition
  const again = parseExposition(text);
  assert.equal(again.find((f) => f.name === 'istio_requests_total')!.samples.length, 3);
});

it('a scraped label named like a target label becomes exported_<name>; duplicate series are dropped', () => {
  assert.deepEqual(withTargetLabels([['pod', 'x'], ['exported_pod', 'y'], ['a', '1']], [['pod', 'p']]), [
    ['exported_exported_pod', 'x'],
    ['exported_pod', 'y'],
    ['a', '1'],
    ['pod', 'p'],
  ]);
  // through parse, merge and render: the renamed label is not the text as scraped
  const clashing = mergeFamilies([{ labels: [['namespace', 'shop'], ['pod', 'p']], families: parseExposition('# TYPE app_info gauge\napp_info{pod="x",v="1"} 1\n') }]);
  assert.equal(renderExposition(clashing.families), '# TYPE app_info gauge\napp_info{exported_pod="x",v="1",namespace="shop",pod="p"} 1\n');
  const fam = parseExposition('# TYPE up gauge\nup 1\n');
  const r = mergeFamilies([
    { labels: [], families: fam },
    { labels: [], families: fam },
  ]);
  assert.equal(r.duplicates, 1);
  assert.equal(r.families[0]!.samples.length, 1);
});
