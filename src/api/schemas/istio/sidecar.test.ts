import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateObject } from '../../validate.js';
import { assertClean, assertIssue, load, yaml } from './test-support.js';

const SC_HEAD = yaml`
  apiVersion: networking.istio.io/v1
  kind: Sidecar
  metadata:
    name: default
    namespace: shop
  spec:
`;

/** SC_HEAD followed by `body` indented under spec (the body's first line is line 7). */
function sc(body: string): string {
  return SC_HEAD + body.split('\n').map((l) => (l ? `  ${l}` : l)).join('\n');
}

describe('Sidecar', () => {
  it('loads the documentation examples (namespace default, workload egress scoping per port, REGISTRY_ONLY)', () => {
    for (const version of ['v1', 'v1beta1', 'v1alpha3']) {
      assertClean(yaml`
        apiVersion: networking.istio.io/${version}
        kind: Sidecar
        metadata:
          name: default
          namespace: istio-config
        spec:
          egress:
          - hosts:
            - "./*"
            - "istio-system/*"
      `);
    }
    assertClean(sc(yaml`
      workloadSelector:
        labels:
          app: ratings
      egress:
      - port:
          number: 9080
          name: egresshttp
        hosts:
        - "prod-us1/*"
      - hosts:
        - "istio-system/*"
        - "~/*"
      outboundTrafficPolicy:
        mode: REGISTRY_ONLY
    `));
  });

  it('warns that an egress port protocol has no effect (the Service port decides)', () => {
    const text = sc(yaml`
      egress:
      - port: {number: 9080, protocol: HTTP, name: http}
        hosts: ["./*"]
    `);
    assert.deepEqual(load(text).issues, []);
    assertIssue(text, 'istio.yaml:8:26: spec.egress[0].port.protocol', 'has no effect in meshbox', 'warnings');
  });

  const cases: { name: string; text: string; at: string; message: string }[] = [
    {
      name: 'an egress host without a namespace',
      text: sc(yaml`
        egress:
        - hosts: ["reviews.shop.svc.cluster.local"]
      `),
      at: 'istio.yaml:8:13: spec.egress[0].hosts[0]',
      message: 'needs a namespace: write it as NAMESPACE/HOST',
    },
    {
      name: 'an egress listener without hosts',
      text: sc(yaml`
        egress:
        - port: {number: 80, protocol: HTTP, name: http}
      `),
      at: 'istio.yaml:8:5: spec.egress[0].hosts',
      message: 'required field is missing',
    },
    {
      name: 'the catch-all egress listener not last',
      text: sc(yaml`
        egress:
        - hosts: ["./*"]
        - port: {number: 80, protocol: HTTP, name: http}
          hosts: ["istio-system/*"]
      `),
      at: 'istio.yaml:8:5: spec.egress[0]',
      message: 'must be the last one',
    },
    {
      name: 'an unknown outbound traffic mode',
      text: sc(yaml`
        outboundTrafficPolicy: {mode: ALLOW_ALL}
      `),
      at: 'istio.yaml:7:33: spec.outboundTrafficPolicy.mode',
      message: 'unsupported value "ALLOW_ALL" (did you mean ALLOW_ANY?)',
    },
    {
      name: 'captureMode NONE',
      text: sc(yaml`
        egress:
        - port: {number: 80, protocol: HTTP, name: http}
          captureMode: NONE
          hosts: ["./*"]
      `),
      at: 'istio.yaml:9:18: spec.egress[0].captureMode',
      message: 'meshbox does not support captureMode NONE yet',
    },
    {
      name: 'ingress listeners (the inbound side follows the pod\'s ports)',
      text: sc(yaml`
        ingress:
        - port: {number: 9080, protocol: HTTP, name: http}
          defaultEndpoint: 127.0.0.1:8080
      `),
      at: 'istio.yaml:7:3: spec.ingress',
      message: 'meshbox does not support Sidecar ingress listeners yet; remove it',
    },
    {
      name: 'an egress bind address',
      text: sc(yaml`
        egress:
        - port: {number: 9080, name: http}
          bind: 127.0.0.2
          hosts: ["./*"]
      `),
      at: 'istio.yaml:9:5: spec.egress[0].bind',
      message: 'meshbox does not support egress bind yet; remove it',
    },
    {
      name: 'an empty Sidecar',
      text: sc(yaml`
        workloadSelector: {labels: {app: x}}
      `),
      at: 'istio.yaml:6:1: spec',
      message: 'a Sidecar needs egress or outboundTrafficPolicy',
    },
  ];
  for (const c of cases) it(c.name, () => assertIssue(c.text, c.at, c.message));

  it('rejects ingress, egressProxy and inboundConnectionPool, naming the field', () => {
    const issues = validateObject({
      apiVersion: 'networking.istio.io/v1',
      kind: 'Sidecar',
      metadata: { name: 's' },
      spec: {
        ingress: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, tls: { mode: 'SIMPLE' }, connectionPool: {} }],
        outboundTrafficPolicy: { mode: 'ALLOW_ANY', egressProxy: { host: 'egress' } },
        inboundConnectionPool: { http: {} },
      },
    });
    assert.deepEqual(issues.map((i) => i.field).sort(), [
      'spec.inboundConnectionPool',
      'spec.ingress',
      'spec.outboundTrafficPolicy.egressProxy',
    ]);
    assert.ok(issues.every((i) => i.message.startsWith('not supported by meshbox: ') && /remove/.test(i.message)));
  });
});

describe('Sidecar: more of Istio\'s rules', () => {
  it('refuses targetPort', () => {
    assertIssue(sc(yaml`
      egress:
      - port: {number: 80, targetPort: 8080}
        hosts: ["./*"]
    `), 'istio.yaml:8:24: spec.egress[0].port.targetPort', 'targetPort has no effect on Sidecars');
  });

  it('warns when a workloadSelector has no labels (the Sidecar then applies to the whole namespace)', () => {
    const text = sc(yaml`
      workloadSelector: {}
      outboundTrafficPolicy: {mode: ALLOW_ANY}
    `);
    assert.deepEqual(load(text).issues, []);
    assertIssue(text, 'istio.yaml:7:3: spec.workloadSelector', 'applies to every workload in the namespace', 'warnings');
  });
});
