// Pods in real containers on a real bridge: the foundation's "Done when" list, against one daemon
// started through `meshbox up` (its own bridge, CIDRs and state folder).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/core/exec.js';
import { cgroupMounts, podCgroupPath } from '../../src/runtime/cgroups.js';
import type { CacheEntry } from '../../src/cni/result-cache.js';
import { meshboxForThisFile, sleep } from './helpers/meshbox-harness.js';
import { containerPid, deletePodNow, isRunning, waitForContainer } from './helpers/pod-waits.js';

const h = meshboxForThisFile();
const hostPort = 20_000 + Math.floor(Math.random() * 10_000);

/** The host-side veth of a pod's attachment, as the CNI result cache recorded it (the interface with no sandbox that is not the bridge). */
function hostVethOf(podUid: string): string {
  const dir = join(h.stateDir, 'cni', 'cache', 'results');
  for (const f of readdirSync(dir)) {
    const entry = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CacheEntry;
    if (!entry.containerId.includes(podUid) || entry.networkName !== `meshbox-${h.bridge}`) continue;
    const veth = entry.result?.interfaces?.find((i) => !i.sandbox && i.name !== h.bridge)?.name;
    if (veth) return veth;
  }
  throw new Error(`no CNI result with a host veth for pod ${podUid} in ${dir}`);
}

/** Names of the links whose master is this daemon's bridge. */
async function bridgePorts(): Promise<string[]> {
  const links = JSON.parse((await run('ip', ['-j', 'link', 'show', 'master', h.bridge])).stdout || '[]') as { ifname: string }[];
  return links.map((l) => l.ifname);
}

/** The pod's cgroup folder in every mounted hierarchy that has one. */
function podCgroupDirs(podUid: string): string[] {
  return cgroupMounts().map((m) => join(m.mountPoint, podCgroupPath(podUid))).filter((d) => existsSync(d));
}

