// Deployments, ReplicaSets and Jobs on real pods (runc + CNI) through a real daemon (`meshbox up`):
// scale-up and healing, a rolling update within its maxSurge/maxUnavailable bounds, rollout undo,
// a daemon SIGKILLed mid-rollout that finishes it after restart, a Job to completion, and cascading
// deletion that leaves no pod behind. Needs the workload controllers wired into the daemon.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../src/api/types.js';
import { rolloutHistory, rolloutStatus, rolloutUndoPatch } from '../../src/controllers/deployment/rollout.js';
import type { Deployment, Job, ReplicaSet } from '../../src/controllers/workloads-shared/types.js';
import { meshboxForThisFile, sleep } from './helpers/meshbox-harness.js';

const h = meshboxForThisFile();
const NS = 'default';
const DEPLOY = (name: string) => `/apis/apps/v1/namespaces/${NS}/deployments/${name}`;
const MERGE = 'application/merge-patch+json';


function deploymentYaml(name: string, replicas: number, version: string, extra = ''): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  strategy: { type: RollingUpdate, rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } }
${extra}
  template:
    metadata:
      labels: { app: ${name} }
      annotations: { sidecar.istio.io/inject: "false" }
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: main
          image: host
          command: ["sleep", "3600"]
          env: [{ name: VERSION, value: "${version}" }]
`;
}

async function podsOf(app: string): Promise<Pod[]> {
  const pods = await h.list<Pod>(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3D${app}`);
  for (const p of pods) if (p.metadata.uid) h.knownPodUids.add(p.metadata.uid);
  return pods;
}

const isActive = (p: Pod) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
const isReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const versionOf = (p: Pod) => p.spec.containers[0]?.env?.[0]?.value;

async function rolledOut(name: string, timeoutMs = 90_000): Promise<Deployment> {
  return h.eventually(`deployment ${name} rolled out`, async () => {
    const d = await h.client.get<Deployment>(DEPLOY(name));
    return rolloutStatus(d).done ? d : undefined;
  }, timeoutMs);
}

async function setVersion(name: string, version: string): Promise<void> {
  await h.client.request('PATCH', DEPLOY(name), { spec: { template: { spec: { containers: [{ name: 'main', image: 'host', command: ['sleep', '3600'], env: [{ name: 'VERSION', value: version }] }] } } } }, MERGE);
}

describe('workloads on real pods', () => {
  test('a 3-replica Deployment comes up, heals a deleted pod, rolls out within its bounds, and undoes', async () => {
    await h.apply(deploymentYaml('web', 3, 'v1'));
    await rolledOut('web');
    const first = (await podsOf('web')).filter(isActive);
    assert.equal(first.filter(isReady).length, 3);
    for (const p of first) assert.match(p.metadata.name, /^web-[a-z0-9]+-[a-z0-9]{5}$/);

    // heal
    await h.client.request('DELETE', `/api/v1/namespaces/${NS}/pods/${first[0]!.metadata.name}`);
    await h.eventually('replacement pod ready', async () => {
      const pods = (await podsOf('web')).filter(isActive);
      return pods.length === 3 && pods.every(isReady) && !pods.some((p) => p.metadata.uid === first[0]!.metadata.uid);
    });

    // rolling update: sample the pods while it runs
    let maxActive = 0;
    let minReady = Infinity;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const pods = (await podsOf('web')).filter(isActive);
        maxActive = Math.max(maxActive, pods.length);
        minReady = Math.min(minReady, pods.filter(isReady).length);
        await sleep(20);
      }
    })();
    await setVersion('web', 'v2');
    await rolledOut('web');
    sampling = false;
    await sampler;
    assert.ok(maxActive <= 4, `at most replicas + maxSurge pods (saw ${maxActive})`);
    assert.ok(minReady >= 2, `at least replicas - maxUnavailable ready (saw ${minReady})`);
    await h.eventually('only v2 pods', async () => {
      const pods = await podsOf('web');
      return pods.length === 3 && pods.every((p) => versionOf(p) === 'v2');
    });

    // rollout undo goes back to v1 as revision 3
    const d = await h.client.get<Deployment>(DEPLOY('web'));
    const rss = await h.list<ReplicaSet>(`/apis/apps/v1/namespaces/${NS}/replicasets`);
    assert.deepEqual(rolloutHistory(d, rss).map((r) => r.revision), [1, 2]);
    const undo = rolloutUndoPatch(d, rss);
    assert.equal(undo.revision, 1);
    await h.client.request('PATCH', DEPLOY('web'), undo.patch, MERGE);
    const back = await rolledOut('web');
    assert.equal(back.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
    await h.eventually('only v1 pods again', async () => {
      const pods = await podsOf('web');
      return pods.length === 3 && pods.every((p) => versionOf(p) === 'v1' && isReady(p));
    });
  });

  test('a daemon killed in the middle of a rollout finishes it after restart', async () => {
    // minReadySeconds slows the rollout down so the kill lands in the middle of it
    await h.apply(deploymentYaml('slow', 3, 'v1', '  minReadySeconds: 2'));
    await rolledOut('slow');
    await setVersion('slow', 'v2');
    await h.eventually('rollout under way', async () => (await podsOf('slow')).some((p) => versionOf(p) === 'v2'));
    await h.killDaemon();
    await h.start();
    await rolledOut('slow', 120_000);
    await h.eventually('only v2 pods', async () => {
      const pods = await podsOf('slow');
      return pods.length === 3 && pods.every((p) => versionOf(p) === 'v2' && isReady(p));
    });
  });

  test('a Job runs its pods to completion', async () => {
    await h.apply(`
apiVersion: batch/v1
kind: Job
metadata: { name: once }
spec:
  completions: 3
  parallelism: 2
  template:
    metadata: { annotations: { sidecar.istio.io/inject: "false" } }
    spec:
      restartPolicy: Never
      containers: [{ name: main, image: host, command: ["sh", "-c", "exit 0"] }]
`);
    const job = await h.eventually('job complete', async () => {
      const j = await h.client.get<Job>(`/apis/batch/v1/namespaces/${NS}/jobs/once`);
      return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ? j : undefined;
    }, 90_000);
    assert.equal(job.status?.succeeded, 3);
    const pods = await h.list<Pod>(`/api/v1/namespaces/${NS}/pods?labelSelector=job-name%3Donce`);
    assert.equal(pods.length, 3);
    for (const p of pods) h.knownPodUids.add(p.metadata.uid!);
    assert.ok(pods.every((p) => p.status?.phase === 'Succeeded'));
    await h.client.request('DELETE', `/apis/batch/v1/namespaces/${NS}/jobs/once`);
  });

  test('deleting a Deployment removes its ReplicaSets and every pod', async () => {
    for (const name of ['web', 'slow']) await h.client.request('DELETE', DEPLOY(name));
    await h.eventually('no workload pods or replica sets', async () => {
      const pods = await h.list<Pod>(`/api/v1/namespaces/${NS}/pods`);
      const rss = await h.list<ReplicaSet>(`/apis/apps/v1/namespaces/${NS}/replicasets`);
      return pods.length === 0 && rss.length === 0;
    }, 90_000);
  });
});
