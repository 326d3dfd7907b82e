import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateObject } from '../../validate.js';
import { assertClean, assertIssue, errorsOf, yaml } from './test-support.js';

const SE_HEAD = yaml`
  apiVersion: networking.istio.io/v1
  kind: ServiceEntry
  metadata:
    name: external
  spec:
`;

/** SE_HEAD followed by `body` indented under spec (the body's first line is line 6). */
function se(body: string): string {
  return SE_HEAD + body.split('\n').map((l) => (l ? `  ${l}` : l)).join('\n');
}

describe('ServiceEntry', () => {
  it('loads STATIC entries and DNS entries with IP endpoints (v1, v1beta1, v1alpha3)', () => {
    for (const version of ['v1', 'v1beta1', 'v1alpha3']) {
      assertClean(yaml`
        apiVersion: networking.istio.io/${version}
        kind: ServiceEntry
        metadata:
          name: httpbin-ext
        spec:
          hosts:
          - httpbin.org
          ports:
          - number: 80
            name: http
            protocol: HTTP
          resolution: DNS
          endpoints:
          - address: 10.30.0.4
          location: MESH_EXTERNAL
      `);
    }
    assertClean(se(yaml`
      hosts: [mydb.shop.internal]
      addresses: [10.20.1.4, 10.20.1.5, "fd00::5"]
      ports:
      - {number: 5432, name: tcp-pg, protocol: TCP, targetPort: 15432}
      resolution: STATIC
      endpoints:
      - address: 10.20.0.7
        ports: {tcp-pg: 5433}
        labels: {role: primary}
        weight: 3
      - address: 10.20.0.8
      exportTo: ["*"]
    `));
  });

  it('warns that MESH_INTERNAL behaves like MESH_EXTERNAL until mTLS', () => {
    const text = se(yaml`
      hosts: [db.internal]
      ports: [{number: 5432, name: tcp, protocol: TCP}]
      location: MESH_INTERNAL
      resolution: STATIC
      endpoints: [{address: 10.0.0.1}]
    `);
    assert.deepEqual(errorsOf(text), []);
    assertIssue(text, 'istio.yaml:8:13: spec.location', 'treats it like MESH_EXTERNAL', 'warnings');
  });

  const cases: { name: string; text: string; at: string; message: string }[] = [
    {
      name: 'STATIC without endpoints',
      text: se(yaml`
        hosts: [db.internal]
        ports: [{number: 5432, name: tcp, protocol: TCP}]
        resolution: STATIC
      `),
      at: 'istio.yaml:6:3: spec.endpoints',
      message: 'resolution STATIC needs endpoints with IP addresses',
    },
    {
      name: 'STATIC with a DNS name',
      text: se(yaml`
        hosts: [db.internal]
        ports: [{number: 5432, name: tcp, protocol: TCP}]
        resolution: STATIC
        endpoints: [{address: db1.internal}]
      `),
      at: 'istio.yaml:9:25: spec.endpoints[0].address',
      message: 'resolution STATIC needs an IP address here',
    },
    {
      name: 'resolution NONE (traffic to the dialled address)',
      text: se(yaml`
        hosts: [db.internal]
        ports: [{number: 5432, name: tcp, protocol: TCP}]
        resolution: NONE
      `),
      at: 'istio.yaml:8:15: spec.resolution',
      message: 'resolution NONE sends traffic to the address the client dialled; meshbox cannot send traffic to the address the client dialled yet; set resolution: STATIC',
    },
    {
      name: 'no resolution (Istio\'s default NONE)',
      text: se(yaml`
        hosts: [db.internal]
        ports: [{number: 5432, name: tcp, protocol: TCP}]
      `),
      at: 'istio.yaml:6:3: spec.resolution',
      message: 'resolution is missing, so it is NONE',
    },
    {
      name: 'DNS without endpoints (the hosts would be resolved)',
      text: se(yaml`
        hosts: [httpbin.org]
        ports: [{number: 80, name: http, protocol: HTTP}]
        resolution: DNS
      `),
      at: 'istio.yaml:6:3: spec.endpoints',
      message: 'meshbox does not resolve DNS names for a ServiceEntry yet; set resolution: STATIC',
    },
    {
      name: 'DNS with a DNS name endpoint',
      text: se(yaml`
        hosts: [api.example.com]
        ports: [{number: 80, name: http, protocol: HTTP}]
        resolution: DNS
        endpoints: [{address: lb.example.com}]
      `),
      at: 'istio.yaml:9:25: spec.endpoints[0].address',
      message: '"lb.example.com" is a DNS name; meshbox does not resolve DNS names',
    },
    {
      name: 'a wildcard host',
      text: se(yaml`
        hosts: ["*.wikipedia.org"]
        ports: [{number: 80, name: http, protocol: HTTP}]
        resolution: STATIC
        endpoints: [{address: 10.0.0.1}]
      `),
      at: 'istio.yaml:6:11: spec.hosts[0]',
      message: 'meshbox does not support wildcard ServiceEntry hosts (*.wikipedia.org) yet; list each host',
    },
    {
      name: 'a CIDR address (nothing routes a range)',
      text: se(yaml`
        hosts: [db.internal]
        addresses: [10.20.0.0/24]
        ports: [{number: 5432, name: tcp, protocol: TCP}]
        resolution: STATIC
        endpoints: [{address: 10.0.0.1}]
      `),
      at: 'istio.yaml:7:15: spec.addresses[0]',
      message: 'meshbox does not support address ranges (10.20.0.0/24) yet',
    },
    {
      name: 'DNS_ROUND_ROBIN is not supported yet',
      text: se(yaml`
        hosts: [api.example.com]
        ports: [{number: 80, name: http, protocol: HTTP}]
        resolution: DNS_ROUND_ROBIN
      `),
      at: 'istio.yaml:8:15: spec.resolution',
      message: 'meshbox does not support resolution DNS_ROUND_ROBIN yet; use DNS',
    },
    {
      name: 'an endpoint port name that spec.ports does not have',
      text: se(yaml`
        hosts: [db.internal]
        ports: [{number: 5432, name: tcp-pg, protocol: TCP}]
        resolution: STATIC
        endpoints: [{address: 10.0.0.1, ports: {tcp-db: 5433}}]
      `),
      at: 'istio.yaml:9:43: spec.endpoints[0].ports.tcp-db',
      message: 'no port named "tcp-db" in spec.ports',
    },
    {
      name: 'an HTTPS port',
      text: se(yaml`
        hosts: [api.example.com]
        ports: [{number: 443, name: https, protocol: HTTPS}]
        resolution: DNS
      `),
      at: 'istio.yaml:7:48: spec.ports[0].protocol',
      message: 'protocol HTTPS is not supported by meshbox yet',
    },
    {
      name: 'the host "*"',
      text: se(yaml`
        hosts: ["*"]
        ports: [{number: 80, name: http, protocol: HTTP}]
      `),
      at: 'istio.yaml:6:11: spec.hosts[0]',
      message: 'a ServiceEntry cannot cover every host',
    },
    {
      name: 'an address that is neither IP nor CIDR',
      text: se(yaml`
        hosts: [db.internal]
        addresses: [10.0.0.0/33]
        ports: [{number: 80, name: http, protocol: HTTP}]
      `),
      at: 'istio.yaml:7:15: spec.addresses[0]',
      message: 'is not an IP address',
    },
    {
      name: 'no ports',
      text: se(yaml`
        hosts: [db.internal]
      `),
      at: 'istio.yaml:6:3: spec.ports',
      message: 'a ServiceEntry needs ports',
    },
    {
      name: 'duplicate port numbers',
      text: se(yaml`
        hosts: [db.internal]
        ports: [{number: 80, name: a}, {number: 80, name: b}]
      `),
      at: 'istio.yaml:7:43: spec.ports[1].number',
      message: 'duplicate port number 80',
    },
  ];
  for (const c of cases) it(c.name, () => assertIssue(c.text, c.at, c.message));

  it('rejects workloadSelector, subjectAltNames and endpoint network/locality, naming the field', () => {
    const issues = validateObject({
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name: 'e' },
      spec: {
        hosts: ['db.internal'],
        ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
        resolution: 'STATIC',
        endpoints: [{ address: '10.0.0.1', network: 'n1', locality: 'us/a' }],
        workloadSelector: { labels: { app: 'db' } },
        subjectAltNames: ['spiffe://x'],
      },
    });
    assert.deepEqual(issues.map((i) => i.field).sort(), [
      'spec.endpoints[0].locality',
      'spec.endpoints[0].network',
      'spec.subjectAltNames',
      'spec.workloadSelector',
    ]);
    assert.ok(issues.every((i) => i.message.startsWith('not supported by meshbox: ') && /remove/.test(i.message)));
  });
});

