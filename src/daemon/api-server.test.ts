import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { PassThrough, Readable, Writable } from 'node:stream';
import type { KubeObject } from '../api/types.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { ApiServer, type ApiServerOptions } from './api-server.js';
import type { ExecIO, LogOptions, PodIO } from './api-types.js';
import { ApiClient } from '../cli/client.js';
import { encodeFrame, FrameDecoder, Channel } from './api-exec-stream.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

function call(sock: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = request(
      { socketPath: sock, method, path, agent: false, headers: { 'content-type': 'application/json', ...(payload ? { 'content-length': String(payload.length) } : {}), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode!, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function pod(name: string, labels?: Record<string, string>, extra: Partial<KubeObject> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(labels ? { labels } : {}) },
    spec: { containers: [{ name: 'app', image: 'host' }] },
    ...extra,
  };
}

class FakePodIO implements PodIO {
  calls: string[] = [];
  async logs(ns: string, name: string, opts: LogOptions): Promise<Readable> {
    this.calls.push(`logs ${ns}/${name} ${JSON.stringify(opts)}`);
    if (opts.follow) {
      const s = new PassThrough();
      s.write('line 1\n');
      setTimeout(() => s.end('line 2\n'), 50);
      return s;
    }
    return Readable.from(['a\n', 'b\n']);
  }
  async exec(ns: string, name: string, container: string | undefined, argv: string[], io: ExecIO): Promise<number> {
    this.calls.push(`exec ${ns}/${name} ${container} ${argv.join(' ')}`);
    if (argv[0] === 'fail') throw new Error('no such container');
    if (argv[0] === 'cat') {
      for await (const chunk of io.stdin!) io.stdout.write(chunk);
      io.stderr.write('done\n');
      return 0;
    }
    io.stdout.write(argv.join(' ') + '\n');
    return Number(argv[1] ?? 0);
  }
}

async function withServer(fn: (ctx: { sock: string; store: SqliteStore; server: ApiServer; io: FakePodIO; dir: string }) => Promise<void>, opts: Partial<ApiServerOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-api-'));
  const store = new SqliteStore({ stateDir: dir });
  const io = new FakePodIO();
  const server = new ApiServer({ store, podIO: io, ...opts });
  const sock = join(dir, 'meshbox.sock');
  await server.listen(sock);
  try {
    await fn({ sock, store, server, io, dir });
  } finally {
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('discovery documents and the socket mode', () =>
  withServer(async ({ sock }) => {
    assert.equal(statSync(sock).mode & 0o777, 0o600);
    assert.deepEqual((await call(sock, 'GET', '/api')).json.versions, ['v1']);
    const groups = (await call(sock, 'GET', '/apis')).json.groups.map((g: { name: string }) => g.name);
    assert.ok(groups.includes('apps') && groups.includes('networking.istio.io') && groups.includes('meshbox.dev'));
    const core = (await call(sock, 'GET', '/api/v1')).json;
    assert.ok(core.resources.some((r: { name: string; shortNames: string[] }) => r.name === 'pods' && r.shortNames.includes('po')));
    const istio = (await call(sock, 'GET', '/apis/networking.istio.io/v1alpha3')).json;
    assert.ok(istio.resources.some((r: { name: string }) => r.name === 'virtualservices'));
    assert.equal((await call(sock, 'GET', '/version')).json.major, '1');
    assert.equal((await call(sock, 'GET', '/api/v1/namespaces/default')).json.status.phase, 'Active');
  }));

test('create, get, list with selectors, update, patch, status, delete', () =>
  withServer(async ({ sock }) => {
    const created = await call(sock, 'POST', '/api/v1/namespaces/default/pods', pod('web', { app: 'web' }));
    assert.equal(created.status, 201);
    assert.ok(created.json.metadata.uid);
    assert.equal(created.json.metadata.namespace, 'default');
    await call(sock, 'POST', '/api/v1/namespaces/default/pods', pod('db', { app: 'db' }));
    const list = await call(sock, 'GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb');
    assert.equal(list.json.kind, 'PodList');
    assert.equal(list.json.apiVersion, 'v1');
    assert.ok(list.json.metadata.resourceVersion);
    assert.deepEqual(list.json.items.map((p: KubeObject) => p.metadata.name), ['web']);
    const all = await call(sock, 'GET', '/api/v1/pods?fieldSelector=metadata.name%3Ddb');
    assert.deepEqual(all.json.items.map((p: KubeObject) => p.metadata.name), ['db']);

    const got = (await call(sock, 'GET', '/api/v1/namespaces/default/pods/web')).json;
    const put = await call(sock, 'PUT', '/api/v1/namespaces/default/pods/web', { ...got, metadata: { ...got.metadata, labels: { app: 'web', v: '2' } } });
    assert.equal(put.status, 200);
    assert.equal(put.json.metadata.labels.v, '2');
    const stale = await call(sock, 'PUT', '/api/v1/namespaces/default/pods/web', got);
    assert.equal(stale.status, 409);
    assert.equal(stale.json.kind, 'Status');
    assert.equal(stale.json.reason, 'Conflict');
    assert.equal(stale.json.details.causes[0].reason, 'MBX_STORE_CONFLICT');

    const patched = await call(sock, 'PATCH', '/api/v1/namespaces/default/pods/web', { metadata: { labels: { v: null, extra: 'x' } } }, { 'content-type': 'application/merge-patch+json' });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.json.metadata.labels, { app: 'web', extra: 'x' });
    const st = await call(sock, 'PATCH', '/api/v1/namespaces/default/pods/web/status', { status: { phase: 'Running', podIP: '10.0.0.2' } }, { 'content-type': 'application/strategic-merge-patch+json' });
    assert.equal(st.json.status.phase, 'Running');
    const ignored = await call(sock, 'PUT', '/api/v1/namespaces/default/pods/web', { ...st.json, status: { phase: 'Failed' } });
    assert.equal(ignored.json.status.phase, 'Running', 'PUT on the object keeps status');

    const del = await call(sock, 'DELETE', '/api/v1/namespaces/default/pods/web');
    assert.equal(del.status, 200);
    const gone = await call(sock, 'GET', '/api/v1/namespaces/default/pods/web');
    assert.equal(gone.status, 404);
    assert.equal(gone.json.reason, 'NotFound');
    assert.equal(gone.json.details.causes[0].reason, 'MBX_STORE_NOT_FOUND');
    assert.equal((await call(sock, 'DELETE', '/api/v1/namespaces/default/pods/web')).status, 404);
  }));

test('bad requests get a Status, never a crash', () =>
  withServer(async ({ sock }) => {
    const bad = await call(sock, 'POST', '/api/v1/namespaces/default/pods', '{"kind": "Pod", ');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.reason, 'BadRequest');
    assert.match(bad.json.message, /not valid JSON/);
    const big = await call(sock, 'POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'x'.repeat(4 * 1024 * 1024) } });
    assert.equal(big.status, 413);
    assert.equal((await call(sock, 'GET', '/api/v1/widgets')).status, 404);
    assert.equal((await call(sock, 'GET', '/nope')).status, 404);
    assert.equal((await call(sock, 'PUT', '/api/v1/namespaces/default/pods')).status, 405);
    const jp = await call(sock, 'PATCH', '/api/v1/namespaces/default/pods/x', '[]', { 'content-type': 'application/json-patch+json' });
    assert.equal(jp.status, 415);
    const noNs = await call(sock, 'POST', '/api/v1/namespaces/nowhere/pods', pod('a'));
    assert.equal(noNs.status, 404);
    assert.equal(noNs.json.details.causes[0].reason, 'MBX_API_NAMESPACE_NOT_FOUND');
    const wrongKind = await call(sock, 'POST', '/api/v1/namespaces/default/services', pod('a'));
    assert.equal(wrongKind.status, 400);
    const wrongNs = await call(sock, 'POST', '/api/v1/namespaces/default/pods', { ...pod('a'), metadata: { name: 'a', namespace: 'other' } });
    assert.equal(wrongNs.status, 400);
    const dup1 = await call(sock, 'POST', '/api/v1/namespaces/default/pods', pod('a'));
    assert.equal(dup1.status, 201);
    const dup2 = await call(sock, 'POST', '/api/v1/namespaces/default/pods', pod('a'));
    assert.equal(dup2.status, 409);
    assert.equal(dup2.json.reason, 'AlreadyExists');
    const badSel = await call(sock, 'GET', '/api/v1/pods?labelSelector=a%20in%20b');
    assert.equal(badSel.status, 422);
    // the server is still fine
    assert.equal((await call(sock, 'GET', '/api/v1/namespaces/default/pods/a')).status, 200);
  }));

test('other API versions are accepted and stored at the storage version', () =>
  withServer(async ({ sock }) => {
    const vs = {
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: 'r' },
      spec: { hosts: ['reviews'] },
    };
    const r = await call(sock, 'POST', '/apis/networking.istio.io/v1beta1/namespaces/default/virtualservices', vs);
    assert.equal(r.status, 201);
    assert.equal(r.json.apiVersion, 'networking.istio.io/v1');
    const g = await call(sock, 'GET', '/apis/networking.istio.io/v1alpha3/namespaces/default/virtualservices/r');
    assert.equal(g.json.apiVersion, 'networking.istio.io/v1');
    const d = await call(sock, 'POST', '/apis/apps/v1/namespaces/default/deployments', { apiVersion: 'apps/v1beta1', kind: 'Deployment', metadata: { name: 'x' } });
    assert.equal(d.status, 400);
  }));

test('admit and validate hooks: defaults and 422 with every issue', () =>
  withServer(
    async ({ sock }) => {
      const ok = await call(sock, 'POST', '/api/v1/namespaces/default/pods', pod('a'));
      assert.equal(ok.json.spec.restartPolicy, 'Always');
      const bad = await call(sock, 'POST', '/api/v1/namespaces/default/pods', { ...pod('b'), spec: { containers: [{ name: 'x' }] } });
      assert.equal(bad.status, 422);
      assert.equal(bad.json.reason, 'Invalid');
      assert.match(bad.json.message, /spec.containers\[0\].image: Required value/);
      assert.match(bad.json.message, /metadata.labels: must be set/);
      assert.deepEqual(bad.json.details.causes.slice(1).map((c: { field: string }) => c.field), ['spec.containers[0].image', 'metadata.labels']);
      assert.equal((await call(sock, 'GET', '/api/v1/namespaces/default/pods/b')).status, 404);
    },
    {
      admit: (_r, obj) => ({ ...obj, spec: { restartPolicy: 'Always', ...(obj.spec as object) } }),
      validate: (obj) => {
        if (obj.kind !== 'Pod') return [];
        const issues = [];
        const c = (obj.spec as { containers: { image?: string }[] }).containers;
        c.forEach((x, i) => {
          if (!x.image) issues.push({ path: `spec.containers[${i}].image`, message: 'Required value' });
        });
        if (obj.metadata.name === 'b') issues.push({ path: 'metadata.labels', message: 'must be set' });
        return issues;
      },
    },
  ));

async function collectWatch(sock: string, path: string, n: number): Promise<{ type: string; object: KubeObject }[]> {
  const client = new ApiClient(sock);
  const out: { type: string; object: KubeObject }[] = [];
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 5000);
  for await (const e of client.watch(path, ac.signal)) {
    out.push(e);
    if (out.length >= n) break;
  }
  clearTimeout(timer);
  return out;
}

test('watch: current state as ADDED, then live events; replay from a resourceVersion', () =>
  withServer(async ({ sock }) => {
    const a = (await call(sock, 'POST', '/api/v1/namespaces/default/pods', pod('a', { app: 'x' }))).json;
    const events = collectWatch(sock, '/api/v1/namespaces/default/pods?watch=true&labelSelector=app%3Dx', 3);
    await new Promise((r) => setTimeout(r, 100));
    await call(sock, 'POST', '/api/v1/namespaces/default/pods', pod('b', { app: 'x' }));
    await call(sock, 'POST', '/api/v1/namespaces/default/pods', pod('c', { app: 'y' }));
    await call(sock, 'DELETE', '/api/v1/namespaces/default/pods/a');
    assert.deepEqual((await events).map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED a', 'ADDED b', 'DELETED a']);

    const replay = await collectWatch(sock, `/api/v1/pods?watch=true&resourceVersion=${a.metadata.resourceVersion}`, 3);
    assert.deepEqual(replay.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED b', 'ADDED c', 'DELETED a']);
    const one = await collectWatch(sock, `/api/v1/namespaces/default/pods/c?watch=true`, 1);
    assert.equal(one[0]!.object.metadata.name, 'c');
  }));

test('watch from a compacted resourceVersion answers 410', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-api-'));
  const store = new SqliteStore({ stateDir: dir, changeLogSize: 5 });
  const server = new ApiServer({ store });
  const sock = join(dir, 'meshbox.sock');
  try {
    await server.listen(sock);
    for (let i = 0; i < 20; i++) await call(sock, 'POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}` } });
    const r = await call(sock, 'GET', '/api/v1/configmaps?watch=true&resourceVersion=2');
    assert.equal(r.status, 410);
    assert.equal(r.json.reason, 'Expired');
  } finally {
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('apply: atomic create/configure/unchanged, dry run, all issues at once', () =>
  withServer(
    async ({ sock, store }) => {
      const items = [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop' }, data: { a: '1' } },
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
        pod('web'),
      ];
      const dry = await call(sock, 'POST', '/apis/meshbox.dev/v1/apply', { items, dryRun: true });
      assert.equal(dry.status, 200);
      assert.deepEqual(dry.json.items.map((i: { action: string }) => i.action), ['created', 'created', 'created']);
      assert.equal(store.get('namespaces', undefined, 'shop'), undefined, 'dry run writes nothing');
      const rv = store.currentResourceVersion();

      const first = await call(sock, 'POST', '/apis/meshbox.dev/v1/apply', { items });
      assert.deepEqual(first.json.items, [
        { resource: 'configmaps', kind: 'ConfigMap', namespace: 'shop', name: 'cfg', action: 'created' },
        { resource: 'namespaces', kind: 'Namespace', name: 'shop', action: 'created' },
        { resource: 'pods', kind: 'Pod', namespace: 'default', name: 'web', action: 'created' },
      ]);
      assert.ok(Number(store.currentResourceVersion()) > Number(rv));
      store.updateStatus('pods', { ...store.get('pods', 'default', 'web')!, status: { phase: 'Running' } });

      const again = await call(sock, 'POST', '/apis/meshbox.dev/v1/apply', { items });
      assert.deepEqual(again.json.items.map((i: { action: string }) => i.action), ['unchanged', 'unchanged', 'unchanged']);

      const changed = [{ ...items[0], data: { a: '2' } }, items[1], { ...pod('web', { v: '2' }) }];
      const third = await call(sock, 'POST', '/apis/meshbox.dev/v1/apply', { items: changed });
      assert.deepEqual(third.json.items.map((i: { action: string }) => i.action), ['configured', 'unchanged', 'configured']);
      assert.equal(store.get('configmaps', 'shop', 'cfg')!.data && (store.get('configmaps', 'shop', 'cfg')!.data as Record<string, string>).a, '2');
      assert.deepEqual(store.get('pods', 'default', 'web')!.status, { phase: 'Running' }, 'apply keeps status');

      const before = store.currentResourceVersion();
      const bad = await call(sock, 'POST', '/apis/meshbox.dev/v1/apply', {
        items: [
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'new' }, data: {} },
          { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'broken' }, spec: { containers: [{ name: 'x' }] } },
          { apiVersion: 'v9', kind: 'Gizmo', metadata: { name: 'g' } },
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'in-missing-ns', namespace: 'nope' } },
        ],
      });
      assert.equal(bad.status, 422);
      assert.match(bad.json.message, /spec.containers\[0\].image/);
      assert.match(bad.json.message, /Gizmo/);
      assert.equal(store.get('configmaps', 'default', 'new'), undefined);
      assert.equal(store.currentResourceVersion(), before);

      const missingNs = await call(sock, 'POST', '/apis/meshbox.dev/v1/apply', {
        items: [
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'new' }, data: {} },
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'nope' } },
        ],
      });
      assert.equal(missingNs.status, 404);
      assert.equal(store.get('configmaps', 'default', 'new'), undefined, 'all or nothing');
    },
    {
      validate: (obj) =>
        obj.kind === 'Pod' && !(obj.spec as { containers: { image?: string }[] }).containers[0]!.image
          ? [{ path: 'spec.containers[0].image', message: 'Required value' }]
          : [],
    },
  ));

