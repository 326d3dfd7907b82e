import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cluster, get, routes, snapshot, startProxy, startUpstream, sleep } from './proxy-harness.js';

test('a 503 is retried on another endpoint for GET but not for POST', async () => {
  const bad = await startUpstream((_req, res) => {
    res.statusCode = 503;
    res.end('bad');
  });
  const good = await startUpstream((_req, res) => res.end('good'));
  const p = await startProxy(snapshot(
    routes([{ name: 'r', route: [{ cluster: 'c', weight: 1 }], retries: { attempts: 2, retryOn: '5xx' } }]),
    [cluster('c', [bad.port, good.port], { lbPolicy: { simple: 'ROUND_ROBIN' } })],
  ));
  try {
    for (let i = 0; i < 10; i++) {
      const r = await get(p.port, '/');
      assert.equal(r.status, 200, 'GET must be retried onto the good endpoint');
      assert.equal(r.body, 'good');
    }
    assert.ok(bad.hits >= 4, `the bad endpoint was tried (${bad.hits})`);
    const before = bad.hits + good.hits;
    let failures = 0;
    for (let i = 0; i < 10; i++) {
      const r = await get(p.port, '/', { method: 'POST', body: 'pay' });
      if (r.status === 503) failures++;
    }
    assert.equal(bad.hits + good.hits - before, 10, 'every POST went upstream exactly once');
    assert.ok(failures >= 4, `POSTs that hit the bad endpoint were not retried (${failures})`);
  } finally {
    await p.close();
    await bad.close();
    await good.close();
  }
});

test('URX when every try fails, naming route and cluster', async () => {
  const bad = await startUpstream((_req, res) => {
    res.statusCode = 503;
    res.end();
  });
  const p = await startProxy(snapshot(
    routes([{ name: 'r', route: [{ cluster: 'c', weight: 1 }], retries: { attempts: 2, retryOn: 'gateway-error' } }]),
    [cluster('c', [bad.port])],
  ));
  try {
    const r = await get(p.port, '/');
    assert.equal(r.status, 503);
    assert.match(String(r.headers['x-meshbox-error']), /^URX retry limit exceeded after 3 attempts \(proxy test-proxy, route vh\/r, cluster c, upstream 127\.0\.0\.1:\d+\)/);
    assert.equal(bad.hits, 3);
  } finally {
    await p.close();
    await bad.close();
  }
});

test('connect failure gives UF; an empty cluster gives UH', async () => {
  const dead = await startUpstream();
  const deadPort = dead.port;
  await dead.close();
  const p = await startProxy(snapshot(
    routes([
      { name: 'dead', match: [{ path: { prefix: '/dead' } }], route: [{ cluster: 'dead', weight: 1 }], retries: { attempts: 0 } },
      { name: 'empty', route: [{ cluster: 'empty', weight: 1 }] },
    ]),
    [cluster('dead', [deadPort]), cluster('empty', [])],
  ));
  try {
    let r = await get(p.port, '/dead');
    assert.equal(r.status, 503);
    assert.match(String(r.headers['x-meshbox-error']), /^UF cannot connect to upstream .*cluster dead, upstream 127\.0\.0\.1:/);
    r = await get(p.port, '/x');
    assert.equal(r.status, 503);
    assert.match(String(r.headers['x-meshbox-error']), /^UH no healthy upstream .*cluster empty.*no endpoints/);
  } finally {
    await p.close();
  }
});

test('outlier detection ejects a 5xx endpoint and returns it after the ejection time', async () => {
  let failing = true;
  const flaky = await startUpstream((_req, res) => {
    res.statusCode = failing ? 500 : 200;
    res.end('flaky');
  });
  const good = await startUpstream((_req, res) => res.end('good'));
  const p = await startProxy(snapshot(
    routes([{ name: 'r', route: [{ cluster: 'c', weight: 1 }], retries: { attempts: 0 } }]),
    [cluster('c', [flaky.port, good.port], {
      lbPolicy: { simple: 'ROUND_ROBIN' },
      outlierDetection: { consecutive5xxErrors: 3, interval: '50ms', baseEjectionTime: '1s', maxEjectionPercent: 50 },
    })],
  ));
  try {
    for (let i = 0; i < 10 && flaky.hits < 3; i++) await get(p.port, '/');
    assert.equal(flaky.hits, 3);
    const hitsAtEjection = flaky.hits;
    for (let i = 0; i < 20; i++) assert.equal((await get(p.port, '/')).status, 200);
    assert.equal(flaky.hits, hitsAtEjection, 'no traffic to the ejected endpoint');
    const clusters = (await (await fetch(`http://127.0.0.1:${p.ports.admin}/clusters`)).json()) as { clusters: { endpoints: { health: string }[] }[] };
    assert.deepEqual(clusters.clusters[0]?.endpoints.map((e) => e.health).sort(), ['ejected', 'healthy']);
    failing = false;
    await sleep(1100);
    for (let i = 0; i < 10; i++) await get(p.port, '/');
    assert.ok(flaky.hits > hitsAtEjection, 'the endpoint got traffic again after the ejection time');
  } finally {
    await p.close();
    await flaky.close();
    await good.close();
  }
});