describe('ServiceEntry: more of Istio\'s rules', () => {
  const cases: { name: string; text: string; at: string; message: string }[] = [
    {
      name: 'a port without a name',
      text: se(yaml`
        hosts: [db.internal]
        ports: [{number: 5432, protocol: TCP}]
      `),
      at: 'istio.yaml:7:11: spec.ports[0].name',
      message: 'required field is missing',
    },
    {
      name: 'several hosts on a TCP port',
      text: se(yaml`
        hosts: [a.example.com, b.example.com]
        ports: [{number: 5432, name: tcp, protocol: TCP}]
        resolution: STATIC
        endpoints: [{address: 10.0.0.1}]
      `),
      at: 'istio.yaml:6:3: spec.hosts',
      message: 'several hosts with a non-HTTP port (ports[0]) cannot be told apart',
    },
    {
      name: '"~" with other exportTo entries',
      text: se(yaml`
        hosts: [a.example.com]
        ports: [{number: 80, name: http, protocol: HTTP}]
        exportTo: ["~", "."]
      `),
      at: 'istio.yaml:8:14: spec.exportTo[0]',
      message: '"~" exports to no namespace',
    },
  ];
  for (const c of cases) it(c.name, () => assertIssue(c.text, c.at, c.message));

  it('accepts exportTo "~" on its own and several hosts on HTTP ports', () => {
    assertClean(se(yaml`
      hosts: [a.example.com, b.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: STATIC
      endpoints: [{address: 10.0.0.1}]
      exportTo: ["~"]
    `));
  });
});