test('deleting a namespace deletes its contents, waiting for finalizers', () =>
  withServer(async ({ sock, store }) => {
    await call(sock, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    await call(sock, 'POST', '/api/v1/namespaces/team/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } });
    await call(sock, 'POST', '/api/v1/namespaces/team/pods', { ...pod('p'), metadata: { name: 'p', finalizers: ['meshbox.dev/runtime'] } });
    await call(sock, 'POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } });
    const del = await call(sock, 'DELETE', '/api/v1/namespaces/team');
    assert.equal(del.status, 200);
    assert.equal(store.get('configmaps', 'team', 'c'), undefined);
    assert.ok(store.get('pods', 'team', 'p')?.metadata.deletionTimestamp);
    const ns = (await call(sock, 'GET', '/api/v1/namespaces/team')).json;
    assert.equal(ns.status.phase, 'Terminating');
    const blocked = await call(sock, 'POST', '/api/v1/namespaces/team/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late' } });
    assert.equal(blocked.status, 403);
    // the runtime finishes its teardown
    const p = store.get('pods', 'team', 'p')!;
    store.update('pods', { ...p, metadata: { ...p.metadata, finalizers: [] } });
    assert.equal((await call(sock, 'GET', '/api/v1/namespaces/team')).status, 404);
    assert.ok(store.get('configmaps', 'default', 'c'), 'other namespaces are untouched');
  }));

test('pod logs through PodIO', () =>
  withServer(async ({ sock, io }) => {
    await call(sock, 'POST', '/api/v1/namespaces/default/pods', pod('web'));
    const r = await call(sock, 'GET', '/api/v1/namespaces/default/pods/web/log?container=app&tailLines=5&previous=true');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'a\nb\n');
    assert.equal(io.calls[0], 'logs default/web {"follow":false,"container":"app","tailLines":5,"previous":true}');
    const f = await call(sock, 'GET', '/api/v1/namespaces/default/pods/web/log?follow=true');
    assert.equal(f.text, 'line 1\nline 2\n');
    assert.equal((await call(sock, 'GET', '/api/v1/namespaces/default/pods/none/log')).status, 404);
    assert.equal((await call(sock, 'GET', '/api/v1/namespaces/default/pods/web/log?tailLines=x')).status, 400);
  }));

