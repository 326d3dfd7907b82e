// 100 pod create/delete cycles (10 rounds of 10 pods at once) leave no netns, veth, IP allocation,
// cgroup or process behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/core/exec.js';
import { MeshboxHarness } from './helpers/meshbox-harness.js';
import type { Pod } from '../../src/api/types.js';

const ROUNDS = 10;
const PER_ROUND = 10;

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
    assert.equal(procs, '', 'no container process left');
    assert.deepEqual(readdirSync(join(h.stateDir, 'pods')), [], 'no pod folder left');
  } finally {
    const leaks = await h.down();
    assert.deepEqual(leaks, []);
  }
});
