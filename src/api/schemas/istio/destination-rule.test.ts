import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateObject } from '../../validate.js';
import { assertClean, assertIssue, errorsOf, yaml } from './test-support.js';

const DR_HEAD = yaml`
  apiVersion: networking.istio.io/v1
  kind: DestinationRule
  metadata:
    name: reviews
  spec:
    host: reviews
`;

/** DR_HEAD followed by `body` indented under spec (the body's first line is line 7). */
function dr(body: string): string {
  return DR_HEAD + body.split('\n').map((l) => (l ? `  ${l}` : l)).join('\n');
}

describe('DestinationRule: Istio documentation examples load clean', () => {
  it('bookinfo destination-rule-all', () => {
    const text = ['productpage:v1', 'reviews:v1,v2,v3', 'ratings:v1,v2,v2-mysql,v2-mysql-vm', 'details:v1,v2']
      .map((entry) => {
        const [host, versions] = entry.split(':') as [string, string];
        const subsets = versions.split(',').map((v) => `  - name: ${v}\n    labels:\n      version: ${v}\n`).join('');
        return `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: ${host}\nspec:\n  host: ${host}\n  subsets:\n${subsets}`;
      })
      .join('---\n');
    assertClean(text, 4);
  });

  it('circuit breaking (httpbin) with v1beta1 and v1alpha3', () => {
    for (const version of ['v1', 'v1beta1', 'v1alpha3']) {
      assertClean(yaml`
        apiVersion: networking.istio.io/${version}
        kind: DestinationRule
        metadata:
          name: httpbin
        spec:
          host: httpbin
          trafficPolicy:
            connectionPool:
              tcp:
                maxConnections: 1
              http:
                http1MaxPendingRequests: 1
                maxRequestsPerConnection: 1
            outlierDetection:
              consecutive5xxErrors: 1
              interval: 1s
              baseEjectionTime: 3m
              maxEjectionPercent: 100
      `);
    }
  });

  it('load balancers, consistent hash, port-level settings and subset policies', () => {
    assertClean(dr(yaml`
      trafficPolicy:
        loadBalancer:
          simple: LEAST_REQUEST
        portLevelSettings:
        - port: {number: 9080}
          loadBalancer:
            consistentHash:
              httpCookie: {name: user, ttl: 0s}
              maglev: {tableSize: 65537}
        - port: {number: 9443}
          connectionPool:
            tcp: {connectTimeout: 30ms}
            http: {http2MaxRequests: 100, maxRetries: 3, idleTimeout: 1h}
      subsets:
      - name: v1
        labels: {version: v1, app.kubernetes.io/part-of: bookinfo}
        trafficPolicy:
          loadBalancer:
            consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 1024}}
      - name: v2
        labels: {version: v2}
        trafficPolicy:
          outlierDetection: {consecutiveGatewayErrors: 3, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2, minHealthPercent: 50}
      exportTo: ["."]
    `));
  });
});