test('exec over the upgrade stream: output, stdin, exit codes, errors', () =>
  withServer(async ({ sock, io }) => {
    await call(sock, 'POST', '/api/v1/namespaces/default/pods', pod('web'));
    const client = new ApiClient(sock);
    const sink = () => {
      const chunks: Buffer[] = [];
      const w = new Writable({ write(c: Buffer, _e, cb) { chunks.push(c); cb(); } });
      return { w, text: () => Buffer.concat(chunks).toString() };
    };
    let out = sink();
    let err = sink();
    const code = await client.exec('/api/v1/namespaces/default/pods/web/exec?container=app&command=exit&command=7', { stdout: out.w, stderr: err.w });
    assert.equal(code, 7);
    assert.equal(out.text(), 'exit 7\n');
    assert.equal(io.calls.at(-1), 'exec default/web app exit 7');

    out = sink();
    err = sink();
    const stdin = Readable.from([Buffer.from('hello '), Buffer.from('world')]);
    const code2 = await client.exec('/api/v1/namespaces/default/pods/web/exec?command=cat&stdin=true', { stdin, stdout: out.w, stderr: err.w });
    assert.equal(code2, 0);
    assert.equal(out.text(), 'hello world');
    assert.equal(err.text(), 'done\n');

    await assert.rejects(client.exec('/api/v1/namespaces/default/pods/web/exec?command=fail', { stdout: out.w, stderr: err.w }), /no such container/);
    await assert.rejects(client.exec('/api/v1/namespaces/default/pods/nope/exec?command=ls', { stdout: out.w, stderr: err.w }), { code: 'MBX_STORE_NOT_FOUND' });
    const plain = await call(sock, 'POST', '/api/v1/namespaces/default/pods/web/exec?command=ls');
    assert.equal(plain.status, 400);
  }));

