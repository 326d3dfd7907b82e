import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigDump } from '../../meshconfig/xds/status.js';
import { renderProxyConfig } from './proxy-config.js';

const dump: ConfigDump = {
  proxyId: 'sidecar~10.244.0.5~client.shop~shop.svc.cluster.local',
  workload: 'shop/client',
  desiredVersion: '7',
  acked: { clusters: '7', endpoints: '7', listeners: '7', routes: '7' },
  warnings: [],
  snapshot: {
    version: '7',
    listeners: [
      { name: 'virtualOutbound', address: '0.0.0.0', port: 15001, protocol: 'auto', direction: 'outbound', routeConfig: 'outbound', originalDst: { tcp: { '10.96.0.9:5432': 'outbound|5432||db.shop.svc.cluster.local' }, passthrough: true } },
      { name: 'virtualInbound', address: '0.0.0.0', port: 15006, protocol: 'auto', direction: 'inbound', routeConfig: 'inbound', originalDst: { passthrough: false } },
    ],
    routes: [],
    clusters: [{ name: 'outbound|5432||db.shop.svc.cluster.local', protocol: 'tcp', endpoints: [{ address: '10.244.0.9', port: 5432 }] }],
  },
};

test('proxy-config listeners shows what each listener does by original destination', () => {
  const out = renderProxyConfig(dump, 'listeners');
  assert.match(out, /virtualOutbound\s+0\.0\.0\.0\s+15001\s+auto\s+route: outbound; original destination: 1 tcp entry, passthrough/);
  assert.match(out, /virtualInbound\s+0\.0\.0\.0\s+15006\s+auto\s+route: inbound; original destination: 0 tcp entries, no passthrough/);
});
