import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { it } from 'node:test';
import { Gauge } from 'prom-client';
import type { Pod } from '../../api/types.js';
import { MeshboxError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import { createMeshMetrics, podTargets } from './mesh-metrics.js';

function pod(name: string, over: { phase?: string; ip?: string; sidecar?: 'init' | 'container' | 'none' }): Pod {
  const sidecar = { name: 'istio-proxy', image: 'host' };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'shop' },
    spec: {
      containers: [{ name: 'app', image: 'host' }, ...(over.sidecar === 'container' ? [sidecar] : [])],
      ...(over.sidecar === 'init' || over.sidecar === undefined ? { initContainers: [{ ...sidecar, restartPolicy: 'Always' }] } : {}),
    },
    status: { phase: over.phase ?? 'Running', ...(over.ip === '' ? {} : { podIP: over.ip ?? '10.221.0.5' }) },
  } as Pod;
}

it('podTargets: Running pods with an istio-proxy container or init container and an IP', () => {
  const targets = podTargets([
    pod('native', {}),
    pod('classic', { sidecar: 'container', ip: '10.221.0.6' }),
    pod('plain', { sidecar: 'none' }),
    pod('pending', { phase: 'Pending' }),
    pod('no-ip', { ip: '' }),
  ]);
  assert.deepEqual(targets, [
    { namespace: 'shop', pod: 'native', url: 'http://10.221.0.5:15090/stats/prometheus' },
    { namespace: 'shop', pod: 'classic', url: 'http://10.221.0.6:15090/stats/prometheus' },
  ]);
});

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .request({ host: '127.0.0.1', port, path, method }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      })
      .on('error', reject)
      .end();
  });
}

it('serves /metrics on an ephemeral TCP port with the registry and gateway targets; a taken port is a clear error', async () => {
  const gateway = http.createServer((_req, res) => res.end('# TYPE istio_requests_total counter\nistio_requests_total{reporter="source"} 2\n'));
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
  const gwPort = (gateway.address() as AddressInfo).port;
  const metrics = await createMeshMetrics({
    pods: () => [],
    gateways: () => [{ namespace: 'shop', pod: 'ingress', url: `http://127.0.0.1:${gwPort}/stats/prometheus` }],
    listen: { host: '127.0.0.1', port: 0 },
    log: silentLogger,
  });
  try {
    new Gauge({ name: 'meshbox_dns_cache_entries', help: 'x', registers: [metrics.registry] }).set(4);
    const port = metrics.address()!.port;
    assert.ok(port > 0);
    const r = await get(port, '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/plain; version=0\.0\.4/);
    assert.match(r.body, /^istio_requests_total\{reporter="source",namespace="shop",pod="ingress"\} 2$/m);
    assert.match(r.body, /^meshbox_dns_cache_entries 4$/m);
    assert.equal((await get(port, '/other')).status, 404);
    assert.equal((await get(port, '/metrics', 'POST')).status, 405);

    await assert.rejects(
      createMeshMetrics({ pods: () => [], listen: { host: '127.0.0.1', port }, log: silentLogger }),
      (err: unknown) => err instanceof MeshboxError && err.code === 'MBX_TELEMETRY_LISTEN_FAILED' && /EADDRINUSE.*--metrics-address/.test(err.message),
    );
  } finally {
    await metrics.close();
    await new Promise<void>((r) => gateway.close(() => r()));
  }
});
