// 100 pod create/delete cycles (10 rounds of 10 pods at once) leave no netns, veth, IP allocation,
// cgroup or process behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/core/exec.js';
import { MeshboxHarness } from './helpers/meshbox-harness.js';
import type { Pod } from '../../src/api/types.js';

const ROUNDS = 10;
const PER_ROUND = 10;

/**
 * Processes (as "pid uid") that live in the cgroup of one of these pods, in any hierarchy: one pass
 * over /proc/<pid>/cgroup. Catches what pgrep on the state folder cannot: the containers' own
 * processes (sleep, sh), whose command lines do not name meshbox.
 */
function processesInPodCgroups(uids: ReadonlySet<string>): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let cgroups: string;
    try {
      cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    } catch {
      continue; // exited since readdir
    }
    for (const m of cgroups.matchAll(/\/meshbox\/([^/\n]+)/g)) {
      if (uids.has(m[1]!)) {
        found.push(`${pid} ${m[1]}`);
        break;
      }
    }
  }
  return found;
}

test(`${ROUNDS * PER_ROUND} pod create/delete cycles leave nothing behind`, { timeout: 600_000 }, async () => {
  const h = new MeshboxHarness();
  try {
    await h.start();
    const uids = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const docs = Array.from({ length: PER_ROUND }, (_, i) => `
apiVersion: v1
kind: Pod
metadata: { name: cycle-${round}-${i}, labels: { cycle: "yes" } }
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - { name: main, image: host, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"] }
`).join('---\n');
      await h.apply(docs);
      await h.eventually(`round ${round} Ready`, async () => {
        const pods = await h.list<Pod>('/api/v1/namespaces/default/pods?labelSelector=cycle%3Dyes');
        const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        for (const p of pods) uids.add(p.metadata.uid!);
        return ready.length === PER_ROUND;
      }, 120_000);
      if (round === 0) {
        // the scan below finds container processes when there are some
        const running = processesInPodCgroups(uids);
        assert.ok(running.length >= PER_ROUND, `each Ready pod of round 0 has a process in its cgroup: ${running.join(', ')}`);
      }
      const del = await h.cli(['delete', 'pods', '-l', 'cycle=yes']);
      assert.equal(del.code, 0, del.stderr);
      await h.eventually(`round ${round} deleted`, async () => (await h.list('/api/v1/namespaces/default/pods?labelSelector=cycle%3Dyes')).length === 0, 120_000);
    }
    assert.equal(uids.size, ROUNDS * PER_ROUND);

    const netns = (await run('ip', ['netns', 'list'])).stdout;
    assert.deepEqual([...uids].filter((u) => netns.includes(u)), [], 'no netns left');
    const veths = (await run('ip', ['-o', 'link', 'show', 'master', h.bridge])).stdout.trim();
    assert.equal(veths, '', 'no veth left on the bridge');
    const ipam = join(h.stateDir, 'cni', 'ipam', `meshbox-${h.bridge}`);
    const leases = readdirSync(ipam).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
    assert.deepEqual(leases, [], 'no IP allocation left');
    const cgroups = (await run('find', ['/sys/fs/cgroup', '-maxdepth', '3', '-path', '*meshbox/*', '-type', 'd'], { allowFailure: true })).stdout;
    assert.deepEqual([...uids].filter((u) => cgroups.includes(u)), [], 'no cgroup left');
    const procs = (await run('pgrep', ['-af', join(h.stateDir, 'containers')], { allowFailure: true })).stdout.trim();
    assert.equal(procs, '', 'no shim or runc process left');
    assert.deepEqual(processesInPodCgroups(uids), [], 'no process left in any cycled pod\'s cgroup');
    assert.deepEqual(readdirSync(join(h.stateDir, 'pods')), [], 'no pod folder left');
  } finally {
    const leaks = await h.down();
    assert.deepEqual(leaks, []);
  }
});
