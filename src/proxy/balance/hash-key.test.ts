import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileHashKey, cookieToGenerate, cookieValue, hashKeyFor, type HashRequestView } from './hash-key.js';
import { createBalancer } from './create-balancer.js';
import { EndpointState } from './endpoint-state.js';

function req(headers: Record<string, string>, ip = '10.1.2.3', query: Record<string, string> = {}): HashRequestView {
  return { header: (n) => headers[n], sourceIp: () => ip, query: (n) => query[n] };
}

describe('hashKeyFor', () => {
  it('reads the header (case-insensitively), cookie, source IP or query parameter', () => {
    assert.equal(hashKeyFor({ consistentHash: { httpHeaderName: 'X-User' } }, req({ 'x-user': 'alice' })), 'alice');
    assert.equal(hashKeyFor({ consistentHash: { httpCookie: { name: 'sid' } } }, req({ cookie: 'a=1; sid="s-42"; b=2' })), 's-42');
    assert.equal(hashKeyFor({ consistentHash: { useSourceIp: true } }, req({})), '10.1.2.3');
    assert.equal(hashKeyFor({ consistentHash: { httpQueryParameterName: 'u' } }, req({}, '', { u: 'bob' })), 'bob');
    assert.equal(hashKeyFor({ consistentHash: { httpHeaderName: 'x-user' } }, req({})), undefined);
    assert.equal(hashKeyFor({ simple: 'RANDOM' }, req({})), undefined);
    assert.equal(compileHashKey(undefined), undefined);
  });

  it('cookie parsing handles edge cases', () => {
    assert.equal(cookieValue('sid=1', 'sid'), '1');
    assert.equal(cookieValue('xsid=1; sid=2', 'sid'), '2');
    assert.equal(cookieValue('sid', 'sid'), undefined);
    assert.equal(cookieValue(undefined, 'sid'), undefined);
    assert.equal(cookieToGenerate({ consistentHash: { httpCookie: { name: 'sid', ttl: '60s', path: '/' } } }, 'k1', 60), 'sid="k1"; Path=/; Max-Age=60; HttpOnly');
    assert.equal(cookieToGenerate({ consistentHash: { httpCookie: { name: 'sid' } } }, 'k1', 60), undefined);
  });

  it('a header value always reaches the same endpoint through createBalancer', () => {
    const settings = { consistentHash: { httpHeaderName: 'x-user' } };
    const eps = [1, 2, 3].map((i) => new EndpointState({ address: `10.7.0.${i}`, port: 80 }));
    const lb = createBalancer(settings, eps);
    assert.equal(lb.kind, 'ring-hash');
    const key = compileHashKey(settings)!;
    const first = lb.pick({ hashKey: key(req({ 'x-user': 'carol' })) });
    for (let i = 0; i < 100; i++) assert.equal(lb.pick({ hashKey: key(req({ 'x-user': 'carol' })) }), first);
  });

  it('createBalancer maps Istio settings to strategies', () => {
    const eps = [new EndpointState({ address: '10.7.0.1', port: 80 })];
    assert.equal(createBalancer(undefined, eps).kind, 'least-request');
    assert.equal(createBalancer({ simple: 'LEAST_CONN' }, eps).kind, 'least-request');
    assert.equal(createBalancer({ simple: 'ROUND_ROBIN' }, eps).kind, 'round-robin');
    assert.equal(createBalancer({ simple: 'PASSTHROUGH' }, eps).kind, 'round-robin');
    assert.equal(createBalancer({ simple: 'RANDOM' }, eps).kind, 'random');
    assert.equal(createBalancer({ consistentHash: { useSourceIp: true, maglev: {} } }, eps).kind, 'maglev');
  });

  it('EndpointState normalises weight and key', () => {
    assert.equal(new EndpointState({ address: 'fd00::1', port: 80 }).key, '[fd00::1]:80');
    assert.equal(new EndpointState({ address: '10.0.0.1', port: 80, weight: -3 }).weight, 0);
    const ep = new EndpointState({ address: '10.0.0.1', port: 80 });
    ep.eject(5, 100, 'consecutive_5xx');
    assert.equal((ep.toJSON() as { health: string }).health, 'ejected');
  });
});
