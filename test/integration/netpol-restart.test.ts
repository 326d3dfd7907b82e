/**
 * NetworkPolicy rules across a daemon restart and against drift, as root, on the real filter table:
 * two bridges' controllers side by side (names mbx<rand>a/b, pod IPs from 10.207.<r>.0/24, no link
 * is created: only rules are checked here, traffic is netpol-enforce.test.ts' job), the real
 * SqliteStore and controller. Checks that rules stay in force while the controller is down, that a
 * new controller adopts them and deletes the chains of pods gone meanwhile, that the periodic repair
 * puts back a hook someone deleted, and that teardown of one bridge leaves the other alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/types.js';
import { run } from '../../src/core/exec.js';
import { randomHex } from '../../src/core/ids.js';
import { silentLogger } from '../../src/core/logger.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { EventRecorder, InformerFactory, type Controller } from '../../src/reconcile/index.js';
import { eventually } from '../../src/reconcile/testing/eventually.js';
import { createNetworkPolicyController, teardownNetworkPolicies } from '../../src/controllers/netpol/network-policy-controller.js';
import { NETWORK_POLICIES } from '../../src/controllers/netpol/network-policy-types.js';
import { dispatchChainFor, podChainName, podChainPrefixFor } from '../../src/netfilter/policy/index.js';

const skip = process.getuid?.() !== 0 ? 'needs root (iptables)' : false;

async function filterRules(): Promise<string[]> {
  return (await run('iptables-save', ['-t', 'filter'])).stdout.split('\n');
}
function linesOf(rules: string[], bridge: string): string[] {
  return rules.filter((l) => l.includes(dispatchChainFor(bridge)) || l.includes(podChainPrefixFor(bridge)));
}

interface Daemon {
  store: Store;
  informers: InformerFactory;
  controller: Controller;
  stop(): Promise<void>;
}

async function startDaemon(stateDir: string, bridge: string, repairEveryMs = 0): Promise<Daemon> {
  const store = new SqliteStore({ stateDir });
  const informers = new InformerFactory(store);
  const events = new EventRecorder({ store, component: 'networkpolicy-controller' });
  informers.start();
  const controller = createNetworkPolicyController({ store, informers, events, log: silentLogger, bridge, repairEveryMs });
  await controller.start();
  return {
    store,
    informers,
    controller,
    async stop() {
      await controller.stop();
      informers.stop();
      store.close();
    },
  };
}

function addPod(store: Store, name: string, ip: string, labels: Record<string, string>): KubeObject {
  const p = store.create('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels }, spec: { containers: [{ name: 'c', image: 'host' }] } });
  return store.updateStatus('pods', { ...p, status: { phase: 'Running', podIP: ip } });
}

test('NetworkPolicy rules survive a controller restart, are adopted, repaired, and torn down per bridge', { skip, timeout: 60_000 }, async (t) => {
  const tag = randomHex(6);
  const [bridgeA, bridgeB] = [`mbx${tag}a`, `mbx${tag}b`];
  const r = Math.floor(Math.random() * 256);
  const dir = await mkdtemp(join(tmpdir(), `mbx-${tag}-`));
  let a: Daemon | undefined;
  let b: Daemon | undefined;
  try {
    a = await startDaemon(join(dir, 'a'), bridgeA);
    b = await startDaemon(join(dir, 'b'), bridgeB);
    const policy = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'default' }, spec: { podSelector: {} } };
    const podsA = [addPod(a.store, 'one', `10.207.${r}.2`, {}), addPod(a.store, 'two', `10.207.${r}.3`, {})];
    a.store.create(NETWORK_POLICIES, policy);
    const podB = addPod(b.store, 'one', `10.207.${r}.130`, {});
    b.store.create(NETWORK_POLICIES, policy);
    const chainOf = (bridge: string, pod: KubeObject) => podChainName(bridge, pod.metadata.uid!, 'ingress');
    await eventually(async () => {
      const rules = await filterRules();
      for (const p of podsA) assert.ok(rules.includes(`:${chainOf(bridgeA, p)} - [0:0]`), `chain of ${p.metadata.name} on ${bridgeA}`);
      assert.ok(rules.includes(`:${chainOf(bridgeB, podB)} - [0:0]`));
      assert.ok(rules.some((l) => l.startsWith('-A FORWARD -i ' + bridgeA + ' ') && l.endsWith(`-j ${dispatchChainFor(bridgeA)}`)), 'hook of A');
    }, 10_000);

    await t.test('the rules stay in force while the controller is down', async () => {
      const before = linesOf(await filterRules(), bridgeA);
      await a!.stop();
      a = undefined;
      assert.deepEqual(linesOf(await filterRules(), bridgeA), before);
    });

    await t.test('a new controller adopts the rules and deletes the chain of a pod deleted meanwhile', async () => {
      const store = new SqliteStore({ stateDir: join(dir, 'a') });
      store.delete('pods', 'default', 'two');
      store.close();
      a = await startDaemon(join(dir, 'a'), bridgeA);
      await eventually(async () => {
        const rules = await filterRules();
        assert.ok(!rules.some((l) => l.includes(chainOf(bridgeA, podsA[1]!))), 'the chain of the deleted pod is gone');
        assert.ok(rules.includes(`:${chainOf(bridgeA, podsA[0]!)} - [0:0]`), 'the live pod keeps its chain');
      }, 10_000);
      const hooks = (await filterRules()).filter((l) => l.startsWith('-A FORWARD') && l.includes(dispatchChainFor(bridgeA)));
      assert.equal(hooks.length, 2, `exactly the two hooks, not duplicates: ${hooks.join(' | ')}`);
    });

    await t.test('the periodic repair puts back a hook and a rule someone deleted', async () => {
      await a!.stop();
      a = await startDaemon(join(dir, 'a'), bridgeA, 200);
      await eventually(async () => assert.ok((await filterRules()).includes(`:${chainOf(bridgeA, podsA[0]!)} - [0:0]`)));
      await run('iptables', ['-w', '5', '-D', 'FORWARD', '-i', bridgeA, '-m', 'comment', '--comment', `meshbox NetworkPolicy ${bridgeA}`, '-j', dispatchChainFor(bridgeA)]);
      await run('iptables', ['-w', '5', '-F', chainOf(bridgeA, podsA[0]!)]);
      await eventually(async () => {
        const rules = await filterRules();
        assert.ok(rules.some((l) => l.startsWith(`-A FORWARD -i ${bridgeA} `)), 'hook back');
        assert.ok(rules.some((l) => l.startsWith(`-A ${chainOf(bridgeA, podsA[0]!)} `)), 'rules back');
      }, 5000);
    });

    await t.test('tearing down one bridge leaves the other bridge\'s rules alone', async () => {
      const bBefore = linesOf(await filterRules(), bridgeB);
      assert.ok(bBefore.length > 0);
      await a!.stop();
      a = undefined;
      await teardownNetworkPolicies(bridgeA);
      const rules = await filterRules();
      assert.deepEqual(linesOf(rules, bridgeA), []);
      assert.ok(!rules.some((l) => l.includes(bridgeA)), 'no hook of A left');
      assert.deepEqual(linesOf(rules, bridgeB), bBefore);
    });
  } finally {
    await a?.stop().catch(() => undefined);
    await b?.stop().catch(() => undefined);
    await teardownNetworkPolicies(bridgeA).catch(() => undefined);
    await teardownNetworkPolicies(bridgeB).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    const left = (await filterRules().catch(() => [])).filter((l) => l.includes(`mbx${tag}`) || l.includes(podChainPrefixFor(bridgeA)) || l.includes(podChainPrefixFor(bridgeB)));
    assert.deepEqual(left, [], 'nothing of either bridge is left');
  }
});
