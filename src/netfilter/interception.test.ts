import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { interceptionPlan, interceptionRules } from './interception.js';
import { findCause } from '../core/errors.js';

describe('interceptionPlan', () => {
  it('captures everything by default', () => {
    assert.deepEqual(interceptionPlan(undefined), {
      includeOutboundIPRanges: '*',
      excludeOutboundIPRanges: [],
      includeOutboundPorts: '*',
      excludeOutboundPorts: [],
      includeInboundPorts: '*',
      excludeInboundPorts: [],
    });
  });

  it("reads Istio's traffic annotations", () => {
    const plan = interceptionPlan({
      'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.96.0.0/16, 10.1.2.3',
      'traffic.sidecar.istio.io/excludeOutboundPorts': '5432,6379',
      'traffic.sidecar.istio.io/includeInboundPorts': '8080',
      'traffic.sidecar.istio.io/excludeInboundPorts': '9000',
      'sidecar.istio.io/interceptionMode': 'REDIRECT',
    });
    assert.deepEqual(plan.includeOutboundIPRanges, ['10.96.0.0/16', '10.1.2.3/32']);
    assert.deepEqual(plan.excludeOutboundPorts, [5432, 6379]);
    assert.deepEqual(plan.includeInboundPorts, [8080]);
    assert.deepEqual(plan.excludeInboundPorts, [9000]);
  });

  for (const [key, value, why] of [
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '10.96.0.0/33', 'not an IPv4 address or CIDR'],
    ['traffic.sidecar.istio.io/excludeInboundPorts', '80,http', '"http" is not a port number'],
    ['traffic.sidecar.istio.io/excludeOutboundPorts', '70000', 'not a port number 1-65535'],
    ['traffic.sidecar.istio.io/kubevirtInterfaces', 'net1', 'not supported'],
    ['sidecar.istio.io/interceptionMode', 'TPROXY', 'REDIRECT only'],
  ] as const) {
    it(`rejects ${key}: ${value}`, () => {
      assert.throws(
        () => interceptionPlan({ [key]: value }),
        (err: unknown) => findCause(err, 'MBX_INTERCEPTION_BAD_ANNOTATION') !== undefined && String((err as Error).message).includes(why) && (err as Error).message.includes(key),
      );
    });
  }
});

describe('interceptionRules', () => {
  it('sends outbound to 15001 and inbound to 15006 but never the proxy itself or its health/metrics ports', () => {
    const rules = interceptionRules(interceptionPlan({}));
    const lines = rules.split('\n');
    assert.ok(lines.includes('-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001'));
    assert.ok(lines.includes('-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006'));
    for (const p of [15020, 15021, 15090]) assert.ok(lines.includes(`-A ISTIO_INBOUND -p tcp --dport ${p} -j RETURN`), `inbound ${p} excluded`);
    const proxyReturn = lines.indexOf('-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN');
    const redirect = lines.indexOf('-A ISTIO_OUTPUT -j ISTIO_REDIRECT');
    assert.ok(proxyReturn >= 0 && redirect > proxyReturn, 'the proxy (uid 1337) returns before the catch-all redirect');
    assert.equal(lines.at(-2), 'COMMIT');
  });

  it('narrows capture to the included ranges and ports, exclusions first', () => {
    const rules = interceptionRules(
      interceptionPlan({
        'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.96.0.0/16',
        'traffic.sidecar.istio.io/excludeOutboundIPRanges': '10.96.0.10',
        'traffic.sidecar.istio.io/includeInboundPorts': '8080,9090',
      }),
    ).split('\n');
    assert.ok(!rules.includes('-A ISTIO_OUTPUT -j ISTIO_REDIRECT'), 'no catch-all redirect');
    const exclude = rules.indexOf('-A ISTIO_OUTPUT -d 10.96.0.10/32 -j RETURN');
    const include = rules.indexOf('-A ISTIO_OUTPUT -d 10.96.0.0/16 -j ISTIO_REDIRECT');
    assert.ok(exclude >= 0 && include > exclude);
    assert.ok(rules.includes('-A ISTIO_INBOUND -p tcp --dport 8080 -j ISTIO_IN_REDIRECT'));
    assert.ok(!rules.includes('-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT'));
  });
});
