import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cluster, get, routes, snapshot, startProxy, startUpstream } from './proxy-harness.js';

test('routes by path, header, method and query; header ops, rewrite, redirect, direct response, NR', async () => {
  const seen: { path: string; headers: Record<string, unknown> }[] = [];
  const a = await startUpstream((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    res.setHeader('server', 'upstream-a');
    res.end('A');
  });
  const b = await startUpstream((_req, res) => res.end('B'));
  const p = await startProxy(
    snapshot(
      routes([
        { name: 'hdr', match: [{ headers: { 'x-user': { exact: 'jason' } } }], route: [{ cluster: 'b', weight: 1 }] },
        { name: 'q', match: [{ queryParams: { v: { exact: '2' } } }], route: [{ cluster: 'b', weight: 1 }] },
        { name: 'post', match: [{ method: { exact: 'POST' }, path: { prefix: '/api/' } }], route: [{ cluster: 'b', weight: 1 }] },
        {
          name: 'api',
          match: [{ path: { prefix: '/api/' } }],
          route: [{ cluster: 'a', weight: 1 }],
          rewrite: { uri: '/v1/', authority: 'internal' },
          headers: { request: { set: { 'x-set': 'yes' }, remove: ['x-drop'] }, response: { remove: ['server'], add: { 'x-added': 'r' } } },
        },
        { name: 're', match: [{ path: { regex: '/old/[0-9]+' } }], redirect: { uri: '/new', redirectCode: 308 } },
        { name: 'direct', match: [{ path: { exact: '/teapot' } }], directResponse: { status: 418, body: 'short and stout' } },
      ], ['svc', 'svc:80']),
      [cluster('a', [a.port]), cluster('b', [b.port])],
    ),
  );
  try {
    let r = await get(p.port, '/api/x?y=1', { headers: { host: 'svc', 'x-drop': '1' } });
    assert.equal(r.body, 'A');
    assert.equal(seen[0]?.path, '/v1/x?y=1');
    assert.equal(seen[0]?.headers.host, 'internal');
    assert.equal(seen[0]?.headers['x-set'], 'yes');
    assert.equal(seen[0]?.headers['x-drop'], undefined);
    assert.match(String(seen[0]?.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.match(String(seen[0]?.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.equal(r.headers.server, undefined);
    assert.equal(r.headers['x-added'], 'r');

    assert.equal((await get(p.port, '/api/x', { headers: { host: 'svc:80', 'x-user': 'jason' } })).body, 'B');
    assert.equal((await get(p.port, '/api/x?v=2', { headers: { host: 'svc' } })).body, 'B');
    assert.equal((await get(p.port, '/api/x', { method: 'POST', headers: { host: 'svc' }, body: 'x' })).body, 'B');

    r = await get(p.port, '/old/12?k=v', { headers: { host: 'svc' } });
    assert.equal(r.status, 308);
    assert.equal(r.headers.location, 'http://svc/new?k=v');

    r = await get(p.port, '/teapot', { headers: { host: 'svc' } });
    assert.equal(r.status, 418);
    assert.equal(r.body, 'short and stout');

    r = await get(p.port, '/nothing', { headers: { host: 'svc' } });
    assert.equal(r.status, 404);
    assert.match(String(r.headers['x-meshbox-error']), /^NR no route for svc\/nothing \(proxy test-proxy\)/);
    r = await get(p.port, '/api/x', { headers: { host: 'other' } });
    assert.equal(r.status, 404);
    assert.match(String(r.headers['x-meshbox-error']), /^NR /);
  } finally {
    await p.close();
    await a.close();
    await b.close();
  }
});

test('trace context keeps the trace id and makes a new span id per hop; b3 too', async () => {
  let got: Record<string, unknown> = {};
  const a = await startUpstream((req, res) => {
    got = req.headers;
    res.end();
  });
  const p = await startProxy(snapshot(routes([{ name: 'all', route: [{ cluster: 'a', weight: 1 }] }]), [cluster('a', [a.port])]));
  try {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await get(p.port, '/', { headers: { traceparent: tp, 'x-request-id': 'rid-1', 'x-b3-traceid': '463ac35c9f6413ad', 'x-b3-spanid': 'a2fb4a1d1a96d312' } });
    const out = String(got.traceparent);
    assert.ok(out.startsWith('00-0af7651916cd43dd8448eb211c80319c-'));
    assert.notEqual(out.split('-')[2], 'b7ad6b7169203331');
    assert.equal(got['x-request-id'], 'rid-1');
    assert.equal(got['x-b3-parentspanid'], 'a2fb4a1d1a96d312');
    assert.equal(got['x-b3-spanid'], out.split('-')[2]);
  } finally {
    await p.close();
    await a.close();
  }
});
