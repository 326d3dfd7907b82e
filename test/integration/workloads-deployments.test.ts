// Deployments, ReplicaSets and Jobs on real pods (runc + CNI) through a real daemon (`meshbox up`):
// scale-up and healing (a deleted pod, a killed process), a rolling update within its
// maxSurge/maxUnavailable bounds, `meshbox rollout undo` with and without --to-revision,
// a daemon SIGKILLed mid-rollout that finishes it after restart, a Job to completion, and cascading
// deletion that leaves no pod behind. Needs the workload controllers wired into the daemon.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../src/api/types.js';
import { rolloutStatus } from '../../src/controllers/deployment/rollout.js';
import type { Deployment, Job, PodTemplateSpec, ReplicaSet } from '../../src/controllers/workloads-shared/types.js';
import { meshboxForThisFile, sleep } from './helpers/meshbox-harness.js';
import { containerPid, isRunning } from './helpers/pod-waits.js';

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

const uids = (pods: Pod[]) => pods.filter(isActive).map((p) => p.metadata.uid).sort();
const revisionOf = (o: Deployment | ReplicaSet) => o.metadata.annotations?.['deployment.kubernetes.io/revision'];
function stripHash(t: PodTemplateSpec): PodTemplateSpec {
  const copy = structuredClone(t);
  delete copy.metadata?.labels?.['pod-template-hash'];
  return copy;
}

/** Waits until every pod of `app` runs `version` and is Ready (3 of them); returns them. */
function onlyVersion(app: string, version: string): Promise<Pod[]> {
  return h.eventually(`only ${version} pods of ${app}`, async () => {
    const pods = await podsOf(app);
    return pods.length === 3 && pods.every((p) => versionOf(p) === version && isReady(p)) ? pods : undefined;
  });
}

/** The revisions `meshbox rollout history` lists. */
async function revisions(name: string): Promise<number[]> {
  const out = await cliOk(['rollout', 'history', `deployment/${name}`], /REVISION/);
  return [...out.matchAll(/^(\d+)\s/gm)].map((m) => Number(m[1]));
}

