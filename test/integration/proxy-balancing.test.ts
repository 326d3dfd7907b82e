import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cluster, get, routes, snapshot, startProxy, startUpstream } from './proxy-harness.js';

test('a 90/10 weighted split lands within a few percent over 2,000 requests', async () => {
  const v1 = await startUpstream((_req, res) => res.end('v1'));
  const v2 = await startUpstream((_req, res) => res.end('v2'));
  const p = await startProxy(snapshot(
    routes([{ name: 'split', route: [{ cluster: 'v1', weight: 90 }, { cluster: 'v2', weight: 10 }] }]),
    [cluster('v1', [v1.port]), cluster('v2', [v2.port])],
  ));
  try {
    const counts = { v1: 0, v2: 0 } as Record<string, number>;
    for (let batch = 0; batch < 40; batch++) {
      const rs = await Promise.all(Array.from({ length: 50 }, () => get(p.port, '/')));
      for (const r of rs) counts[r.body] = (counts[r.body] ?? 0) + 1;
    }
    assert.equal((counts.v1 ?? 0) + (counts.v2 ?? 0), 2000);
    const share = (counts.v2 ?? 0) / 2000;
    assert.ok(share > 0.07 && share < 0.13, `v2 share ${share} should be about 0.10`);
  } finally {
    await p.close();
    await v1.close();
    await v2.close();
  }
});

test('consistent hash on a header sends one value to one endpoint', async () => {
  const ups = await Promise.all([0, 1, 2].map((i) => startUpstream((_req, res) => res.end(`e${i}`))));
  const p = await startProxy(snapshot(
    routes([{ name: 'r', route: [{ cluster: 'c', weight: 1 }] }]),
    [cluster('c', ups.map((u) => u.port), { lbPolicy: { consistentHash: { httpHeaderName: 'x-user', maglev: { tableSize: 65537 } } } })],
  ));
  try {
    const owners = new Map<string, Set<string>>();
    for (let round = 0; round < 5; round++) {
      for (let user = 0; user < 20; user++) {
        const r = await get(p.port, '/', { headers: { 'x-user': `user-${user}` } });
        const set = owners.get(`user-${user}`) ?? new Set();
        set.add(r.body);
        owners.set(`user-${user}`, set);
      }
    }
    for (const [user, set] of owners) assert.equal(set.size, 1, `${user} went to ${[...set].join(',')}`);
    const used = new Set([...owners.values()].map((s) => [...s][0]));
    assert.ok(used.size >= 2, 'different users spread over endpoints');
  } finally {
    await p.close();
    for (const u of ups) await u.close();
  }
});
