import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProxyStatusRow } from '../../controlplane/server.js';
import { renderProxyStatus } from './proxy-status.js';

const synced = { state: 'SYNCED', acked: '7', resources: 1 } as const;

test('proxy-status renders one row per proxy and explains a NACK under the table', () => {
  const rows: ProxyStatusRow[] = [
    { proxyId: 'router~127.0.0.1~edge.shop~shop.svc.cluster.local', kind: 'gateway', workload: 'shop/edge', connectedAt: 0, desiredVersion: '7', synced: true, types: { clusters: synced, endpoints: synced, listeners: synced, routes: synced } },
    {
      proxyId: 'sidecar~10.0.0.2~web-1.shop~shop.svc.cluster.local',
      kind: 'sidecar',
      workload: 'shop/web-1',
      connectedAt: 0,
      desiredVersion: '8',
      synced: false,
      types: { clusters: { state: 'NACKED', acked: '7', resources: 1 }, endpoints: synced, listeners: synced, routes: synced },
      lastNack: { version: '8', type: 'clusters', error: 'bad selector', at: 0 },
    },
  ];
  const out = renderProxyStatus(rows).split('\n');
  assert.match(out[0]!, /^NAME\s+KIND\s+CLUSTERS\s+ENDPOINTS\s+LISTENERS\s+ROUTES\s+VERSION$/);
  assert.match(out[1]!, /^edge\.shop\s+gateway\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED\s+7$/);
  assert.match(out[2]!, /^web-1\.shop\s+sidecar\s+NACKED\s+SYNCED\s+SYNCED\s+SYNCED\s+8$/);
  assert.ok(out.includes('shop/web-1: version 8 (clusters) was rejected: bad selector'));
  assert.equal(renderProxyStatus([]), 'No proxies are connected to the control plane.\n');
});
