import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateObject } from '../../validate.js';
import { assertClean, assertIssue, yaml } from './test-support.js';

const GW_HEAD = yaml`
  apiVersion: networking.istio.io/v1
  kind: Gateway
  metadata:
    name: httpbin-gateway
  spec:
    selector:
      istio: ingressgateway
    servers:
`;

/** GW_HEAD followed by `body` indented under spec.servers (the body's first line is line 9). */
function gw(body: string): string {
  return GW_HEAD + body.split('\n').map((l) => (l ? `  ${l}` : l)).join('\n');
}

describe('Gateway', () => {
  it('loads the ingress task Gateway and the bookinfo gateway (v1, v1beta1, v1alpha3)', () => {
    assertClean(gw(yaml`
      - port:
          number: 80
          name: http
          protocol: HTTP
        hosts:
        - "httpbin.example.com"
    `));
    for (const version of ['v1', 'v1beta1', 'v1alpha3']) {
      assertClean(yaml`
        apiVersion: networking.istio.io/${version}
        kind: Gateway
        metadata:
          name: bookinfo-gateway
        spec:
          # The selector matches the ingress gateway pod labels.
          selector:
            istio: ingressgateway # use istio default controller
          servers:
          - port:
              number: 8080
              name: http
              protocol: HTTP
            hosts:
            - "*"
      `);
    }
  });

  it('loads several servers, namespaced hosts, bind and lowercase protocols', () => {
    assertClean(gw(yaml`
      - port: {number: 8080, name: http, protocol: http}
        hosts: ["shop/*.example.com", "./api.example.com"]
        bind: 127.0.0.1
        name: web
      - port: {number: 8081, name: grpc, protocol: GRPC}
        hosts: ["*"]
      - port: {number: 8082, name: h2, protocol: HTTP2}
        hosts: ["*"]
    `));
  });

  const cases: { name: string; text: string; at: string; message: string }[] = [
    {
      name: 'an HTTPS server waits for mTLS',
      text: gw(yaml`
        - port: {number: 443, name: https, protocol: HTTPS}
          hosts: ["*"]
      `),
      at: 'istio.yaml:9:48: spec.servers[0].port.protocol',
      message: 'protocol HTTPS is not supported by meshbox yet: TLS on gateways waits for the mTLS milestone; use protocol HTTP',
    },
    {
      name: 'an unknown protocol',
      text: gw(yaml`
        - port: {number: 80, name: http, protocol: HTPP}
          hosts: ["*"]
      `),
      at: 'istio.yaml:9:46: spec.servers[0].port.protocol',
      message: 'unknown protocol "HTPP"; use HTTP, HTTP2, GRPC',
    },
    {
      name: 'a TCP server (the gateway serves HTTP only; it would never be served)',
      text: gw(yaml`
        - port: {number: 3306, name: mysql, protocol: TCP}
          hosts: ["*"]
      `),
      at: 'istio.yaml:9:49: spec.servers[0].port.protocol',
      message: 'protocol TCP is not supported by meshbox yet: the meshbox gateway serves HTTP, HTTP2 and GRPC servers',
    },
    {
      name: 'a server without hosts',
      text: gw(yaml`
        - port: {number: 80, name: http, protocol: HTTP}
      `),
      at: 'istio.yaml:9:5: spec.servers[0].hosts',
      message: 'required field is missing',
    },
    {
      name: 'a port without a name',
      text: gw(yaml`
        - port: {number: 80, protocol: HTTP}
          hosts: ["*"]
      `),
      at: 'istio.yaml:9:11: spec.servers[0].port.name',
      message: 'required field is missing',
    },
    {
      name: 'a port number out of range',
      text: gw(yaml`
        - port: {number: 80000, name: http, protocol: HTTP}
          hosts: ["*"]
      `),
      at: 'istio.yaml:9:20: spec.servers[0].port.number',
      message: 'must be between 1 and 65535, got 80000',
    },
    {
      name: 'two protocols on one port',
      text: gw(yaml`
        - port: {number: 80, name: http, protocol: HTTP}
          hosts: ["a.example.com"]
        - port: {number: 80, name: grpc, protocol: GRPC}
          hosts: ["b.example.com"]
      `),
      at: 'istio.yaml:11:46: spec.servers[1].port.protocol',
      message: 'port 80 is already served as HTTP by servers[0]',
    },
    {
      name: 'a host with a namespace that is not one',
      text: gw(yaml`
        - port: {number: 80, name: http, protocol: HTTP}
          hosts: ["Shop_NS/x.example.com"]
      `),
      at: 'istio.yaml:10:13: spec.servers[0].hosts[0]',
      message: '"Shop_NS" is not a namespace',
    },
    {
      name: 'a bind address that is not an IP',
      text: gw(yaml`
        - port: {number: 80, name: http, protocol: HTTP}
          hosts: ["*"]
          bind: localhost
      `),
      at: 'istio.yaml:11:11: spec.servers[0].bind',
      message: 'is not a valid IP address',
    },
    {
      name: 'no servers',
      text: gw(''),
      at: 'istio.yaml:8:3: spec.servers',
      message: 'required field is missing',
    },
  ];
  for (const c of cases) it(c.name, () => assertIssue(c.text, c.at, c.message));

  it('rejects tls and defaultEndpoint on a server, naming the field', () => {
    const issues = validateObject({
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: { name: 'g' },
      spec: { servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'], tls: { httpsRedirect: true }, defaultEndpoint: '127.0.0.1:8080' }] },
    });
    assert.deepEqual(issues.map((i) => i.field), ['spec.servers[0].tls', 'spec.servers[0].defaultEndpoint']);
    assert.ok(issues.every((i) => i.message.startsWith('not supported by meshbox: ')));
  });
});

describe('Gateway: targetPort', () => {
  it('is refused, as Istio does, naming the field', () => {
    assertIssue(gw(yaml`
      - port: {number: 80, name: http, protocol: HTTP, targetPort: 8080}
        hosts: ["*"]
    `), 'istio.yaml:9:52: spec.servers[0].port.targetPort', 'not supported by meshbox: targetPort has no effect on gateways');
  });
});