/** Runs the CLI, which must succeed and print something matching `expect`; returns stdout. */
async function cliOk(args: string[], expect: RegExp): Promise<string> {
  const r = await h.cli(args);
  assert.equal(r.code, 0, `meshbox ${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stdout, expect);
  return r.stdout;
}

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
  test('a 3-replica Deployment comes up, heals a deleted pod and a killed process, rolls out within its bounds, and undoes', async () => {
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

    // heal a killed process: the kubelet restarts the container in place; no pod is replaced
    const before = (await podsOf('web')).filter(isActive);
    // one of the first pods, so its Ready transition is not the replacement's
    const victim = before.find((p) => first.some((f) => f.metadata.uid === p.metadata.uid))!;
    const readyBefore = victim.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
    const attempt = victim.status!.containerStatuses![0]!.restartCount;
    const killedPid = containerPid(h, victim.metadata.uid!, 'main', attempt);
    // conditions carry whole seconds: let one pass, so a Ready transition after the kill shows
    await sleep(1000);
    const killedAt = Math.floor(Date.now() / 1000) * 1000;
    assert.ok(Date.parse(readyBefore ?? '') < killedAt, `Ready since ${readyBefore}, before the kill`);
    process.kill(killedPid, 'SIGKILL');
    const healed = await h.eventually('killed container restarted and the Deployment ready again', async () => {
      const pod = (await podsOf('web')).find((p) => p.metadata.uid === victim.metadata.uid);
      const status = pod?.status?.containerStatuses?.[0];
      const d = await h.client.get<Deployment>(DEPLOY('web'));
      return status !== undefined && status.restartCount > attempt && isRunning(status) && isReady(pod!) && d.status?.readyReplicas === 3 ? pod : undefined;
    });
    const readySince = healed.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
    assert.ok(Date.parse(readySince ?? '') >= killedAt, `the pod was not Ready while its container was dead (Ready since ${readySince})`);
    assert.deepEqual(uids(await podsOf('web')), uids(before), 'the same 3 pods: healed by a restart, not a replacement');
    const restartedPid = containerPid(h, victim.metadata.uid!, 'main', attempt + 1);
    assert.notEqual(restartedPid, killedPid);
    process.kill(restartedPid, 0); // the new process runs
    assert.throws(() => process.kill(killedPid, 0), 'the killed process is gone');

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
    await onlyVersion('web', 'v2');
    assert.deepEqual(await revisions('web'), [1, 2]);

    // `meshbox rollout undo` goes back to v1 as revision 3
    await cliOk(['rollout', 'undo', 'deployment/web'], /^deployment\.apps\/web rolled back$/m);
    assert.equal(revisionOf(await rolledOut('web')), '3');
    await onlyVersion('web', 'v1');
    assert.deepEqual(await revisions('web'), [2, 3], 'revision 1 became revision 3');

    // `--to-revision` picks a revision other than the previous one (plain undo would pick 3, v1)
    await setVersion('web', 'v3');
    assert.equal(revisionOf(await rolledOut('web')), '4');
    await onlyVersion('web', 'v3');
    const recorded = await cliOk(['rollout', 'history', 'deployment/web', '--revision', '2'], /with revision #2/);
    const revision2 = JSON.parse(recorded.slice(recorded.indexOf('{'))) as PodTemplateSpec;
    assert.equal(revision2.spec?.containers[0]?.env?.[0]?.value, 'v2');
    await cliOk(['rollout', 'undo', 'deployment/web', '--to-revision', '2'], /rolled back/);
    const back = await rolledOut('web');
    assert.equal(revisionOf(back), '5');
    assert.deepEqual(await revisions('web'), [3, 4, 5]);
    const pods = await onlyVersion('web', 'v2');
    for (const p of pods) assert.deepEqual(p.spec.containers[0]!.env, revision2.spec!.containers[0]!.env);
    assert.deepEqual(stripHash(back.spec.template), stripHash(revision2), "the Deployment's template is revision 2's again");
  });

  test('a daemon killed in the middle of a rollout finishes it after restart', async () => {
    // minReadySeconds slows the rollout down so the kill lands in the middle of it
    await h.apply(deploymentYaml('slow', 3, 'v1', '  minReadySeconds: 3'));
    await rolledOut('slow');
    await setVersion('slow', 'v2');
    const midway = await h.eventually('rollout under way', async () => {
      const pods = (await podsOf('slow')).filter(isActive);
      return pods.some((p) => versionOf(p) === 'v2') ? pods : undefined;
    });
    const d = await h.client.get<Deployment>(DEPLOY('slow'));
    assert.ok((d.status?.updatedReplicas ?? 0) < 3 || (d.status?.availableReplicas ?? 0) < 3, `rollout unfinished before the kill: ${JSON.stringify(d.status)}`);
    assert.ok(midway.some((p) => versionOf(p) === 'v1' && isReady(p)), 'an old pod still serves before the kill');
    await h.killDaemon();
    await h.start();
    const done = await rolledOut('slow', 120_000);
    await onlyVersion('slow', 'v2');

    assert.equal(revisionOf(done), '2');
    const available = done.status?.conditions?.find((c) => c.type === 'Available');
    const progressing = done.status?.conditions?.find((c) => c.type === 'Progressing');
    assert.equal(available?.status, 'True');
    assert.equal(progressing?.status, 'True');
    assert.equal(progressing?.reason, 'NewReplicaSetAvailable');
    const rss = (await h.list<ReplicaSet>(`/apis/apps/v1/namespaces/${NS}/replicasets`)).filter((rs) => rs.metadata.ownerReferences?.some((o) => o.uid === done.metadata.uid));
    assert.equal(rss.length, 2, 'one old and one new ReplicaSet, no duplicate from the restart');
    const [oldRs, newRs] = [...rss].sort((x, y) => Number(revisionOf(x)) - Number(revisionOf(y)));
    assert.equal(revisionOf(oldRs!), '1');
    assert.equal(oldRs!.spec.replicas, 0, 'the old ReplicaSet is scaled to 0');
    assert.equal(oldRs!.status?.replicas ?? 0, 0);
    assert.equal(revisionOf(newRs!), '2');
    assert.equal(newRs!.spec.replicas, 3);
    assert.equal(newRs!.status?.readyReplicas, 3, 'the new ReplicaSet has 3 ready');
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
