import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable, type MatchInput } from './route-table.js';
import type { RouteConfig } from '../../meshconfig/types.js';

const rc: RouteConfig = {
  name: 'rc',
  virtualHosts: [
    { name: 'exact', domains: ['reviews', 'reviews:9080'], routes: [
      { name: 'v2', match: [{ headers: { 'x-user': { regex: 'ja.*n' } } }, { queryParams: { v: { exact: '2' } } }], route: [{ cluster: 'v2', weight: 1 }] },
      { name: 'no-debug', match: [{ headers: { 'x-debug': { present: false } }, method: { regex: 'GET|HEAD' } }], route: [{ cluster: 'v1', weight: 1 }] },
      { name: 'rest', route: [{ cluster: 'v3', weight: 1 }] },
    ] },
    { name: 'wild', domains: ['*.shop.svc.cluster.local'], routes: [{ name: 'w', route: [{ cluster: 'w', weight: 1 }] }] },
    { name: 'any', domains: ['*'], routes: [{ name: 'any', match: [{ path: { exact: '/x' } }], route: [{ cluster: 'any', weight: 1 }] }] },
  ],
};

const table = new RouteTable<string>(rc, (name) => name);
const m = (authority: string, path = '/', headers: Record<string, string> = {}, method = 'GET', query = ''): string | undefined =>
  table.match({ authority, path, query, method, headers } satisfies MatchInput, { matchIndex: 0 })?.name;

test('virtual hosts: exact with and without port, suffix wildcard, catch-all', () => {
  assert.equal(m('reviews'), 'no-debug');
  assert.equal(m('REVIEWS:9080'), 'no-debug');
  assert.equal(m('reviews:1234'), 'no-debug', 'host without the port also matches');
  assert.equal(m('ratings.shop.svc.cluster.local:9080'), 'w');
  assert.equal(m('elsewhere', '/x'), 'any');
  assert.equal(m('elsewhere', '/y'), undefined);
});

test('routes: first match wins; OR across matches, AND within; regex is anchored', () => {
  assert.equal(m('reviews', '/', { 'x-user': 'jason' }), 'v2');
  assert.equal(m('reviews', '/', { 'x-user': 'jason2' }), 'no-debug', 'regex must match the whole value');
  assert.equal(m('reviews', '/', {}, 'GET', 'v=2'), 'v2');
  assert.equal(m('reviews', '/', { 'x-debug': '1' }), 'rest');
  assert.equal(m('reviews', '/', {}, 'POST'), 'rest');
});

test('weighted destination choice follows the cumulative weights', () => {
  const t = new RouteTable<string>({ name: 'w', virtualHosts: [{ name: 'v', domains: ['*'], routes: [
    { name: 'split', route: [{ cluster: 'a', weight: 90 }, { cluster: 'b', weight: 10 }, { cluster: 'never', weight: 0 }] },
  ] }] }, (n) => n);
  const route = t.match({ authority: 'x', path: '/', query: '', method: 'GET', headers: {} }, { matchIndex: 0 });
  assert.ok(route);
  assert.equal(route.pickDestination(0), 'a');
  assert.equal(route.pickDestination(0.899), 'a');
  assert.equal(route.pickDestination(0.9), 'b');
  assert.equal(route.pickDestination(0.9999), 'b');
});

test('rewrite.uri and redirects keep the rest of a prefix matched case-insensitively (ignoreUriCase)', () => {
  const t = new RouteTable<string>(
    {
      name: 'ci',
      virtualHosts: [
        {
          name: 'api',
          domains: ['*'],
          routes: [
            { name: 'rw', match: [{ path: { prefix: '/api/', ignoreCase: true } }], rewrite: { uri: '/v2/' }, route: [{ cluster: 'c', weight: 1 }] },
            { name: 'moved', match: [{ path: { prefix: '/old/', ignoreCase: true } }], redirect: { uri: '/new/' } },
          ],
        },
      ],
    },
    (name) => name,
  );
  const out = { matchIndex: 0 };
  const rw = t.match({ authority: 'x', path: '/API/items/7', query: '', method: 'GET', headers: {} }, out)!;
  assert.equal(rw.name, 'rw');
  assert.equal(rw.rewritePath('/API/items/7', 'a=1', out.matchIndex), '/v2/items/7?a=1');
  const moved = t.match({ authority: 'x', path: '/OLD/page', query: '', method: 'GET', headers: {} }, out)!;
  assert.equal(moved.location('http', 'x', '/OLD/page', '', out.matchIndex), 'http://x/new/page');
});
