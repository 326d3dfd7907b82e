// Init containers and native sidecars (restartPolicy: Always init containers) in the kubelet loop,
// with real runc containers: start order, readiness, Job completion, deletion order, failure.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { meshboxForThisFile } from './helpers/meshbox-harness.js';
import { waitForPhase } from './helpers/pod-waits.js';

const dir = mkdtempSync(join(tmpdir(), 'mbx-init-'));
const h = meshboxForThisFile({ cleanup: () => rmSync(dir, { recursive: true, force: true }) });

const forever = (name: string, file: string) =>
  `echo ${name} >> ${file}; trap 'echo ${name}-stop >> ${file}; sleep 1; echo ${name}-gone >> ${file}; exit 0' TERM; sleep 3600 & wait`;

function lines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').trim().split('\n');
  } catch {
    return [];
  }
}

describe('init containers and sidecars', () => {
  it('runs init containers in order, a sidecar before the app, and stops the app before the sidecar', async () => {
    const order = '/shared/order-a';
    await h.apply(`
apiVersion: v1
kind: Pod
metadata: { name: ordered }
spec:
  terminationGracePeriodSeconds: 10
  volumes: [{ name: shared, hostPath: { path: ${dir}, type: Directory } }]
  initContainers:
    - { name: first, image: host, command: ["sh", "-c", "echo first >> ${order}"], volumeMounts: [{ name: shared, mountPath: /shared }] }
    - name: side
      image: host
      restartPolicy: Always
      command: ["sh", "-c", "sleep 1; ${forever('side', order)}"]
      startupProbe: { exec: { command: ["grep", "-q", "^side$", "${order}"] }, periodSeconds: 1, failureThreshold: 30 }
      volumeMounts: [{ name: shared, mountPath: /shared }]
    - { name: second, image: host, command: ["sh", "-c", "echo second >> ${order}"], volumeMounts: [{ name: shared, mountPath: /shared }] }
  containers:
    - { name: app, image: host, command: ["sh", "-c", "${forever('app', order)}"], volumeMounts: [{ name: shared, mountPath: /shared }] }
`);
    const pod = await h.waitReady('ordered', 'default', 60_000);
    const file = join(dir, 'order-a');
    assert.deepEqual(lines(file), ['first', 'side', 'second', 'app'], 'the sidecar started (and passed its startup probe) before the next init container');
    const inits = pod!.status!.initContainerStatuses!;
    assert.deepEqual(inits.map((s) => [s.name, Object.keys(s.state)[0]]), [['first', 'terminated'], ['side', 'running'], ['second', 'terminated']]);
    assert.equal(inits[1]!.ready, true);
    const row = (await h.cli(['get', 'pod', 'ordered'])).stdout;
    assert.match(row, /ordered\s+2\/2\s+Running/, 'kubectl counts the sidecar in READY');

    const del = await h.cli(['delete', 'pod', 'ordered']);
    assert.equal(del.code, 0, del.stderr);
    await h.waitGone('ordered');
    const after = lines(file);
    assert.ok(after.indexOf('app-gone') >= 0 && after.indexOf('side-stop') > after.indexOf('app-gone'), `the sidecar is stopped after the app has exited: ${after.join(' ')}`);
  });

  it('completes a run-to-completion pod: the sidecar is stopped once the app exits 0', async () => {
    await h.apply(`
apiVersion: v1
kind: Pod
metadata: { name: job-like }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 5
  initContainers:
    - { name: side, image: host, restartPolicy: Always, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"] }
  containers:
    - { name: task, image: host, command: ["sh", "-c", "sleep 1; exit 0"] }
`);
    const pod = await waitForPhase(h, 'job-like', 'Succeeded');
    const side = pod!.status!.initContainerStatuses!.find((s) => s.name === 'side')!;
    assert.ok('terminated' in side.state, `the sidecar is terminated: ${JSON.stringify(side.state)}`);
    await new Promise((r) => setTimeout(r, 2_000));
    const again = (await h.pod('job-like'))!;
    assert.equal(again.status!.phase, 'Succeeded');
    assert.ok('terminated' in again.status!.initContainerStatuses![0]!.state, 'and it is not restarted');
  });

  it('fails a restartPolicy Never pod whose init container fails, without starting its app', async () => {
    await h.apply(`
apiVersion: v1
kind: Pod
metadata: { name: init-fails }
spec:
  restartPolicy: Never
  initContainers:
    - { name: check, image: host, command: ["sh", "-c", "exit 3"] }
  containers:
    - { name: app, image: host, command: ["sh", "-c", "sleep 3600"] }
`);
    const pod = await waitForPhase(h, 'init-fails', 'Failed');
    const check = pod!.status!.initContainerStatuses![0]!;
    assert.equal((check.state as { terminated: { exitCode: number } }).terminated.exitCode, 3);
    assert.ok('waiting' in pod!.status!.containerStatuses![0]!.state, 'the app never started');
    const row = (await h.cli(['get', 'pod', 'init-fails'])).stdout;
    assert.match(row, /Init:Error/);
  });
});
