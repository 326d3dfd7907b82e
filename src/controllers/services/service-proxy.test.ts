import { test } from 'node:test';
import assert from 'node:assert/strict';
import { servicePortRules } from './service-proxy.js';
import type { Endpoints, Service } from './service-types.js';

const svc = (name: string, spec: Partial<Service['spec']>): Service =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'ns' }, spec: { type: 'ClusterIP', clusterIP: '10.96.0.5', ...spec } }) as Service;

const eps = (name: string, subsets: Endpoints['subsets']): Endpoints => ({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: 'ns' }, subsets });

test('one rule per Service port with the ready endpoints of that port name and protocol', () => {
  const services = [
    svc('web', {
      ports: [
        { name: 'http', port: 80, protocol: 'TCP' },
        { name: 'dns', port: 53, protocol: 'UDP' },
      ],
    }),
  ];
  const endpoints = eps('web', [
    { addresses: [{ ip: '10.1.0.3' }, { ip: '10.1.0.2' }], notReadyAddresses: [{ ip: '10.1.0.9' }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'dns', port: 5353, protocol: 'UDP' }] },
    { addresses: [{ ip: '10.1.0.4' }], ports: [{ name: 'http', port: 9090, protocol: 'TCP' }] },
  ]);
  const rules = servicePortRules(services, (ns, name) => (ns === 'ns' && name === 'web' ? endpoints : undefined));
  assert.deepEqual(
    rules.map((r) => [r.name, r.protocol, r.port, r.endpoints]),
    [
      ['ns/web:http', 'TCP', 80, [{ ip: '10.1.0.2', port: 8080 }, { ip: '10.1.0.3', port: 8080 }, { ip: '10.1.0.4', port: 9090 }]],
      ['ns/web:dns', 'UDP', 53, [{ ip: '10.1.0.2', port: 5353 }, { ip: '10.1.0.3', port: 5353 }]],
    ],
  );
});

test('headless and ExternalName Services get no rules; missing Endpoints mean no endpoints', () => {
  const rules = servicePortRules(
    [svc('h', { clusterIP: 'None', ports: [{ port: 80 }] }), svc('x', { type: 'ExternalName', clusterIP: '', ports: [{ port: 80 }] }), svc('e', { ports: [{ port: 80 }] })],
    () => undefined,
  );
  assert.deepEqual(rules.map((r) => [r.name, r.endpoints.length]), [['ns/e:', 0]]);
});

test('ClientIP affinity defaults to 10800 s; node ports only for NodePort Services', () => {
  const [sticky] = servicePortRules([svc('s', { sessionAffinity: 'ClientIP', ports: [{ port: 80, nodePort: 30001 }] })], () => undefined);
  assert.equal(sticky!.affinityTimeoutSeconds, 10800);
  assert.equal(sticky!.nodePort, undefined);
  const [np] = servicePortRules([svc('n', { type: 'NodePort', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } }, ports: [{ port: 80, nodePort: 30001 }] })], () => undefined);
  assert.equal(np!.nodePort, 30001);
  assert.equal(np!.affinityTimeoutSeconds, 5);
});