test('circuit breaker answers 503 UO once the pending limit is reached', async () => {
  const release: (() => void)[] = [];
  const slow = await startUpstream((_req, res) => {
    release.push(() => res.end('slow'));
  });
  const p = await startProxy(snapshot(
    routes([{ name: 'r', route: [{ cluster: 'c', weight: 1 }] }]),
    [cluster('c', [slow.port], { connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1 } } })],
  ));
  try {
    const first = get(p.port, '/');
    const second = get(p.port, '/');
    await sleep(100);
    const third = await get(p.port, '/');
    assert.equal(third.status, 503);
    assert.match(String(third.headers['x-meshbox-error']), /^UO circuit breaker open .*cluster c.*http1MaxPendingRequests=1/);
    while (release.length < 1) await sleep(10);
    release.shift()?.();
    assert.equal((await first).status, 200);
    while (release.length < 1) await sleep(10);
    release.shift()?.();
    assert.equal((await second).status, 200);
  } finally {
    for (const r of release) r();
    await p.close();
    await slow.close();
  }
});

test('per-try timeout and route timeout give 504 UT', async () => {
  const slow = await startUpstream((_req, res) => {
    setTimeout(() => res.end('late'), 600).unref();
  });
  const p = await startProxy(snapshot(
    routes([
      { name: 'pertry', match: [{ path: { prefix: '/pertry' } }], route: [{ cluster: 'c', weight: 1 }], retries: { attempts: 1, perTryTimeout: '100ms', retryOn: '5xx' } },
      { name: 'route', route: [{ cluster: 'c', weight: 1 }], timeout: '150ms' },
    ]),
    [cluster('c', [slow.port])],
  ));
  try {
    let t0 = Date.now();
    let r = await get(p.port, '/pertry');
    assert.equal(r.status, 504);
    assert.match(String(r.headers['x-meshbox-error']), /^UT per-try timeout of 100ms exceeded .*route vh\/pertry/);
    assert.equal(slow.hits, 2, 'one retry after the first per-try timeout');
    assert.ok(Date.now() - t0 < 550);
    t0 = Date.now();
    r = await get(p.port, '/x');
    assert.equal(r.status, 504);
    assert.match(String(r.headers['x-meshbox-error']), /^UT route timeout of 150ms exceeded/);
    assert.ok(Date.now() - t0 < 500);
  } finally {
    await p.close();
    await slow.close();
  }
});

test('fault injection aborts (FI) and delays', async () => {
  const a = await startUpstream();
  const p = await startProxy(snapshot(
    routes([
      { name: 'abort', match: [{ path: { exact: '/abort' } }], route: [{ cluster: 'c', weight: 1 }], fault: { abort: { httpStatus: 418, percentage: { value: 100 } } } },
      { name: 'delay', route: [{ cluster: 'c', weight: 1 }], fault: { delay: { fixedDelay: '200ms', percentage: { value: 100 } } } },
    ]),
    [cluster('c', [a.port])],
  ));
  try {
    const r = await get(p.port, '/abort');
    assert.equal(r.status, 418);
    assert.match(String(r.headers['x-meshbox-error']), /^FI fault injection aborted/);
    assert.equal(a.hits, 0);
    const t0 = Date.now();
    assert.equal((await get(p.port, '/')).status, 200);
    assert.ok(Date.now() - t0 >= 190);
  } finally {
    await p.close();
    await a.close();
  }
});

test('a retry after a config swap goes to the cluster’s current endpoints, not to one the swap removed', async () => {
  // the old endpoint answers 503 slowly; while it does, the config moves the cluster to another one
  const old = await startUpstream((_req, res) => {
    setTimeout(() => {
      res.statusCode = 503;
      res.end('old');
    }, 300);
  });
  const fresh = await startUpstream((_req, res) => res.end('fresh'));
  const rc = routes([{ name: 'r', route: [{ cluster: 'c', weight: 1 }], retries: { attempts: 2, retryOn: '5xx' } }]);
  const p = await startProxy(snapshot(rc, [cluster('c', [old.port])], '1'));
  try {
    const pending = get(p.port, '/');
    await sleep(100);
    const swapped = await p.proxy.update(snapshot(rc, [cluster('c', [fresh.port])], '2'));
    assert.equal(swapped.accepted, true);
    const r = await pending;
    assert.equal(r.status, 200, `the retry found the new endpoint: ${r.status} ${r.headers['x-meshbox-error'] ?? ''}`);
    assert.equal(r.body, 'fresh');
    assert.equal(old.hits, 1, 'the removed endpoint was not tried again');
  } finally {
    await p.close();
    await old.close();
    await fresh.close();
  }
});
