import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../api/types.js';
import type { Finding } from '../meshconfig/xds/status.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { analyzeObjects, analyzeRoute, overlay } from './api-analyze.js';
import { ApiServer } from './api-server.js';

const PATH = '/apis/meshbox.dev/v1/analyze';

function call(sock: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request({ socketPath: sock, method, path, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const service = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80 }] } });
const virtualService = (name: string, host: string, subset?: string): KubeObject => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name, namespace: 'default' },
  spec: { hosts: ['web'], http: [{ route: [{ destination: { host, ...(subset ? { subset } : {}) } }] }] },
});
const brief = (fs: Finding[]): string[] => fs.map((f) => `${f.code} ${f.object} ${f.field}`);

async function withServer(fn: (sock: string, store: SqliteStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-analyze-'));
  const store = new SqliteStore({ stateDir: dir });
  const server = new ApiServer({ store, routes: { [PATH]: analyzeRoute(store) } });
  const sock = join(dir, 'meshbox.sock');
  await server.listen(sock);
  try {
    await fn(sock, store);
  } finally {
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('POST analyze: the stored objects, then with items laid over them (same kind/namespace/name replaces)', () =>
  withServer(async (sock) => {
    assert.equal((await call(sock, 'POST', '/api/v1/namespaces/default/services', service('web'))).status, 201);
    assert.equal((await call(sock, 'POST', '/apis/networking.istio.io/v1/namespaces/default/virtualservices', virtualService('web', 'webb'))).status, 201);
    const stored = await call(sock, 'POST', PATH);
    assert.equal(stored.status, 200);
    assert.deepEqual(brief(stored.json.findings), ['MBX_ANALYZE_UNKNOWN_HOST VirtualService default/web spec.http[0].route[0].destination.host']);
    assert.equal(stored.json.findings[0].severity, 'Error');
    // the fixed VirtualService from the request replaces the stored one
    const fixed = await call(sock, 'POST', PATH, { items: [virtualService('web', 'web')] });
    assert.deepEqual(fixed.json.findings, []);
    // a new one (no namespace: default) is the newer of two for the host
    const second = await call(sock, 'POST', PATH, { items: [{ ...virtualService('web-2', 'web'), metadata: { name: 'web-2' } }] });
    assert.deepEqual(brief(second.json.findings), [
      'MBX_ANALYZE_UNKNOWN_HOST VirtualService default/web spec.http[0].route[0].destination.host',
      'MBX_ANALYZE_MULTIPLE_VIRTUALSERVICES VirtualService default/web-2 spec.hosts',
    ]);
  }));

test('POST analyze refuses invalid items (422 naming the field), bad JSON (400) and other methods (405)', () =>
  withServer(async (sock) => {
    const bad = await call(sock, 'POST', PATH, { items: [{ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'x' }, spec: { hosts: 'web' } }] });
    assert.equal(bad.status, 422);
    assert.match(bad.json.message, /items\[0\]\.spec\.hosts/);
    assert.equal((await call(sock, 'POST', PATH, { items: [42] })).status, 422);
    assert.equal((await call(sock, 'POST', PATH, { items: 'no' })).status, 400);
    assert.equal((await call(sock, 'GET', PATH)).status, 405);
  }));

test('apply returns the findings about the applied objects only, for a dry run too', () =>
  withServer(async (sock) => {
    await call(sock, 'POST', '/apis/networking.istio.io/v1/namespaces/default/destinationrules', {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'old', namespace: 'default' },
      spec: { host: 'nothere' },
    });
    for (const dryRun of [true, false]) {
      const r = await call(sock, 'POST', '/apis/meshbox.dev/v1/apply', { items: [service('web'), virtualService('web', 'web', 'v1')], dryRun });
      assert.equal(r.status, 200);
      // the stored DestinationRule's own finding is not about this apply
      assert.deepEqual(brief(r.json.analysis), ['MBX_ANALYZE_SUBSET_UNDEFINED VirtualService default/web spec.http[0].route[0].destination.subset'], `dryRun ${dryRun}`);
    }
    const clean = await call(sock, 'POST', '/apis/meshbox.dev/v1/apply', { items: [virtualService('web', 'web')] });
    assert.deepEqual(clean.json.analysis, []);
  }));

test('overlay keeps the replaced object creation time and makes new objects the newest', () => {
  const old = { ...virtualService('a', 'web'), metadata: { name: 'a', namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z' } };
  const merged = overlay([old], [virtualService('a', 'x'), virtualService('b', 'web')], '2026-05-05T00:00:00Z');
  assert.deepEqual(merged.map((o) => [o.metadata.name, o.metadata.creationTimestamp, (o.spec as any).http[0].route[0].destination.host]), [
    ['a', '2026-01-01T00:00:00Z', 'x'],
    ['b', '2026-05-05T00:00:00Z', 'web'],
  ]);
  // offline analysis: the files alone
  assert.deepEqual(brief(analyzeObjects([], [virtualService('a', 'web')])), ['MBX_ANALYZE_UNKNOWN_HOST VirtualService default/a spec.http[0].route[0].destination.host']);
});
