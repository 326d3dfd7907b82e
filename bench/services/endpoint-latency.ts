/**
 * How long an Endpoints change takes to reach the kernel's service rules, against the baseline of
 * one raw iptables-restore of the same rule set (the floor any iptables-based proxy pays), same run.
 *
 *   npm run build && node dist/bench/services/endpoint-latency.js
 *        [--iterations 30] [--services 50] [--endpoints 3] [--coalesce-ms 20]
 *
 * Needs root. Installs real rules under a private prefix for a bridge name that does not exist
 * (the VIPs are in 10.206.255.0/24 and route nowhere), and removes them at the end. Per iteration it
 * adds or removes one endpoint address in the Endpoints object in the store, then measures
 *   - store write → ServiceProxy sync finished (the restore returned: the rules are live);
 *   - store write → the change visible in `iptables-save -t nat` (polled; includes iptables-save's own cost).
 * The baseline runs `iptables-restore --noflush` with the exact nat+filter text of that rule set.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/types.js';
import { run } from '../../src/core/exec.js';
import { randomHex } from '../../src/core/ids.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { ServiceProxy, type SyncInfo } from '../../src/controllers/services/service-proxy.js';
import { ServiceChains } from '../../src/netfilter/service-chains.js';
import { arg } from '../numbers.js';

const ITERATIONS = arg('iterations', 30);
const SERVICES = arg('services', 50);
const ENDPOINTS = arg('endpoints', 3);
const COALESCE_MS = arg('coalesce-ms', 20);
const MAX_SECONDS = 120;

function stats(xs: number[]): { median: number; p90: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p90: at(0.9), min: s[0]!, max: s[s.length - 1]! };
}

function service(i: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc${i}`, namespace: 'default' },
    spec: { type: 'ClusterIP', clusterIP: `10.206.255.${i + 2}`, selector: { app: `a${i}` }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  };
}

function endpoints(i: number, ips: string[]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: `svc${i}`, namespace: 'default' },
    subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (iptables)');
  if (SERVICES > 250) throw new Error('--services at most 250 (one /24 of VIPs)');
  const tag = randomHex(6);
  const bridge = `mbxb${tag}`;
  const dir = await mkdtemp(join(os.tmpdir(), `mbx-bench-${tag}-`));
  const store = new SqliteStore({ stateDir: dir });
  const baseIps = (i: number) => Array.from({ length: ENDPOINTS }, (_, k) => `10.205.${(i % 250) + 1}.${k + 2}`);
  for (let i = 0; i < SERVICES; i++) {
    store.create('services', service(i));
    store.create('endpoints', endpoints(i, baseIps(i)));
  }
  let waiter: ((info: SyncInfo) => void) | undefined;
  const proxy = new ServiceProxy({
    store,
    bridge,
    podCidr: '10.205.0.0/16',
    serviceCidr: '10.206.255.0/24',
    coalesceMs: COALESCE_MS,
    resyncMs: 0,
    onSync: (info) => waiter?.(info),
  });
  const toSync: number[] = [];
  const toVisible: number[] = [];
  const restoreInSync: number[] = [];
  const raw: number[] = [];
  let ruleCount = 0;
  const deadline = Date.now() + MAX_SECONDS * 1000;
  try {
    await proxy.start();
    const extra = '10.205.254.254';
    for (let it = 0; it < ITERATIONS && Date.now() < deadline; it++) {
      const add = it % 2 === 0;
      // add then remove the extra address on the same Service, moving to the next Service each pair
      const target = Math.floor(it / 2) % SERVICES;
      const cur = store.get('endpoints', 'default', `svc${target}`)!;
      const ips = add ? [...baseIps(target), extra] : baseIps(target);
      const synced = new Promise<SyncInfo>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no sync within 10 s of the change')), 10_000);
        waiter = (info) => {
          clearTimeout(timer);
          resolve(info);
        };
      });
      const t0 = performance.now();
      store.update('endpoints', { ...endpoints(target, ips), metadata: { ...cur.metadata } });
      const info = await synced;
      toSync.push(performance.now() - t0);
      restoreInSync.push(info.restoreMs);
      ruleCount = info.ruleCount;
      // visible in the kernel's rule set (as any observer would see it)
      for (;;) {
        const saved = await run('iptables-save', ['-t', 'nat']);
        const has = saved.stdout.split('\n').some((l) => l.startsWith(`-A ${proxy.prefix}-`) && l.includes(`--to-destination ${extra}:8080`));
        if (has === add) break;
        if (Date.now() > deadline) throw new Error('change never became visible');
      }
      toVisible.push(performance.now() - t0);
    }
    // Baseline: the same rule set, restored raw.
    const chains = new ServiceChains({ bridge, podCidr: '10.205.0.0/16', serviceCidr: '10.206.255.0/24' });
    const rendered = chains.render(proxy.desiredRules());
    for (let it = 0; it < ITERATIONS && Date.now() < deadline; it++) {
      const t0 = performance.now();
      await run('iptables-restore', ['--noflush', '-w', '5'], { input: rendered.nat + rendered.filter });
      raw.push(performance.now() - t0);
    }
  } finally {
    await proxy.teardown();
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
  const rows: [string, number[]][] = [
    ['store write → rules live (ServiceProxy sync done)', toSync],
    ['  of which: the iptables-restore run inside that sync', restoreInSync],
    ['store write → visible in iptables-save (polled)', toVisible],
    ['baseline: one raw iptables-restore of the same rules (nat+filter)', raw],
  ];
  const result = {
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
    node: process.version,
    iptables: (await run('iptables', ['-V'])).stdout.trim(),
    services: SERVICES,
    endpointsPerService: ENDPOINTS,
    rules: ruleCount,
    coalesceMs: COALESCE_MS,
    iterations: toSync.length,
    results: Object.fromEntries(rows.map(([name, xs]) => [name, stats(xs)])),
  };
  console.log(JSON.stringify(result));
  console.log('');
  console.log(`Endpoint change → data path, ${SERVICES} Services × ${ENDPOINTS} endpoints (${ruleCount} rules), coalescing ${COALESCE_MS} ms, ${toSync.length} iterations; ${result.iptables}; node ${process.version}; ${result.machine}`);
  console.log('');
  console.log('| measurement | median ms | p90 ms | min ms | max ms |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, xs] of rows) {
    const s = stats(xs);
    console.log(`| ${name} | ${s.median.toFixed(1)} | ${s.p90.toFixed(1)} | ${s.min.toFixed(1)} | ${s.max.toFixed(1)} |`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
