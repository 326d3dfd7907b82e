/**
 * What an idle sidecar costs: the RSS of each pod's proxy process once its pod is Ready, and the
 * time from apply to Ready of a one-container pod with the sidecar, against two baselines measured
 * in the same run: an empty `node` process and one that has loaded node:http (the floor of any
 * Node.js proxy), both with the sidecar's V8 flags.
 *
 *   npm run build && node dist/bench/mesh/sidecar-footprint.js [--pods 5]
 *
 * Needs root. Starts its own daemon with sidecar injection on (own bridge, CIDRs and state folder,
 * removed at the end). The entry the sidecars run is printed: `dist/sidecar.mjs` (the bundle that
 * `npm run build` makes) or the plain `dist/src/proxy/sidecar-entry.js` when there is no bundle.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { MeshboxHarness, sleep } from '../../test/integration/helpers/meshbox-harness.js';
import { PROXY_ENV, PROXY_V8_FLAGS } from '../../src/meshconfig/sidecar-process.js';
import { arg, median } from '../numbers.js';
import { rssBytes } from '../proxy/proc-stats.js';

function rssMB(pid: number | string): number {
  return rssBytes(Number(pid)) / 2 ** 20;
}

/** The proxy process of one pod: its command names the sidecar entry, its environment the pod. */
function sidecarOf(pod: string): { pid: string; entry: string } | undefined {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const entry = cmd.find((a) => a.startsWith('/opt/meshbox/dist/') && (a.endsWith('sidecar.mjs') || a.endsWith('sidecar-entry.js')));
      if (entry === undefined) continue;
      if (!readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`POD_NAME=${pod}`)) continue;
      return { pid, entry };
    } catch {
      // a process that ended while we looked
    }
  }
  return undefined;
}

/** RSS of a node process running `code` with the sidecar's flags, 1 s after it started. */
async function baselineRss(code: string): Promise<number> {
  const child = spawn(process.execPath, [...PROXY_V8_FLAGS, '-e', `${code}; setTimeout(() => {}, 60000)`], { env: { ...process.env, ...PROXY_ENV }, stdio: 'ignore' });
  try {
    await sleep(1000);
    return rssMB(child.pid as number);
  } finally {
    child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const pods = arg('pods', 5);
  const loads = [loadavg()[0] as number];
  const h = new MeshboxHarness({ mesh: true });
  await h.start();
  const ready: number[] = [];
  const rss: number[] = [];
  const entries = new Set<string>();
  try {
    for (let i = 0; i < pods; i++) {
      const name = `idle${i}`;
      const t0 = performance.now();
      await h.apply(`apiVersion: v1
kind: Pod
metadata: { name: ${name}, labels: { app: ${name} } }
spec:
  containers: [{ name: c, image: host, command: ["sleep", "3600"] }]
`);
      await h.waitReady(name, 'default', 60_000);
      ready.push(performance.now() - t0);
      await sleep(3000); // settled: config applied, startup garbage collected
      const s = sidecarOf(name);
      if (s === undefined) throw new Error(`no sidecar process found for pod ${name}`);
      entries.add(s.entry);
      rss.push(rssMB(s.pid));
      loads.push(loadavg()[0] as number);
    }
  } finally {
    const leaks = await h.down();
    if (leaks.length > 0) console.error('leftovers:', leaks);
  }
  const empty = await baselineRss('0');
  const http = await baselineRss("require('node:http').createServer().listen(0, '127.0.0.1')");
  console.log(`machine: ${cpus().length} cores, node ${process.version}, load ${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)}; sidecar entry ${[...entries].join(', ')}`);
  console.log('| process | RSS MB (median) | runs |');
  console.log('|---|---:|---|');
  console.log(`| idle sidecar (pod Ready + 3 s) | ${median(rss).toFixed(1)} | ${rss.map((x) => x.toFixed(1)).join(', ')} |`);
  console.log(`| baseline: empty node process | ${empty.toFixed(1)} | 1 |`);
  console.log(`| baseline: node with an http server | ${http.toFixed(1)} | 1 |`);
  console.log(`\npod with sidecar, apply → Ready: median ${median(ready).toFixed(0)} ms (${ready.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`idle sidecar / node-with-http baseline: ${(median(rss) / http).toFixed(2)}×, +${(median(rss) - http).toFixed(1)} MB`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
