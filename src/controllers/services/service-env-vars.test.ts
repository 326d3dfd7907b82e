import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceEnvVars } from './service-env-vars.js';
import type { Service } from './service-types.js';

function svc(name: string, namespace: string, spec: Partial<Service['spec']>): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { type: 'ClusterIP', ...spec } } as Service;
}

const redis = svc('redis-primary', 'shop', {
  clusterIP: '10.96.0.11',
  ports: [
    { name: 'redis', port: 6379, protocol: 'TCP' },
    { name: 'metrics-udp', port: 9121, protocol: 'UDP' },
  ],
});

test("Kubernetes' variables for a two-port Service", () => {
  const env = serviceEnvVars([redis], 'shop');
  assert.deepEqual(Object.fromEntries(env), {
    REDIS_PRIMARY_SERVICE_HOST: '10.96.0.11',
    REDIS_PRIMARY_SERVICE_PORT: '6379',
    REDIS_PRIMARY_SERVICE_PORT_REDIS: '6379',
    REDIS_PRIMARY_SERVICE_PORT_METRICS_UDP: '9121',
    REDIS_PRIMARY_PORT: 'tcp://10.96.0.11:6379',
    REDIS_PRIMARY_PORT_6379_TCP: 'tcp://10.96.0.11:6379',
    REDIS_PRIMARY_PORT_6379_TCP_PROTO: 'tcp',
    REDIS_PRIMARY_PORT_6379_TCP_PORT: '6379',
    REDIS_PRIMARY_PORT_6379_TCP_ADDR: '10.96.0.11',
    REDIS_PRIMARY_PORT_9121_UDP: 'udp://10.96.0.11:9121',
    REDIS_PRIMARY_PORT_9121_UDP_PROTO: 'udp',
    REDIS_PRIMARY_PORT_9121_UDP_PORT: '9121',
    REDIS_PRIMARY_PORT_9121_UDP_ADDR: '10.96.0.11',
  });
});

test('an unnamed single port gives no _SERVICE_PORT_<NAME>', () => {
  const env = serviceEnvVars([svc('web', 'default', { clusterIP: '10.96.0.2', ports: [{ port: 80 }] })], 'default');
  assert.equal(env.get('WEB_SERVICE_PORT'), '80');
  assert.equal([...env.keys()].filter((k) => k.startsWith('WEB_SERVICE_PORT_')).length, 0);
  assert.equal(env.get('WEB_PORT'), 'tcp://10.96.0.2:80');
});

test('only the pod namespace, no headless or ExternalName, kubernetes always, enableServiceLinks honoured', () => {
  const services = [
    redis,
    svc('other', 'elsewhere', { clusterIP: '10.96.0.12', ports: [{ port: 1 }] }),
    svc('headless', 'shop', { clusterIP: 'None', ports: [{ port: 2 }] }),
    svc('ext', 'shop', { type: 'ExternalName', externalName: 'example.com', ports: [{ port: 3 }] }),
    svc('kubernetes', 'default', { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] }),
  ];
  const on = serviceEnvVars(services, 'shop');
  assert.ok(on.has('REDIS_PRIMARY_SERVICE_HOST'));
  assert.ok(!on.has('OTHER_SERVICE_HOST'));
  assert.ok(!on.has('HEADLESS_SERVICE_HOST'));
  assert.ok(!on.has('EXT_SERVICE_HOST'));
  assert.equal(on.get('KUBERNETES_SERVICE_HOST'), '10.96.0.1');
  assert.equal(on.get('KUBERNETES_SERVICE_PORT_HTTPS'), '443');
  const off = serviceEnvVars(services, 'shop', false);
  assert.deepEqual([...off.keys()].filter((k) => k.endsWith('_SERVICE_HOST')), ['KUBERNETES_SERVICE_HOST']);
});

test("a Service named kubernetes in the pod's own namespace wins over the default one", () => {
  const env = serviceEnvVars(
    [svc('kubernetes', 'default', { clusterIP: '10.96.0.1', ports: [{ port: 443 }] }), svc('kubernetes', 'shop', { clusterIP: '10.96.0.50', ports: [{ port: 443 }] })],
    'shop',
  );
  assert.equal(env.get('KUBERNETES_SERVICE_HOST'), '10.96.0.50');
});