describe('DestinationRule: errors point at the field', () => {
  const cases: { name: string; text: string; at: string; message: string }[] = [
    {
      name: 'a subset label key that is not a label key',
      text: dr(yaml`
        subsets:
        - name: v1
          labels: {"version!": v1}
      `),
      at: 'istio.yaml:9:14: spec.subsets[0].labels[version!]',
      message: 'key "version!" is invalid',
    },
    {
      name: 'a subset label value that no label can have',
      text: dr(yaml`
        subsets:
        - name: v1
          labels:
            version: "v1 beta"
      `),
      at: 'istio.yaml:10:16: spec.subsets[0].labels.version',
      message: 'label value "v1 beta" is invalid',
    },
    {
      name: 'duplicate subset names',
      text: dr(yaml`
        subsets:
        - name: v1
        - name: v1
      `),
      at: 'istio.yaml:9:11: spec.subsets[1].name',
      message: 'duplicate subset name "v1"',
    },
    {
      name: 'a subset without a name',
      text: dr(yaml`
        subsets:
        - labels: {version: v1}
      `),
      at: 'istio.yaml:8:5: spec.subsets[0].name',
      message: 'required field is missing',
    },
    {
      name: 'PASSTHROUGH (the proxy cannot keep the dialled address)',
      text: dr(yaml`
        trafficPolicy:
          loadBalancer: {simple: PASSTHROUGH}
      `),
      at: 'istio.yaml:8:28: spec.trafficPolicy.loadBalancer.simple',
      message: 'meshbox does not support PASSTHROUGH yet',
    },
    {
      name: 'an unknown load balancer',
      text: dr(yaml`
        trafficPolicy:
          loadBalancer: {simple: ROUND_ROBBIN}
      `),
      at: 'istio.yaml:8:28: spec.trafficPolicy.loadBalancer.simple',
      message: 'did you mean ROUND_ROBIN?',
    },
    {
      name: 'simple and consistentHash together',
      text: dr(yaml`
        trafficPolicy:
          loadBalancer:
            simple: RANDOM
            consistentHash: {useSourceIp: true}
      `),
      at: 'istio.yaml:10:7: spec.trafficPolicy.loadBalancer.consistentHash',
      message: 'only one of simple, consistentHash may be set',
    },
    {
      name: 'two hash keys',
      text: dr(yaml`
        trafficPolicy:
          loadBalancer:
            consistentHash: {httpHeaderName: x-user, useSourceIp: true}
      `),
      at: 'istio.yaml:9:48: spec.trafficPolicy.loadBalancer.consistentHash.useSourceIp',
      message: 'set only one hash key, but httpHeaderName is set too',
    },
    {
      name: 'a maglev table size that is not prime',
      text: dr(yaml`
        trafficPolicy:
          loadBalancer:
            consistentHash: {useSourceIp: true, maglev: {tableSize: 65536}}
      `),
      at: 'istio.yaml:9:63: spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize',
      message: 'must be a prime number',
    },
    {
      name: 'a bad duration in outlier detection',
      text: dr(yaml`
        trafficPolicy:
          outlierDetection:
            interval: 10
      `),
      at: 'istio.yaml:9:17: spec.trafficPolicy.outlierDetection.interval',
      message: 'must be a string, got number 10',
    },
    {
      name: 'maxEjectionPercent over 100',
      text: dr(yaml`
        trafficPolicy:
          outlierDetection: {maxEjectionPercent: 120}
      `),
      at: 'istio.yaml:8:44: spec.trafficPolicy.outlierDetection.maxEjectionPercent',
      message: 'must be between 0 and 100, got 120',
    },
    {
      name: 'consecutiveLocalOriginFailures without the split',
      text: dr(yaml`
        trafficPolicy:
          outlierDetection: {consecutiveLocalOriginFailures: 3}
      `),
      at: 'istio.yaml:8:24: spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures',
      message: 'only takes effect with splitExternalLocalOriginErrors: true',
    },
    {
      name: 'maxConnections of 0',
      text: dr(yaml`
        trafficPolicy:
          connectionPool:
            tcp: {maxConnections: 0}
      `),
      at: 'istio.yaml:9:29: spec.trafficPolicy.connectionPool.tcp.maxConnections',
      message: 'must be between 1 and 2147483647, got 0',
    },
    {
      name: 'an empty traffic policy',
      text: dr(yaml`
        trafficPolicy: {}
      `),
      at: 'istio.yaml:7:3: spec.trafficPolicy',
      message: 'a traffic policy needs at least one of',
    },
    {
      name: 'two port-level settings for one port',
      text: dr(yaml`
        trafficPolicy:
          portLevelSettings:
          - port: {number: 80}
            loadBalancer: {simple: RANDOM}
          - port: {number: 80}
            loadBalancer: {simple: ROUND_ROBIN}
      `),
      at: 'istio.yaml:11:22: spec.trafficPolicy.portLevelSettings[1].port.number',
      message: 'port 80 already has settings at portLevelSettings[0]',
    },
    {
      name: 'a host with a bad wildcard',
      text: yaml`
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: r}
        spec:
          host: "reviews.*"
      `,
      at: 'istio.yaml:5:9: spec.host',
      message: 'a wildcard may only be the whole first label',
    },
  ];
  for (const c of cases) it(c.name, () => assertIssue(c.text, c.at, c.message));

  it('accepts the deprecated minimumRingSize with a warning', () => {
    const text = dr(yaml`
      trafficPolicy:
        loadBalancer:
          consistentHash: {httpQueryParameterName: user, minimumRingSize: 512}
    `);
    assert.deepEqual(errorsOf(text), []);
    assertIssue(text, 'istio.yaml:9:54: spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize', 'deprecated: use ringHash.minimumRingSize instead', 'warnings');
  });
});

