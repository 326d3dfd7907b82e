/**
 * Pod start and delete times: meshbox (API create → Ready, API delete → gone) for 1 pod and for 20
 * at once, against a baseline measured in the same run: the same sandbox and container made by
 * calling the machine layer directly (netns + CNI ADD + runc), with no API, store or controller.
 *
 * The same pod with the sidecar injected is measured too (a daemon with injection on).
 *
 *   npm run build && node dist/bench/pods/pod-start.js [--rounds 10]
 */
import { performance } from 'node:perf_hooks';
import { cpus } from 'node:os';
import { MeshboxHarness } from '../../test/integration/helpers/meshbox-harness.js';
import { buildMachine } from '../../src/daemon/machine.js';
import { defaultConfig, derive } from '../../src/daemon/config.js';
import { setupHostNetwork, teardownHostNetwork } from '../../src/daemon/host-network.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Pod } from '../../src/api/types.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 10;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
function p90(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.9) - 1)]!;
}

function podObject(name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { bench: 'yes' } },
    spec: { terminationGracePeriodSeconds: 2, containers: [{ name: 'main', image: 'host', command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"] }] },
  };
}

async function meshboxRun(h: MeshboxHarness, count: number): Promise<{ start: number; del: number }> {
  const names = Array.from({ length: count }, (_, i) => `bench-${Date.now().toString(36)}-${i}`);
  const t0 = performance.now();
  await Promise.all(names.map((n) => h.client.request('POST', '/api/v1/namespaces/default/pods', podObject(n))));
  await h.eventually('all Ready', async () => {
    const pods = await h.list<Pod>('/api/v1/namespaces/default/pods?labelSelector=bench%3Dyes');
    return pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === count;
  }, 120_000);
  const start = performance.now() - t0;
  const t1 = performance.now();
  await Promise.all(names.map((n) => h.client.request('DELETE', `/api/v1/namespaces/default/pods/${n}`)));
  await h.eventually('all gone', async () => (await h.list('/api/v1/namespaces/default/pods?labelSelector=bench%3Dyes')).length === 0, 120_000);
  return { start, del: performance.now() - t1 };
}

async function baselineRun(count: number, cidrByte: number): Promise<{ start: number; del: number }> {
  const stateDir = mkdtempSync(join(tmpdir(), 'mbx-bench-base-'));
  const cfg = { ...defaultConfig(stateDir), bridge: `mbxb${cidrByte}`, podCidr: `10.213.${cidrByte}.0/24`, serviceCidr: `10.214.${cidrByte}.0/24` };
  const paths = derive(cfg);
  await setupHostNetwork({ bridge: cfg.bridge, gatewayCidr: paths.gatewayCidr, podCidr: cfg.podCidr, egress: false });
  const m = buildMachine(cfg, paths, silentLogger);
  await m.containers.init();
  try {
    const pods = Array.from({ length: count }, (_, i) => {
      const p = podObject(`base-${i}`);
      p.metadata.uid = `bench-${cidrByte}-${i}-${Date.now().toString(36)}`;
      return p;
    });
    const t0 = performance.now();
    await Promise.all(
      pods.map(async (p) => {
        const sb = await m.pods.ensureSandbox(p);
        await m.pods.startContainer({ pod: p, container: p.spec.containers[0]!, attempt: 0, env: new Map(), podIP: sb.ip });
      }),
    );
    const start = performance.now() - t0;
    const t1 = performance.now();
    await Promise.all(pods.map((p) => m.pods.removePod(p, 2)));
    return { start, del: performance.now() - t1 };
  } finally {
    await m.containers.shutdown();
    await teardownHostNetwork({ bridge: cfg.bridge });
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const h = new MeshboxHarness();
  await h.start();
  const results: Record<string, { start: number[]; del: number[] }> = {};
  const add = (k: string, r: { start: number; del: number }) => {
    results[k] ??= { start: [], del: [] };
    results[k].start.push(r.start);
    results[k].del.push(r.del);
  };
  try {
    for (let i = 0; i < rounds; i++) {
      add('meshbox, 1 pod', await meshboxRun(h, 1));
      add('baseline (netns+CNI+runc direct), 1 pod', await baselineRun(1, 100 + (i % 50)));
    }
    for (let i = 0; i < Math.max(3, Math.floor(rounds / 3)); i++) {
      add('meshbox, 20 pods at once', await meshboxRun(h, 20));
      add('baseline (netns+CNI+runc direct), 20 pods', await baselineRun(20, 150 + (i % 50)));
    }
  } finally {
    await h.down();
  }
  // The same one-container pod with the sidecar injected (a second daemon with injection on):
  // Ready needs the proxy's config from the control plane and its startup probe, then the app.
  const mesh = new MeshboxHarness({ mesh: true });
  await mesh.start();
  try {
    for (let i = 0; i < rounds; i++) add('meshbox, 1 pod with sidecar', await meshboxRun(mesh, 1));
  } finally {
    await mesh.down();
  }
  const load = (await import('node:os')).loadavg()[0]!.toFixed(2);
  console.log(`\nmachine: ${cpus().length} cores (${cpus()[0]?.model}), node ${process.version}, load average at end ${load}`);
  console.log('| case | runs | start median (ms) | start p90 (ms) | delete median (ms) | delete p90 (ms) |');
  console.log('|---|---|---|---|---|---|');
  for (const [k, v] of Object.entries(results)) {
    console.log(`| ${k} | ${v.start.length} | ${median(v.start).toFixed(0)} | ${p90(v.start).toFixed(0)} | ${median(v.del).toFixed(0)} | ${p90(v.del).toFixed(0)} |`);
  }
  const ratio = median(results['meshbox, 1 pod']!.start) / median(results['baseline (netns+CNI+runc direct), 1 pod']!.start);
  console.log(`\nmeshbox / baseline, 1 pod start (medians): ${ratio.toFixed(2)}`);
  console.log(JSON.stringify({ bench: 'pod-start', rounds, results: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { startMedianMs: median(v.start), deleteMedianMs: median(v.del) }])) }));
}

await main();
