// Probes and lifecycle hooks on real pods (issue 3 item 4), against one daemon started through
// `meshbox up` with its own bridge, CIDRs and state folder (the harness's 10.210.0.0/15 range).
// Needs ProbeManager and the lifecycle hooks wired into the pod reconciler (see the probes report).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/types.js';
import { meshboxForThisFile } from './helpers/meshbox-harness.js';
import { deletePodNow, isRunning, podReady as ready, waitForContainer } from './helpers/pod-waits.js';

const hostDir = mkdtempSync(join(tmpdir(), 'mbx-probes-'));
const h = meshboxForThisFile({ cleanup: () => rmSync(hostDir, { recursive: true, force: true }) });

interface Event extends KubeObject {
  reason?: string;
  message?: string;
  involvedObject?: { name?: string };
}

async function events(pod: string): Promise<Event[]> {
  const all = await h.list<Event>('/api/v1/namespaces/default/events');
  return all.filter((e) => e.involvedObject?.name === pod);
}

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
    await deletePodNow(h, 'ready-flip');
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
    await deletePodNow(h, 'flip');
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
    const { status: restarted } = await waitForContainer(h, 'alive', 'restart after liveness failure', (s) => s.restartCount >= 1 && isRunning(s), 30_000);
    assert.ok('terminated' in restarted.lastState, 'the killed run is the last state');
    const evs = await events('alive');
    assert.ok(
      evs.some((e) => e.reason === 'Unhealthy' && /^Liveness probe failed: cat: .*\/tmp\/healthy: No such file or directory/.test(e.message ?? '')),
      `Unhealthy event with the command output: ${JSON.stringify(evs.map((e) => e.message))}`,
    );
    assert.ok(evs.some((e) => e.reason === 'Killing' && e.message === 'Container app failed liveness probe, will be restarted'));
    // the new run creates /tmp/healthy again: it stays up
    await h.waitReady('alive', 'default', 15_000);
    await deletePodNow(h, 'alive');
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
    const { status: early } = await waitForContainer(h, 'slow-start', 'container running', isRunning);
    assert.equal(early.started, false, 'not started while the startup probe fails');
    assert.equal(early.ready, false);
    const p = await h.waitReady('slow-start', 'default', 20_000);
    const s = p.status!.containerStatuses![0]!;
    assert.equal(s.started, true);
    assert.equal(s.restartCount, 0, 'liveness did not run (and kill) before the startup probe passed');
    await deletePodNow(h, 'slow-start');
  });

  test('a startup probe that never passes gets the container killed and restarted', async () => {
    await h.apply(`
apiVersion: v1
kind: Pod
metadata: { name: never-starts }
spec:
  containers:
    - name: app
      image: host
      command: ["sleep", "3600"]
      startupProbe: { exec: { command: ["false"] }, periodSeconds: 1, failureThreshold: 2, terminationGracePeriodSeconds: 1 }
`);
    await waitForContainer(h, 'never-starts', 'restarted after the startup probe failed', (s) => s.restartCount >= 1, 30_000);
    const evs = await events('never-starts');
    assert.ok(evs.some((e) => e.reason === 'Killing' && e.message === 'Container app failed startup probe, will be restarted'));
    assert.equal(ready(await h.pod('never-starts')), false);
    await deletePodNow(h, 'never-starts');
  });

  test('a tcpSocket readiness probe turns Ready once the port opens', async () => {
    await h.apply(`
apiVersion: v1
kind: Pod
metadata: { name: late-port }
spec:
  containers:
    - name: app
      image: host
      command: ["node", "-e", "setTimeout(()=>require('net').createServer(s=>s.end()).listen(9000),3000)"]
      readinessProbe: { tcpSocket: { port: 9000 }, periodSeconds: 1 }
`);
    const { pod: running } = await waitForContainer(h, 'late-port', 'container running', isRunning);
    assert.equal(ready(running), false, 'not Ready before the port opens');
    const p = await h.waitReady('late-port', 'default', 20_000);
    assert.equal(p.status!.containerStatuses![0]!.ready, true);
    await deletePodNow(h, 'late-port');
  });

  test('a grpc readiness probe follows grpc.health.v1 SERVING / NOT_SERVING', async () => {
    // a tiny health server (HTTP/2, hand-framed protobuf): NOT_SERVING while /tmp/down exists
    writeFileSync(
      join(hostDir, 'grpc-health.js'),
      `const fs = require('fs');
require('http2').createServer().on('stream', (stream) => {
  stream.on('data', () => {});
  stream.on('end', () => {
    const status = fs.existsSync('/tmp/down') ? 2 : 1;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, status]));
  });
}).listen(9090);
`,
    );
    await h.apply(`
apiVersion: v1
kind: Pod
metadata: { name: grpc-health }
spec:
  containers:
    - name: app
      image: host
      command: ["node", "/scripts/grpc-health.js"]
      volumeMounts: [{ name: scripts, mountPath: /scripts, readOnly: true }]
      readinessProbe: { grpc: { port: 9090 }, periodSeconds: 1, failureThreshold: 1 }
  volumes: [{ name: scripts, hostPath: { path: ${JSON.stringify(hostDir)}, type: Directory } }]
`);
    await h.waitReady('grpc-health', 'default', 20_000);
    await h.cli(['exec', 'grpc-health', '--', 'touch', '/tmp/down']);
    await h.eventually('grpc pod unready', async () => !ready(await h.pod('grpc-health')), 15_000);
    const messages = (await events('grpc-health')).filter((e) => e.reason === 'Unhealthy').map((e) => e.message);
    assert.ok(messages.includes('Readiness probe failed: service unhealthy (responded with "NOT_SERVING")'), JSON.stringify(messages));
    await h.cli(['exec', 'grpc-health', '--', 'rm', '/tmp/down']);
    await h.waitReady('grpc-health', 'default', 15_000);
    await deletePodNow(h, 'grpc-health');
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
    await waitForContainer(h, 'bad-hook', 'restarted after the failed hook', (s) => s.restartCount >= 1, 30_000);
    await deletePodNow(h, 'bad-hook');
  });
});
