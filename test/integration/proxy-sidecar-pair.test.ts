import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cluster, get, routes, startProxy, startUpstream, testBootstrap } from './proxy-harness.js';
import type { Snapshot } from '../../src/meshconfig/types.js';

test('client sidecar → server sidecar: both report, the server side learns the caller from peer metadata', async () => {
  let appHeaders: Record<string, unknown> = {};
  const app = await startUpstream((req, res) => {
    appHeaders = req.headers;
    res.end('from app');
  });
  const serverBoot = testBootstrap();
  serverBoot.node = { id: 'reviews-sidecar', metadata: { workload: 'reviews-v1', namespace: 'shop', app: 'reviews', version: 'v1' } };
  const inbound: Snapshot = {
    version: '1',
    listeners: [{ name: 'in', address: '127.0.0.1', port: 0, protocol: 'http', direction: 'inbound', routeConfig: 'inbound' }],
    routes: [{ ...routes([{ name: 'local', route: [{ cluster: 'inbound|9080', weight: 1 }] }]), name: 'inbound' }],
    clusters: [cluster('inbound|9080', [app.port], { destination: { service: 'reviews.shop.svc.cluster.local', serviceName: 'reviews', serviceNamespace: 'shop' } })],
  };
  const server = await startProxy(inbound, serverBoot);
  const outbound: Snapshot = {
    version: '1',
    listeners: [{ name: 'in', address: '127.0.0.1', port: 0, protocol: 'http', direction: 'outbound', routeConfig: 'outbound' }],
    routes: [{ ...routes([{ name: 'reviews', route: [{ cluster: 'outbound|9080||reviews', weight: 1 }] }]), name: 'outbound' }],
    clusters: [cluster('outbound|9080||reviews', [server.port], {
      destination: { service: 'reviews.shop.svc.cluster.local', serviceName: 'reviews', serviceNamespace: 'shop', workload: 'reviews-v1', workloadNamespace: 'shop' },
    })],
  };
  const client = await startProxy(outbound);
  try {
    assert.equal((await get(client.port, '/', { headers: { host: 'reviews:9080', 'x-meshbox-peer': 'spoofed,x,x,x,x' } })).body, 'from app');
    assert.equal(appHeaders['x-meshbox-peer'], undefined, 'the app never sees peer metadata');
    const metrics = async (port: number | undefined): Promise<string> => (await fetch(`http://127.0.0.1:${port}/stats/prometheus`)).text();
    const src = (await metrics(client.ports.stats)).split('\n').find((l) => l.startsWith('istio_requests_total{')) ?? '';
    assert.match(src, /reporter="source",source_workload="client",source_workload_namespace="testns"/);
    assert.match(src, /destination_workload="reviews-v1"/);
    assert.match(src, /\} 1$/);
    const dst = (await metrics(server.ports.stats)).split('\n').find((l) => l.startsWith('istio_requests_total{')) ?? '';
    assert.match(dst, /reporter="destination",source_workload="client",source_workload_namespace="testns"/, 'caller identity from the client sidecar, not the spoofed header');
    assert.match(dst, /destination_workload="reviews-v1",destination_workload_namespace="shop"/);
    assert.match(dst, /destination_service="reviews\.shop\.svc\.cluster\.local"/);
    assert.match(dst, /\} 1$/);
  } finally {
    await client.close();
    await server.close();
    await app.close();
  }
});
