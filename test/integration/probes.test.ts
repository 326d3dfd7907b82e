// Probes and lifecycle hooks on real pods (issue 3 item 4), against one daemon started through
// `meshbox up` with its own bridge, CIDRs and state folder (the harness's 10.210.0.0/15 range).
// Needs ProbeManager and the lifecycle hooks wired into the pod reconciler (see the probes report).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject, Pod } from '../../src/api/types.js';
import { MeshboxHarness } from './helpers/meshbox-harness.js';

const h = new MeshboxHarness();
const hostDir = mkdtempSync(join(tmpdir(), 'mbx-probes-'));

before(async () => {
  await h.start();
});

after(async () => {
  try {
    const leaks = await h.down();
    assert.deepEqual(leaks, [], 'meshbox down leaves nothing behind');
  } finally {
    rmSync(hostDir, { recursive: true, force: true });
  }
});

interface Event extends KubeObject {
  reason?: string;
  message?: string;
  involvedObject?: { name?: string };
}

async function events(pod: string): Promise<Event[]> {
  const all = await h.list<Event>('/api/v1/namespaces/default/events');
  return all.filter((e) => e.involvedObject?.name === pod);
}

const ready = (p: Pod | undefined): boolean => p?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

/** A node HTTP server answering /healthz with 500 while /tmp/unready exists in the container. */
const FLIP_SERVER = `const fs=require('fs');require('http').createServer((q,s)=>{s.writeHead(fs.existsSync('/tmp/unready')?500:200);s.end('ok')}).listen(8080)`;

describe('probes on real pods', () => {
  test('a failing readiness probe makes the pod unready with an Unhealthy event; recovery makes it Ready again', async () => {
    await h.apply(`
apiVersion: v1
kind: Pod
metadata: { name: ready-flip, labels: { app: ready-flip } }
spec:
  containers:
    - name: web
      image: host
      command: ["node", "-e", "${FLIP_SERVER}"]
      ports: [{ name: http, containerPort: 8080 }]
      readinessProbe: { httpGet: { path: /healthz, port: http }, periodSeconds: 1, failureThreshold: 1 }
`);
    await h.waitReady('ready-flip');
    assert.equal((await h.cli(['exec', 'ready-flip', '--', 'touch', '/tmp/unready'])).code, 0);
    const unready = await h.eventually('pod unready', async () => {
      const p = await h.pod('ready-flip');
      return p && !ready(p) ? p : undefined;
    }, 15_000);
    const cs = unready.status!.containerStatuses![0]!;
    assert.equal(cs.ready, false);
    assert.ok('running' in cs.state, 'an unready container keeps running');
    assert.equal(cs.restartCount, 0);
    // (earlier Unhealthy events may say "connection refused": the probe can run before node listens)
    const messages = (await events('ready-flip')).filter((e) => e.reason === 'Unhealthy').map((e) => e.message);
    assert.ok(messages.includes('Readiness probe failed: HTTP probe failed with statuscode: 500'), JSON.stringify(messages));

    assert.equal((await h.cli(['exec', 'ready-flip', '--', 'rm', '/tmp/unready'])).code, 0);
    await h.waitReady('ready-flip', 'default', 15_000);
    await h.cli(['delete', 'pod', 'ready-flip', '--grace-period', '0']);
  });

  test('a failing readiness probe takes the pod out of its Service endpoints and puts it back', async () => {
    await h.apply(`
apiVersion: v1
kind: Service
metadata: { name: flip }
spec:
  selector: { app: flip }
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: v1
kind: Pod
metadata: { name: flip, labels: { app: flip } }
spec:
  containers:
    - name: web
      image: host
      command: ["node", "-e", "${FLIP_SERVER}"]
      ports: [{ name: http, containerPort: 8080 }]
      readinessProbe: { httpGet: { path: /healthz, port: 8080 }, periodSeconds: 1, failureThreshold: 1 }
`);
    const pod = await h.waitReady('flip');
    const ip = pod.status!.podIP!;
    type Endpoints = KubeObject & { subsets?: { addresses?: { ip: string }[]; notReadyAddresses?: { ip: string }[] }[] };
    const addresses = async (kind: 'addresses' | 'notReadyAddresses'): Promise<string[]> => {
      const ep = await h.list<Endpoints>('/api/v1/namespaces/default/endpoints');
      return (ep.find((e) => e.metadata.name === 'flip')?.subsets ?? []).flatMap((s) => (s[kind] ?? []).map((a) => a.ip));
    };
    await h.eventually('pod in the endpoints', async () => (await addresses('addresses')).includes(ip));
    await h.cli(['exec', 'flip', '--', 'touch', '/tmp/unready']);
    await h.eventually('pod out of the endpoints', async () => !(await addresses('addresses')).includes(ip) && (await addresses('notReadyAddresses')).includes(ip), 15_000);
    await h.cli(['exec', 'flip', '--', 'rm', '/tmp/unready']);
    await h.eventually('pod back in the endpoints', async () => (await addresses('addresses')).includes(ip), 15_000);
    await h.cli(['delete', 'pod', 'flip', '--grace-period', '0']);
    await h.cli(['delete', 'service', 'flip']);
  });

  test('a failing liveness probe restarts the container with a Killing event', async () => {
    await h.apply(`
apiVersion: v1
kind: Pod
metadata: { name: alive }
spec:
  containers:
    - name: app
      image: host
      command: ["sh", "-c", "touch /tmp/healthy; exec sleep 3600"]
      livenessProbe: { exec: { command: ["cat", "/tmp/healthy"] }, periodSeconds: 1, failureThreshold: 2, terminationGracePeriodSeconds: 1 }
`);
    await h.waitReady('alive');
    await h.cli(['exec', 'alive', '--', 'rm', '/tmp/healthy']);
    const restarted = await h.eventually('restart after liveness failure', async () => {
      const s = (await h.pod('alive'))?.status?.containerStatuses?.[0];
      return s && s.restartCount >= 1 && 'running' in s.state ? s : undefined;
    }, 30_000);
    assert.ok('terminated' in restarted.lastState, 'the killed run is the last state');
    const evs = await events('alive');
    assert.ok(
      evs.some((e) => e.reason === 'Unhealthy' && /^Liveness probe failed: cat: .*\/tmp\/healthy: No such file or directory/.test(e.message ?? '')),
      `Unhealthy event with the command output: ${JSON.stringify(evs.map((e) => e.message))}`,
    );
    assert.ok(evs.some((e) => e.reason === 'Killing' && e.message === 'Container app failed liveness probe, will be restarted'));
    // the new run creates /tmp/healthy again: it stays up
    await h.waitReady('alive', 'default', 15_000);
    await h.cli(['delete', 'pod', 'alive', '--grace-period', '0']);
  });

  test('a startup probe keeps the container unstarted and unready until it passes', async () => {
    await h.apply(`
apiVersion: v1
kind: Pod
metadata: { name: slow-start }
spec:
  containers:
    - name: app
      image: host
      command: ["sh", "-c", "sleep 3; touch /tmp/started; exec sleep 3600"]
      startupProbe: { exec: { command: ["test", "-e", "/tmp/started"] }, periodSeconds: 1, failureThreshold: 30 }
      livenessProbe: { exec: { command: ["test", "-e", "/tmp/started"] }, periodSeconds: 1, failureThreshold: 1 }
`);
    const early = await h.eventually('container running', async () => {
      const s = (await h.pod('slow-start'))?.status?.containerStatuses?.[0];
      return s && 'running' in s.state ? s : undefined;
    });
    assert.equal(early.started, false, 'not started while the startup probe fails');
    assert.equal(early.ready, false);
    const p = await h.waitReady('slow-start', 'default', 20_000);
    const s = p.status!.containerStatuses![0]!;
    assert.equal(s.started, true);
    assert.equal(s.restartCount, 0, 'liveness did not run (and kill) before the startup probe passed');
    await h.cli(['delete', 'pod', 'slow-start', '--grace-period', '0']);
  });
});

