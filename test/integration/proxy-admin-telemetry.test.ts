import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cluster, get, routes, snapshot, startProxy, startUpstream, sleep, testBootstrap } from './proxy-harness.js';

test('Istio metrics, JSON access log, admin pages and health', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-proxy-log-'));
  const up = await startUpstream((_req, res) => res.end('hello'));
  const boot = testBootstrap({ accessLog: join(dir, 'access.log') });
  const snap = snapshot(routes([{ name: 'r', match: [{ path: { prefix: '/ok' } }], route: [{ cluster: 'reviews-v1', weight: 1 }] }]), [
    cluster('reviews-v1', [up.port], { destination: { service: 'reviews.shop.svc.cluster.local', serviceName: 'reviews', serviceNamespace: 'shop', workload: 'reviews-v1', workloadNamespace: 'shop', app: 'reviews', version: 'v1' } }),
  ], 'v7');
  const p = await startProxy(snap, boot);
  const admin = `http://127.0.0.1:${p.ports.admin}`;
  try {
    for (let i = 0; i < 3; i++) assert.equal((await get(p.port, '/ok')).status, 200);
    assert.equal((await get(p.port, '/missing')).status, 404);

    const prom = await (await fetch(`http://127.0.0.1:${p.ports.stats}/stats/prometheus`)).text();
    const ok = /istio_requests_total\{([^}]*)\} (\d+)/.exec(prom.split('\n').find((l) => l.startsWith('istio_requests_total{') && l.includes('response_code="200"')) ?? '');
    assert.ok(ok, 'a 200 series exists');
    assert.equal(ok[2], '3');
    for (const label of [
      'reporter="source"', 'source_workload="client"', 'source_workload_namespace="testns"', 'destination_workload="reviews-v1"',
      'destination_service="reviews.shop.svc.cluster.local"', 'destination_service_name="reviews"', 'destination_service_namespace="shop"',
      'request_protocol="http"', 'response_flags="-"', 'connection_security_policy="unknown"',
    ]) assert.ok(ok[1]?.includes(label), `label ${label}`);
    assert.match(prom, /istio_requests_total\{[^}]*response_code="404"[^}]*response_flags="NR"\} 1/);
    assert.match(prom, /istio_request_duration_milliseconds_bucket\{[^}]*response_code="200"[^}]*le="\+Inf"\} 3/);
    assert.match(prom, /istio_response_bytes_sum\{[^}]*response_code="200"[^}]*\} 15/);
    assert.match(prom, /# TYPE istio_request_bytes histogram/);

    const dump = (await (await fetch(`${admin}/config_dump`)).json()) as { version: string; snapshot: { clusters: { name: string }[] } };
    assert.equal(dump.version, 'v7');
    assert.equal(dump.snapshot.clusters[0]?.name, 'reviews-v1');
    const clusters = (await (await fetch(`${admin}/clusters`)).json()) as { clusters: { endpoints: { rq_total: number; health: string }[] }[] };
    assert.equal(clusters.clusters[0]?.endpoints[0]?.rq_total, 3);
    assert.equal(clusters.clusters[0]?.endpoints[0]?.health, 'healthy');
    assert.match(await (await fetch(`${admin}/stats`)).text(), /cluster\.reviews-v1\.upstream_rq_total: 3/);
    assert.equal((await fetch(`${admin}/ready`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${p.ports.health}/healthz/ready`)).status, 200);

    await sleep(50);
    const lines = readFileSync(join(dir, 'access.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 4);
    assert.equal(lines[0]?.response_code, 200);
    assert.equal(lines[0]?.upstream_cluster, 'reviews-v1');
    assert.equal(lines[0]?.route_name, 'vh/r');
    assert.match(String(lines[0]?.x_request_id), /^[0-9a-f-]{36}$/);
    assert.equal(lines[3]?.response_flags, 'NR');
    assert.match(String(lines[3]?.response_code_details), /no route for/);

    // /drain_listeners: not ready any more, new connections refused.
    assert.equal((await fetch(`${admin}/drain_listeners`, { method: 'POST' })).status, 200);
    await sleep(100);
    assert.equal((await fetch(`http://127.0.0.1:${p.ports.health}/healthz/ready`)).status, 503);
  } finally {
    await p.close();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('drain lets an in-flight request finish, then stops', async () => {
  const up = await startUpstream((_req, res) => setTimeout(() => res.end('slow but fine'), 300));
  const p = await startProxy(snapshot(routes([{ name: 'r', route: [{ cluster: 'c', weight: 1 }] }]), [cluster('c', [up.port])]));
  try {
    const inflight = get(p.port, '/');
    await sleep(50);
    const t0 = Date.now();
    const drained = await p.proxy.drain(2000);
    assert.equal(drained, true);
    assert.ok(Date.now() - t0 < 1500);
    const r = await inflight;
    assert.equal(r.status, 200);
    assert.equal(r.body, 'slow but fine');
    await assert.rejects(get(p.port, '/'), 'no new connections after drain');
  } finally {
    await p.close();
    await up.close();
  }
});

test('SIGTERM drains the standalone proxy and exits 0', async () => {
  const { spawn } = await import('node:child_process');
  const { writeFileSync } = await import('node:fs');
  const { stringify } = await import('yaml');
  const dir = mkdtempSync(join(tmpdir(), 'mbx-proxy-sig-'));
  const up = await startUpstream((_req, res) => setTimeout(() => res.end('done'), 400));
  const boot = testBootstrap();
  const snap = snapshot(routes([{ name: 'r', route: [{ cluster: 'c', weight: 1 }] }]), [cluster('c', [up.port])]);
  snap.listeners[0]!.port = 0;
  const file = join(dir, 'proxy.yaml');
  writeFileSync(file, stringify({ node: boot.node, admin: boot.admin, stats: boot.stats, health: boot.health, accessLog: 'off', drainTimeout: '3s', ...snap }));
  const script = join(dir, 'run.mjs');
  const mainUrl = new URL('../../src/proxy/main.js', import.meta.url).href;
  writeFileSync(script, `import { runProxyFromFile } from ${JSON.stringify(mainUrl)};
const r = await runProxyFromFile(${JSON.stringify(file)});
console.log(JSON.stringify(r.proxy.addresses()));`);
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 200 && !out.includes('}'); i++) await sleep(25);
    const ports = JSON.parse(out.split('\n')[0] ?? '{}') as Record<string, number>;
    const inflight = get(ports.in as number, '/');
    await sleep(100);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    const r = await inflight;
    assert.equal(r.body, 'done', 'the in-flight request finished');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
