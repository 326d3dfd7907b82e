import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { silentLogger } from '../../src/core/logger.js';
import { runProxyFromFile } from '../../src/proxy/main.js';
import { cluster, get, routes, snapshot, startProxy, startUpstream, sleep, testBootstrap } from './proxy-harness.js';

test('config swaps under load fail zero requests; a bad snapshot is NACKed and the old one serves', async () => {
  const a = await startUpstream((_req, res) => setTimeout(() => res.end('A'), 2));
  const b = await startUpstream((_req, res) => setTimeout(() => res.end('B'), 2));
  const snapA = snapshot(routes([{ name: 'r', route: [{ cluster: 'a', weight: 1 }] }]), [cluster('a', [a.port]), cluster('b', [b.port])], 'v-a');
  const snapB = snapshot(routes([{ name: 'r', route: [{ cluster: 'b', weight: 1 }] }]), [cluster('a', [a.port]), cluster('b', [b.port])], 'v-b');
  const p = await startProxy(snapA);
  try {
    let stop = false;
    const seen = { A: 0, B: 0, failed: 0 } as Record<string, number>;
    const deadline = Date.now() + 10_000;
    const worker = async (): Promise<void> => {
      for (let i = 0; i < 400 && !stop && Date.now() < deadline; i++) {
        try {
          const r = await get(p.port, '/');
          if (r.status !== 200) seen.failed = (seen.failed ?? 0) + 1;
          else seen[r.body] = (seen[r.body] ?? 0) + 1;
        } catch {
          seen.failed = (seen.failed ?? 0) + 1;
        }
      }
    };
    const load = Promise.all(Array.from({ length: 10 }, worker));
    for (let i = 0; i < 10; i++) {
      await sleep(30);
      const r = await p.proxy.update(i % 2 === 0 ? snapB : snapA);
      assert.equal(r.accepted, true);
    }
    const bad = await p.proxy.update({ ...snapA, version: 'v-bad', clusters: [] });
    assert.equal(bad.accepted, false);
    assert.equal(bad.version, 'v-a');
    assert.match(bad.error?.message ?? '', /cluster "a" is not defined/);
    stop = true;
    await load;
    assert.equal(seen.failed, 0);
    assert.ok((seen.A ?? 0) > 0 && (seen.B ?? 0) > 0, `both configs served: ${JSON.stringify(seen)}`);
    assert.equal((await get(p.port, '/')).body, 'A', 'still on the last good config');
  } finally {
    await p.close();
    await a.close();
    await b.close();
  }
});

test('runProxyFromFile reloads a changed file and keeps serving after a broken one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-proxy-'));
  const a = await startUpstream((_req, res) => res.end('A'));
  const b = await startUpstream((_req, res) => res.end('B'));
  const file = join(dir, 'proxy.yaml');
  const write = (clusterName: string, version: string): void => {
    const snap = snapshot(routes([{ name: 'r', route: [{ cluster: clusterName, weight: 1 }] }]), [cluster('a', [a.port]), cluster('b', [b.port])], version);
    const boot = testBootstrap();
    writeFileSync(file, stringify({ node: boot.node, admin: boot.admin, stats: boot.stats, health: boot.health, accessLog: 'off', ...snap }));
  };
  write('a', '1');
  const running = await runProxyFromFile(file, { logger: silentLogger, handleSignals: false, exit: () => {}, reloadDebounceMs: 20 });
  try {
    const port = running.proxy.addresses().in as number;
    assert.equal((await get(port, '/')).body, 'A');
    write('b', '2');
    for (let i = 0; i < 100 && running.proxy.version !== '2'; i++) await sleep(20);
    assert.equal(running.proxy.version, '2');
    assert.equal((await get(port, '/')).body, 'B');
    writeFileSync(file, 'listeners: [ {name: broken');
    const r = await running.reload();
    assert.equal(r.accepted, false);
    assert.equal((await get(port, '/')).body, 'B');
  } finally {
    await running.close();
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