describe('pods on the bridge', () => {
  test('pods talk over TCP by pod IP, resolve pod names, publish a hostPort, read a configMap volume', async () => {
    await h.apply(`
apiVersion: v1
kind: ConfigMap
metadata: { name: greeting }
data:
  greeting.txt: "hello from a configmap"
---
apiVersion: v1
kind: Pod
metadata: { name: server, labels: { app: server } }
spec:
  containers:
    - name: server
      image: host
      command: ["node", "-e", "const fs=require('fs');require('http').createServer((q,s)=>s.end(fs.readFileSync('/config/greeting.txt','utf8')+' via '+require('os').hostname())).listen(8080)"]
      ports: [{ containerPort: 8080, hostPort: ${hostPort} }]
      volumeMounts: [{ name: config, mountPath: /config }]
  volumes: [{ name: config, configMap: { name: greeting } }]
---
apiVersion: v1
kind: Pod
metadata: { name: client }
spec:
  containers:
    - { name: client, image: host, command: ["sleep", "3600"] }
`);
    const server = await h.waitReady('server');
    await h.waitReady('client');
    const ip = server.status!.podIP!;
    assert.match(ip, /^10\.21\d\.\d+\.\d+$/);

    const body = await h.eventually('server answering', async () => {
      const r = await h.cli(['exec', 'client', '--', 'node', '-e', `fetch('http://${ip}:8080/').then(r=>r.text()).then(t=>process.stdout.write(t))`]);
      return r.code === 0 ? r.stdout : undefined;
    });
    assert.equal(body, 'hello from a configmap via server', 'client pod reaches the server pod by IP; the configMap volume is readable');

    const dnsName = `${ip.replaceAll('.', '-')}.default.pod.cluster.local`;
    const resolved = await h.cli(['exec', 'client', '--', 'node', '-e', `require('dns').lookup('${dnsName}',{family:4},(e,a)=>{if(e)throw e;process.stdout.write(a)})`]);
    assert.equal(resolved.stdout, ip, `cluster DNS answers ${dnsName} inside the pod: ${resolved.stderr}`);
    const resolvConf = await h.cli(['exec', 'client', '--', 'cat', '/etc/resolv.conf']);
    assert.match(resolvConf.stdout, new RegExp(`nameserver ${h.gateway.replaceAll('.', '\\.')}`));
    assert.match(resolvConf.stdout, /search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
    assert.match(resolvConf.stdout, /options ndots:5/);

    const fromHost = await fetch(`http://127.0.0.1:${hostPort}/`).then((r) => r.text());
    assert.equal(fromHost, 'hello from a configmap via server', 'hostPort published on 127.0.0.1');

    const routes = await h.cli(['exec', 'client', '--', 'ip', '-4', 'route']);
    assert.equal(routes.code, 0);
    assert.doesNotMatch(routes.stdout, /^default/m, 'pods get no default route: nothing leaves the machine');
    assert.equal((await h.cli(['exec', 'server', '--', 'hostname'])).stdout.trim(), 'server');

    const table = await h.cli(['get', 'pods', '-o', 'wide']);
    assert.match(table.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/);
    assert.match(table.stdout, new RegExp(`^server\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${ip.replaceAll('.', '\\.')}`, 'm'));
  });

  test('exec passes the exit status of the command on', async () => {
    await h.waitReady('client');
    assert.equal((await h.cli(['exec', 'client', '--', 'sh', '-c', 'exit 7'])).code, 7);
    assert.equal((await h.cli(['exec', 'client', '--', 'true'])).code, 0);
    const echo = await h.cli(['exec', '-i', 'client', '--', 'cat'], 'piped through stdin');
    assert.equal(echo.stdout, 'piped through stdin');
  });

  test('a SIGKILLed container restarts at once, then with a 10 s back-off; restartCount and --previous show it', async () => {
    await h.apply(`
apiVersion: v1
kind: Pod
metadata: { name: crashy }
spec:
  containers:
    - { name: main, image: host, command: ["sh", "-c", "echo run started; exec sleep 3600"] }
`);
    const pod = await h.waitReady('crashy');
    const uid = pod.metadata.uid!;
    process.kill(containerPid(h, uid, 'main', 0), 'SIGKILL');
    const { status: restarted } = await waitForContainer(h, 'crashy', 'first restart', (s) => s.restartCount === 1 && isRunning(s));
    assert.ok('terminated' in restarted.lastState);
    if ('terminated' in restarted.lastState) {
      assert.equal(restarted.lastState.terminated.exitCode, 137);
      assert.equal(restarted.lastState.terminated.reason, 'Error');
    }
    const previous = await h.cli(['logs', 'crashy', '--previous']);
    assert.equal(previous.stdout, 'run started\n');

    const killedAt = Date.now();
    process.kill(containerPid(h, uid, 'main', 1), 'SIGKILL');
    const { status: waiting } = await waitForContainer(h, 'crashy', 'CrashLoopBackOff', (s) => 'waiting' in s.state && s.state.waiting.reason === 'CrashLoopBackOff');
    assert.match(('waiting' in waiting.state && waiting.state.waiting.message) || '', /back-off 10s restarting failed container=main/);
    const table = await h.cli(['get', 'pod', 'crashy']);
    assert.match(table.stdout, /crashy\s+0\/1\s+CrashLoopBackOff\s+1\s/);
    await waitForContainer(h, 'crashy', 'second restart', (s) => s.restartCount === 2 && isRunning(s), 30_000);
    const waited = Date.now() - killedAt;
    assert.ok(waited >= 9_500, `the second restart waited the 10 s back-off (waited ${waited} ms)`);
    const events = await h.cli(['describe', 'pod', 'crashy']);
    assert.match(events.stdout, /BackOff\s+.*Back-off restarting failed container main/);
    await deletePodNow(h, 'crashy');
  });

  test('a container over its memory limit is OOM-killed and reported as such', async () => {
    await h.apply(`
apiVersion: v1
kind: Pod
metadata: { name: hungry }
spec:
  restartPolicy: Never
  containers:
    - name: main
      image: host
      command: ["node", "-e", "const a=[];for(;;){a.push(Buffer.alloc(16<<20,1))}"]
      resources: { limits: { memory: 48Mi } }
`);
    const status = (await waitForContainer(h, 'hungry', 'OOMKilled', (s) => 'terminated' in s.state)).pod.status!;
    const s = status.containerStatuses![0]!;
    assert.ok('terminated' in s.state);
    if ('terminated' in s.state) {
      assert.equal(s.state.terminated.reason, 'OOMKilled');
      assert.equal(s.state.terminated.exitCode, 137);
    }
    assert.equal(status.phase, 'Failed');
    assert.match((await h.cli(['get', 'pod', 'hungry'])).stdout, /hungry\s+0\/1\s+OOMKilled\s+0/);
    await h.cli(['delete', 'pod', 'hungry']);
  });

  test('deleting a pod removes its netns, veth, cgroup, processes and IP allocation', async () => {
    await h.apply(`
apiVersion: v1
kind: Pod
metadata: { name: doomed }
spec:
  terminationGracePeriodSeconds: 20
  containers:
    - { name: main, image: host, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"] }
`);
    const pod = await h.waitReady('doomed');
    const uid = pod.metadata.uid!;
    const ip = pod.status!.podIP!;
    const pid = containerPid(h, uid, 'main', 0);
    const ipamFile = join(h.stateDir, 'cni', 'ipam', `meshbox-${h.bridge}`, ip);
    assert.ok(existsSync(ipamFile), 'host-local holds the pod IP while it runs');
    assert.match((await run('ip', ['netns', 'list'])).stdout, new RegExp(`mbx-${uid}`));
    const veth = hostVethOf(uid);
    assert.ok((await bridgePorts()).includes(veth), `the pod's host-side veth ${veth} (from the CNI result cache) is a port of ${h.bridge}`);
    const cgroups = podCgroupDirs(uid);
    assert.ok(cgroups.length > 0, `the pod has a cgroup under /meshbox/${uid} in some hierarchy`);
    const ownCgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    assert.match(ownCgroups, new RegExp(`:/meshbox/${uid}/`), `the container process lives in the pod's cgroup:\n${ownCgroups}`);

    const started = Date.now();
    const del = await h.cli(['delete', 'pod', 'doomed']);
    assert.equal(del.code, 0, del.stderr);
    await h.waitGone('doomed');
    // the container handles SIGTERM: it ends long before the 20 s grace period
    assert.ok(Date.now() - started < 10_000, `graceful stop sent SIGTERM first (took ${Date.now() - started} ms)`);
    assert.doesNotMatch((await run('ip', ['netns', 'list'])).stdout, new RegExp(`mbx-${uid}`), 'netns removed');
    assert.ok(!(await bridgePorts()).includes(veth), `veth ${veth} is no longer on ${h.bridge}`);
    assert.notEqual((await run('ip', ['link', 'show', 'dev', veth], { allowFailure: true })).code, 0, `veth ${veth} no longer exists`);
    assert.ok(!existsSync(ipamFile), 'IP allocation released');
    assert.throws(() => process.kill(pid, 0), 'container process gone');
    assert.deepEqual(cgroups.filter((d) => existsSync(d)), [], 'pod cgroups removed from every hierarchy');
  });

  test('a daemon killed with SIGKILL and started again keeps the pods running with the same IPs', async () => {
    await h.apply(`
apiVersion: v1
kind: Pod
metadata: { name: survivor }
spec:
  containers:
    - { name: main, image: host, command: ["sleep", "3600"] }
`);
    const before = await h.waitReady('survivor');
    const uid = before.metadata.uid!;
    const pid = containerPid(h, uid, 'main', 0);
    await h.killDaemon();
    await sleep(300);
    process.kill(pid, 0); // still running without the daemon
    await h.start();
    const after = await h.waitReady('survivor');
    await sleep(1500); // give a wrongly restarting kubelet the time to do damage
    const again = (await h.pod('survivor'))!;
    assert.equal(again.status!.podIP, before.status!.podIP, 'same IP');
    assert.equal(again.metadata.uid, uid);
    assert.equal(again.status!.containerStatuses![0]!.restartCount, 0, 'adopted, not restarted');
    assert.equal(containerPid(h, uid, 'main', 0), pid, 'same process');
    process.kill(pid, 0);
    assert.equal(after.status!.phase, 'Running');
    const client = await h.pod('client');
    assert.equal(client?.status?.phase, 'Running', 'the other pods were adopted too');
  });
});
