/**
 * Time from applying a 20-replica Deployment to all 20 pods Ready, against a baseline measured in the
 * same run on the same daemon: the same 20 pods created directly through the API (so the difference
 * is what the Deployment and ReplicaSet controllers add).
 *
 *   npm run build && node dist/bench/workloads/deployment-start.js [--rounds 3] [--replicas 20]
 */
import { performance } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';
import { MeshboxHarness } from '../../test/integration/helpers/meshbox-harness.js';
import type { Pod } from '../../src/api/types.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const rounds = arg('--rounds', 3);
const replicas = arg('--replicas', 20);

const CONTAINER = { name: 'main', image: 'host', command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"] };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function waitAllReady(h: MeshboxHarness, selector: string, count: number): Promise<void> {
  await h.eventually('all Ready', async () => {
    const pods = await h.list<Pod>(`/api/v1/namespaces/default/pods?labelSelector=${encodeURIComponent(selector)}`);
    return pods.filter((p) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === count;
  }, 300_000);
}

async function waitNone(h: MeshboxHarness, selector: string): Promise<void> {
  await h.eventually('all gone', async () => (await h.list(`/api/v1/namespaces/default/pods?labelSelector=${encodeURIComponent(selector)}`)).length === 0, 300_000);
}

async function deployment(h: MeshboxHarness, round: number): Promise<number> {
  const name = `bench-deploy-${round}`;
  const t0 = performance.now();
  await h.client.request('POST', '/apis/apps/v1/namespaces/default/deployments', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { bench: name } },
      template: { metadata: { labels: { bench: name } }, spec: { terminationGracePeriodSeconds: 2, containers: [CONTAINER] } },
    },
  });
  await waitAllReady(h, `bench=${name}`, replicas);
  const ms = performance.now() - t0;
  await h.client.request('DELETE', `/apis/apps/v1/namespaces/default/deployments/${name}`);
  await waitNone(h, `bench=${name}`);
  return ms;
}

async function barePods(h: MeshboxHarness, round: number): Promise<number> {
  const label = `bare-${round}`;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: replicas }, (_, i) =>
      h.client.request('POST', '/api/v1/namespaces/default/pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `${label}-${i}`, labels: { bench: label } },
        spec: { terminationGracePeriodSeconds: 2, containers: [CONTAINER] },
      }),
    ),
  );
  await waitAllReady(h, `bench=${label}`, replicas);
  const ms = performance.now() - t0;
  await h.cli(['delete', 'pods', '-l', `bench=${label}`]);
  await waitNone(h, `bench=${label}`);
  return ms;
}

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
console.log(`\nmachine: ${cpus().length} cores, node ${process.version}, load average at end ${loadavg()[0]!.toFixed(2)}`);
console.log('| case | runs | apply → all Ready, median (ms) | runs (ms) |');
console.log('|---|---|---|---|');
console.log(`| Deployment, ${replicas} replicas | ${deploy.length} | ${median(deploy).toFixed(0)} | ${deploy.map((x) => x.toFixed(0)).join(', ')} |`);
console.log(`| baseline: ${replicas} bare pods via the API | ${bare.length} | ${median(bare).toFixed(0)} | ${bare.map((x) => x.toFixed(0)).join(', ')} |`);
console.log(`\nDeployment / bare pods (medians): ${(median(deploy) / median(bare)).toFixed(2)}`);
