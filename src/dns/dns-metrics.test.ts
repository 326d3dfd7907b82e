import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ClusterRecords } from './cluster-records.js';
import { DnsServer } from './dns-server.js';
import { registerDnsMetrics } from './dns-metrics.js';
import { makeQuery, udpExchange } from './dns-test-kit.js';

test('metrics report the server counters at scrape time', async () => {
  const records = new ClusterRecords();
  records.upsertService({ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10' } });
  const server = new DnsServer({ records, host: '127.0.0.1', port: 0 });
  await server.start();
  try {
    const registry = new Registry();
    registerDnsMetrics(registry, server);
    const port = server.address().port;
    await udpExchange('127.0.0.1', port, makeQuery('web.default.svc.cluster.local', 'A'));
    await udpExchange('127.0.0.1', port, makeQuery('nope.default.svc.cluster.local', 'A'));
    const text = await registry.metrics();
    assert.match(text, /^meshbox_dns_queries_total 2$/m);
    assert.match(text, /^meshbox_dns_nxdomain_total 1$/m);
    assert.match(text, /^meshbox_dns_cache_entries 0$/m);
    await udpExchange('127.0.0.1', port, makeQuery('web.default.svc.cluster.local', 'A'));
    assert.match(await registry.metrics(), /^meshbox_dns_queries_total 3$/m, 'no double counting across scrapes');
  } finally {
    await server.stop();
  }
});