describe('lifecycle hooks on real pods', () => {
  test('postStart runs before the container counts as started; preStop runs before SIGTERM on delete', async () => {
    await h.apply(`
apiVersion: v1
kind: Pod
metadata: { name: hooks }
spec:
  terminationGracePeriodSeconds: 10
  containers:
    - name: app
      image: host
      command: ["sh", "-c", "trap 'echo term >> /out/log; exit 0' TERM; while true; do sleep 0.1; done"]
      volumeMounts: [{ name: out, mountPath: /out }]
      lifecycle:
        postStart: { exec: { command: ["sh", "-c", "echo post-start >> /out/log"] } }
        preStop: { exec: { command: ["sh", "-c", "echo pre-stop >> /out/log"] } }
  volumes: [{ name: out, hostPath: { path: ${JSON.stringify(hostDir)}, type: Directory } }]
`);
    await h.waitReady('hooks');
    assert.equal(readFileSync(join(hostDir, 'log'), 'utf8'), 'post-start\n', 'postStart ran once the container was Ready');
    await h.cli(['delete', 'pod', 'hooks']);
    await h.waitGone('hooks');
    assert.equal(readFileSync(join(hostDir, 'log'), 'utf8'), 'post-start\npre-stop\nterm\n', 'preStop ran before SIGTERM');
  });

  test('a failing postStart hook kills the container with FailedPostStartHook', async () => {
    await h.apply(`
apiVersion: v1
kind: Pod
metadata: { name: bad-hook }
spec:
  terminationGracePeriodSeconds: 2 # sleep ignores SIGTERM as pid 1: the kill waits out the grace
  containers:
    - name: app
      image: host
      command: ["sleep", "3600"]
      lifecycle:
        postStart: { exec: { command: ["sh", "-c", "echo nope; exit 1"] } }
`);
    const evs = await h.eventually('FailedPostStartHook event', async () => {
      const e = await events('bad-hook');
      return e.some((x) => x.reason === 'FailedPostStartHook') ? e : undefined;
    });
    const failed = evs.find((x) => x.reason === 'FailedPostStartHook')!;
    assert.match(failed.message ?? '', /^Exec lifecycle hook \(\[sh -c echo nope; exit 1\]\) for Container "app" in Pod "bad-hook_default\(.+\)" failed - error: /);
    const p = await h.pod('bad-hook');
    assert.equal(ready(p), false, 'never Ready while its postStart hook fails');
    await h.eventually('restarted after the failed hook', async () => ((await h.pod('bad-hook'))?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 30_000);
    await h.cli(['delete', 'pod', 'bad-hook', '--grace-period', '0']);
  });
});
