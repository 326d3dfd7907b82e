import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProxyConfigFile, parseProxyConfig } from './load-proxy-config-file.js';
import { validateSnapshot } from './validate-snapshot.js';
import { ConfigInvalid } from './errors.js';

const GOOD = `
node: { id: test, metadata: { workload: frontend, namespace: shop } }
admin: { port: 0 }
version: "7"
listeners:
  - { name: out, address: 127.0.0.1, port: 0, protocol: http, routeConfig: r }
  - { name: db, address: 127.0.0.1, port: 0, protocol: tcp, tcpCluster: pg }
routes:
  - name: r
    virtualHosts:
      - name: reviews
        domains: ["reviews", "reviews:9080"]
        routes:
          - name: canary
            match: [{ headers: { x-user: { exact: jason } } }]
            route: [{ cluster: reviews-v2 }]
          - name: split
            match: [{ path: { prefix: /api }, method: GET }]
            route: [{ cluster: reviews-v1, weight: 90 }, { cluster: reviews-v2, weight: 10 }]
            timeout: 2s
            retries: { attempts: 2, perTryTimeout: 500ms, retryOn: "5xx,connect-failure" }
          - name: teapot
            directResponse: { status: 418, body: "short and stout" }
clusters:
  - name: reviews-v1
    endpoints: [{ address: 127.0.0.1, port: 9001 }]
    lbPolicy: { simple: ROUND_ROBIN }
  - name: reviews-v2
    endpoints: [{ address: 127.0.0.1, port: 9002, weight: 2 }]
    outlierDetection: { consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 10s }
  - { name: pg, protocol: tcp, endpoints: [{ address: 127.0.0.1, port: 5432 }] }
`;

test('a complete config loads from a file with defaults filled in', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-cfg-'));
  try {
    const file = join(dir, 'proxy.yaml');
    writeFileSync(file, GOOD);
    const cfg = await loadProxyConfigFile(file);
    assert.equal(cfg.snapshot.version, '7');
    assert.equal(cfg.bootstrap.admin.port, 0);
    assert.equal(cfg.bootstrap.stats.port, 15090);
    assert.equal(cfg.snapshot.listeners[0]?.direction, 'outbound');
    assert.equal(cfg.snapshot.clusters[0]?.protocol, 'http');
    assert.deepEqual(cfg.snapshot.routes[0]?.virtualHosts[0]?.routes[0]?.route, [{ cluster: 'reviews-v2', weight: 1 }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every issue is reported with its exact path, and none of the config is returned', () => {
  const bad = GOOD.replace('cluster: reviews-v2 }]', 'cluster: nope }]')
    .replace('timeout: 2s', 'timeout: soon')
    .replace('prefix: /api', 'prefix: api')
    .replace('tcpCluster: pg', 'tcpCluster: pg, extra: 1')
    .replace('consecutive5xxErrors: 3', 'consecutive5xxErrors: -3');
  assert.throws(() => parseProxyConfig(bad, 'bad.yaml'), (err: unknown) => {
    assert.ok(ConfigInvalid.is(err));
    const issues = (err as unknown as { details: { issues: { path: string; message: string }[] } }).details.issues;
    const paths = issues.map((i) => i.path).sort();
    assert.deepEqual(paths, [
      'clusters[1].outlierDetection.consecutive5xxErrors',
      'listeners[1].extra',
      'routes[0].virtualHosts[0].routes[0].route[0].cluster',
      'routes[0].virtualHosts[0].routes[1].match[0].path',
      'routes[0].virtualHosts[0].routes[1].timeout',
    ]);
    assert.match((err as Error).message, /cluster "nope" is not defined in clusters/);
    return true;
  });
});

test('duplicate names, a bad regex and two actions are rejected', () => {
  const { snapshot, issues } = validateSnapshot({
    version: '1',
    listeners: [],
    routes: [{ name: 'r', virtualHosts: [{ name: 'v', domains: ['*'], routes: [
      { name: 'a', match: [{ path: { regex: '(' } }], directResponse: { status: 200 }, redirect: { uri: '/x' } },
    ] }] }],
    clusters: [{ name: 'c', endpoints: [] }, { name: 'c', endpoints: [] }],
  });
  assert.equal(snapshot, undefined);
  const text = issues.map((i) => `${i.path}: ${i.message}`).join('\n');
  assert.match(text, /clusters\[1\]: duplicate name "c"/);
  assert.match(text, /match\[0\]\.path\.regex: invalid regular expression/);
  assert.match(text, /routes\[0\]: a route takes exactly one action/);
});

test('YAML syntax errors say so', () => {
  assert.throws(() => parseProxyConfig('listeners: [', 'x.yaml'), /not valid YAML or JSON/);
});