describe('DestinationRule: more of Istio\'s rules', () => {
  const cases: { name: string; text: string; at: string; message: string }[] = [
    {
      name: 'an empty connection pool',
      text: dr(yaml`
        trafficPolicy:
          connectionPool: {}
      `),
      at: 'istio.yaml:8:5: spec.trafficPolicy.connectionPool',
      message: 'a connection pool needs tcp or http settings',
    },
    {
      name: 'a port-level setting with only a port',
      text: dr(yaml`
        trafficPolicy:
          portLevelSettings:
          - port: {number: 80}
      `),
      at: 'istio.yaml:9:7: spec.trafficPolicy.portLevelSettings[0]',
      message: 'a port-level setting needs loadBalancer, connectionPool or outlierDetection',
    },
    {
      name: 'maglev without a table size',
      text: dr(yaml`
        trafficPolicy:
          loadBalancer:
            consistentHash: {useSourceIp: true, maglev: {}}
      `),
      at: 'istio.yaml:9:51: spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize',
      message: 'required field is missing',
    },
  ];
  for (const c of cases) it(c.name, () => assertIssue(c.text, c.at, c.message));

  it('refuses the deprecated consecutiveErrors, naming its replacement', () => {
    assertIssue(dr(yaml`
      trafficPolicy:
        outlierDetection: {consecutiveErrors: 3}
    `), 'istio.yaml:8:24: spec.trafficPolicy.outlierDetection.consecutiveErrors', 'not supported by meshbox: consecutiveErrors is deprecated in Istio and meshbox reads only its replacement: remove it and write consecutiveGatewayErrors');
  });
});

describe('DestinationRule: what meshbox cannot do is an error naming the field', () => {
  const base = (spec: Record<string, unknown>) => ({
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'DestinationRule',
    metadata: { name: 'r' },
    spec: { host: 'reviews', ...spec },
  });
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['spec.trafficPolicy.tls', { trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } }, /mTLS milestone/],
    ['spec.subsets[0].trafficPolicy.tls', { subsets: [{ name: 'v1', trafficPolicy: { tls: { mode: 'DISABLE' } } }] }, /mTLS milestone/],
    ['spec.trafficPolicy.portLevelSettings[0].tls', { trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, tls: { mode: 'SIMPLE' } }] } }, /mTLS/],
    ['spec.workloadSelector', { workloadSelector: { matchLabels: { app: 'x' } } }, /workloadSelector/],
    ['spec.trafficPolicy.loadBalancer.localityLbSetting', { trafficPolicy: { loadBalancer: { localityLbSetting: { enabled: true } } } }, /localityLbSetting/],
    ['spec.trafficPolicy.loadBalancer.warmupDurationSecs', { trafficPolicy: { loadBalancer: { simple: 'RANDOM', warmupDurationSecs: '10s' } } }, /warmupDurationSecs/],
    ['spec.trafficPolicy.connectionPool.http.h2UpgradePolicy', { trafficPolicy: { connectionPool: { http: { h2UpgradePolicy: 'UPGRADE' } } } }, /h2UpgradePolicy/],
    ['spec.trafficPolicy.connectionPool.tcp.tcpKeepalive', { trafficPolicy: { connectionPool: { tcp: { tcpKeepalive: { time: '1s' } } } } }, /tcpKeepalive/],
    ['spec.trafficPolicy.tunnel', { trafficPolicy: { tunnel: { protocol: 'CONNECT' } } }, /tunnel/],
    ['spec.trafficPolicy.proxyProtocol', { trafficPolicy: { proxyProtocol: {} } }, /proxyProtocol/],
  ];
  for (const [field, spec, why] of cases) {
    it(field, () => {
      const issues = validateObject(base(spec));
      const hit = issues.find((i) => i.field === field);
      assert.ok(hit, `no issue for ${field} among ${JSON.stringify(issues)}`);
      assert.match(hit.message, /^not supported by meshbox: /);
      assert.match(hit.message, why);
    });
  }
});