test('exec frames: decoder handles split and joined frames', () => {
  const d = new FrameDecoder();
  const bytes = Buffer.concat([encodeFrame(Channel.stdout, 'abc'), encodeFrame(Channel.stderr, ''), encodeFrame(Channel.status, '{"exitCode":0}')]);
  const frames = [];
  for (let i = 0; i < bytes.length; i += 3) frames.push(...d.push(bytes.subarray(i, i + 3)));
  assert.deepEqual(frames.map((f) => [f.channel, f.payload.toString()]), [[1, 'abc'], [2, ''], [3, '{"exitCode":0}']]);
  const huge = Buffer.alloc(5);
  huge[0] = 1;
  huge.writeUInt32BE(2 ** 31, 1);
  assert.throws(() => new FrameDecoder().push(huge), /exceeds/);
});

test('listen removes a stale socket and refuses a live one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-api-'));
  const sock = join(dir, 'meshbox.sock');
  const store = new SqliteStore({ stateDir: dir });
  // a stale socket file: its listener is gone
  const stale = createServer();
  await new Promise<void>((r) => stale.listen(sock, r));
  const fd = (stale as unknown as { _handle: { close(): void } })._handle;
  fd.close(); // closes the fd but leaves the file, like a killed daemon
  const a = new ApiServer({ store });
  const b = new ApiServer({ store });
  try {
    await a.listen(sock);
    assert.equal((await call(sock, 'GET', '/version')).status, 200);
    await assert.rejects(b.listen(sock), { code: 'MBX_API_SOCKET_IN_USE' });
    writeFileSync(join(dir, 'file'), 'x');
    await assert.rejects(b.listen(join(dir, 'file')), { code: 'MBX_API_SOCKET_IN_USE' });
  } finally {
    await a.close();
    await b.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('random requests never crash the server (bounded fuzz)', () =>
  withServer(async ({ sock }) => {
    // a deterministic generator, so a failure can be replayed
    let seed = 42;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pick = <T>(xs: T[]): T => xs[rnd(xs.length)]!;
    const segs = ['api', 'apis', 'v1', 'namespaces', 'default', 'pods', 'x', 'status', 'log', 'exec', 'apps', 'deployments', '%ZZ', '..', 'meshbox.dev', 'apply', ''];
    const bodies = ['', '{', 'null', '[]', '"s"', '{"metadata":null}', '{"kind":"Pod","metadata":{"name":"x"}}', '{"items":[null,1,{"kind":"Pod"}]}', '{"metadata":{"name":"x","namespace":5}}', '\u0000\u00ff'];
    const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
    const types = ['application/json', 'application/merge-patch+json', 'text/plain', 'application/yaml'];
    const started = Date.now();
    for (let i = 0; i < 300 && Date.now() - started < 20_000; i++) {
      const path = '/' + Array.from({ length: 1 + rnd(6) }, () => pick(segs)).join('/') + pick(['', '?watch=false', '?labelSelector=%3D%3D', '?tailLines=-1', '?fieldSelector=a']);
      const r = await call(sock, pick(methods), path, pick(bodies), { 'content-type': pick(types) });
      assert.ok(r.status >= 200 && r.status < 600, `${path}: ${r.status}`);
      if (r.status >= 400) assert.equal(r.json?.kind, 'Status', `${path} answered ${r.status} without a Status: ${r.text}`);
      assert.ok(r.status !== 500, `${path} caused an internal error: ${r.text}`);
    }
    assert.equal((await call(sock, 'GET', '/version')).status, 200);
  }));

test('a namespace deletion interrupted by a restart finishes when the server starts again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-api-'));
  const sock = join(dir, 'meshbox.sock');
  try {
    let store = new SqliteStore({ stateDir: dir });
    let server = new ApiServer({ store });
    await server.listen(sock);
    await call(sock, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    await call(sock, 'POST', '/api/v1/namespaces/team/pods', { ...pod('p'), metadata: { name: 'p', finalizers: ['meshbox.dev/runtime'] } });
    assert.equal((await call(sock, 'DELETE', '/api/v1/namespaces/team')).status, 200);
    await server.close();
    // while the daemon is down, the runtime's finalizer completes
    const p = store.get('pods', 'team', 'p')!;
    store.update('pods', { ...p, metadata: { ...p.metadata, finalizers: [] } });
    assert.ok(store.get('namespaces', undefined, 'team'), 'nobody finished the namespace while the server was down');
    store.close();
    store = new SqliteStore({ stateDir: dir });
    server = new ApiServer({ store });
    await server.listen(sock);
    try {
      assert.equal(store.get('namespaces', undefined, 'team'), undefined);
      assert.equal((await call(sock, 'GET', '/api/v1/namespaces/team')).status, 404);
    } finally {
      await server.close();
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
