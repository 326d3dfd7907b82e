/**
 * Pod start and delete times: meshbox (apply → Ready, API delete → gone) for 1 pod and for 20 at
 * once, against a baseline measured in the same run: the same sandbox and container made by
 * calling the machine layer directly (netns + CNI ADD + runc), with no API, store or controller.
 *
 * "apply" is the code path of `meshbox apply` run in this process (manifest loading and checks, one
 * POST to the apply endpoint); the "CLI" case runs `meshbox apply -f -` as a new process, as a user
 * does (adds Node's startup). Ready and gone are seen on an API watch opened before the apply, so
 * no polling interval is added to meshbox's figures.
 *
 * The same pod with the sidecar injected is measured too (a daemon with injection on).
 *
 *   npm run build && node dist/bench/pods/pod-start.js [--rounds 10]
 */
import { performance } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';
import { MeshboxHarness } from '../../test/integration/helpers/meshbox-harness.js';
import { buildMachine } from '../../src/daemon/machine.js';
import { defaultConfig, derive } from '../../src/daemon/config.js';
import { setupHostNetwork, teardownHostNetwork } from '../../src/daemon/host-network.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Pod } from '../../src/api/types.js';
import { applyYaml, PodWatch, readyCount } from './pod-watch.js';
import { mkdtempSync } from 'node:fs';
import { removeStateDir } from '../../src/core/remove-state-dir.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, median } from '../numbers.js';

const rounds = arg('rounds', 10);

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

function podYaml(name: string, run: string): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, labels: { bench: "yes", run: ${run} } }
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: main
      image: host
      command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
`;
}

let runs = 0;

/** `via`: 'apply' runs the apply code path in this process, 'cli' runs `meshbox apply -f -`. */
async function meshboxRun(h: MeshboxHarness, count: number, via: 'apply' | 'cli' = 'apply'): Promise<{ start: number; del: number }> {
  const run = `r${runs++}-${Date.now().toString(36)}`;
  const names = Array.from({ length: count }, (_, i) => `bench-${run}-${i}`);
  const yaml = names.map((n) => podYaml(n, run)).join('---\n');
  const watch = await PodWatch.open(h.client, 'default', `run=${run}`);
  try {
    const t0 = performance.now();
    if (via === 'apply') {
      await applyYaml(h.client, yaml);
    } else {
      const r = await h.cli(['apply', '-f', '-'], yaml);
      if (r.code !== 0) throw new Error(`meshbox apply failed: ${r.stderr}`);
    }
    await watch.until(`${count} pods Ready`, (pods) => readyCount(pods) === count, 120_000);
    const start = performance.now() - t0;
    const t1 = performance.now();
    await Promise.all(names.map((n) => h.client.request('DELETE', `/api/v1/namespaces/default/pods/${n}`)));
    await watch.until(`${count} pods gone`, (pods) => pods.size === 0, 120_000);
    return { start, del: performance.now() - t1 };
  } finally {
    watch.close();
  }
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
    // settled, not Promise.all: on a failure the other pods' operations must end before the
    // cleanup below removes the folders they write to
    const started = await Promise.allSettled(
      pods.map(async (p) => {
        const sb = await m.pods.ensureSandbox(p);
        await m.pods.startContainer({ pod: p, container: p.spec.containers[0]!, attempt: 0, env: new Map(), podIP: sb.ip });
      }),
    );
    const start = performance.now() - t0;
    const t1 = performance.now();
    const removed = await Promise.allSettled(pods.map((p) => m.pods.removePod(p, 2)));
    const del = performance.now() - t1;
    const failed = [...started, ...removed].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return { start, del };
  } finally {
    await m.containers.shutdown();
    await teardownHostNetwork({ bridge: cfg.bridge });
    removeStateDir(stateDir);
  }
}

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0]!.toFixed(2);
  // other work on the machine inflates absolute times: record the load across the run
  const loads: number[] = [loadavg()[0]!];
  const sampler = setInterval(() => loads.push(loadavg()[0]!), 2_000);
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
      add('meshbox, 1 pod, `meshbox apply` CLI process', await meshboxRun(h, 1, 'cli'));
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
  clearInterval(sampler);
  const load = loadavg()[0]!.toFixed(2);
  console.log(`\nmachine: ${cpus().length} cores (${cpus()[0]?.model}), node ${process.version}, load average (1 min) at start ${loadAtStart}, at end ${load}, range ${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)}`);
  console.log('meshbox: apply (the `meshbox apply` code path in-process, or the CLI process) → Ready on an API watch; delete → gone on the watch');
  console.log('| case | runs | start median (ms) | start p90 (ms) | delete median (ms) | delete p90 (ms) |');
  console.log('|---|---|---|---|---|---|');
  for (const [k, v] of Object.entries(results)) {
    console.log(`| ${k} | ${v.start.length} | ${median(v.start).toFixed(0)} | ${p90(v.start).toFixed(0)} | ${median(v.del).toFixed(0)} | ${p90(v.del).toFixed(0)} |`);
  }
  const ratio = (a: string, b: string, k: 'start' | 'del'): string => (median(results[a]![k]) / median(results[b]![k])).toFixed(2);
  const one = ['meshbox, 1 pod', 'baseline (netns+CNI+runc direct), 1 pod'] as const;
  const twenty = ['meshbox, 20 pods at once', 'baseline (netns+CNI+runc direct), 20 pods'] as const;
  console.log(`\nmeshbox / baseline (medians): 1 pod start ${ratio(...one, 'start')}, delete ${ratio(...one, 'del')}; 20 pods start ${ratio(...twenty, 'start')}, delete ${ratio(...twenty, 'del')}`);
  console.log(JSON.stringify({ bench: 'pod-start', rounds, results: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { startMedianMs: median(v.start), deleteMedianMs: median(v.del) }])) }));
}

await main();
