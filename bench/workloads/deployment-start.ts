/**
 * Time from applying a 20-replica Deployment to all 20 pods Ready, against a baseline measured in the
 * same run on the same daemon: the same 20 pods applied as bare Pods (so the difference is what the
 * Deployment and ReplicaSet controllers add). Both go through the code path of `meshbox apply`
 * (in this process), and both see Ready on an API watch opened before the apply: no polling interval.
 *
 *   npm run build && node dist/bench/workloads/deployment-start.js [--rounds 3] [--replicas 20]
 */
import { performance } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';
import { MeshboxHarness } from '../../test/integration/helpers/meshbox-harness.js';
import { applyYaml, PodWatch, readyCount } from '../pods/pod-watch.js';
import { arg, median } from '../numbers.js';

const rounds = arg('rounds', 3);
const replicas = arg('replicas', 20);

/** The pod spec of every pod here, indented by `indent`. */
const podSpec = (indent: string): string =>
  ['terminationGracePeriodSeconds: 2', 'containers:', '  - name: main', '    image: host', `    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`]
    .map((l) => `${indent}${l}\n`)
    .join('');

/** Applies `yaml`; returns the ms until `replicas` pods labelled bench=label are Ready, then removes them with `cleanup`. */
async function timeToReady(h: MeshboxHarness, label: string, yaml: string, cleanup: () => Promise<unknown>): Promise<number> {
  const watch = await PodWatch.open(h.client, 'default', `bench=${label}`);
  try {
    const t0 = performance.now();
    await applyYaml(h.client, yaml);
    await watch.until(`${replicas} pods Ready`, (pods) => readyCount(pods) === replicas, 300_000);
    const ms = performance.now() - t0;
    await cleanup();
    await watch.until('all gone', (pods) => pods.size === 0, 300_000);
    return ms;
  } finally {
    watch.close();
  }
}

function deployment(h: MeshboxHarness, round: number): Promise<number> {
  const name = `bench-deploy-${round}`;
  const yaml = `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { bench: ${name} } }
  template:
    metadata: { labels: { bench: ${name} } }
    spec:
${podSpec('      ')}`;
  return timeToReady(h, name, yaml, () => h.client.request('DELETE', `/apis/apps/v1/namespaces/default/deployments/${name}`));
}

function barePods(h: MeshboxHarness, round: number): Promise<number> {
  const label = `bare-${round}`;
  const yaml = Array.from({ length: replicas }, (_, i) => `apiVersion: v1
kind: Pod
metadata: { name: ${label}-${i}, labels: { bench: ${label} } }
spec:
${podSpec('  ')}`).join('---\n');
  return timeToReady(h, label, yaml, () => h.cli(['delete', 'pods', '-l', `bench=${label}`]));
}

const loadAtStart = loadavg()[0]!.toFixed(2);
const h = new MeshboxHarness();
await h.start();
const deploy: number[] = [];
const bare: number[] = [];
try {
  for (let r = 0; r < rounds; r++) {
    deploy.push(await deployment(h, r));
    bare.push(await barePods(h, r));
  }
} finally {
  await h.down();
}
console.log(`\nmachine: ${cpus().length} cores, node ${process.version}, load average (1 min) at start ${loadAtStart}, at end ${loadavg()[0]!.toFixed(2)}`);
console.log('| case | runs | apply → all Ready, median (ms) | runs (ms) |');
console.log('|---|---|---|---|');
console.log(`| Deployment, ${replicas} replicas | ${deploy.length} | ${median(deploy).toFixed(0)} | ${deploy.map((x) => x.toFixed(0)).join(', ')} |`);
console.log(`| baseline: ${replicas} bare pods, applied | ${bare.length} | ${median(bare).toFixed(0)} | ${bare.map((x) => x.toFixed(0)).join(', ')} |`);
console.log(`\nDeployment / bare pods (medians): ${(median(deploy) / median(bare)).toFixed(2)}`);
