import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { EventObject, KubeObject } from '../../api/types.js';
import type { RunOptions, RunResult } from '../../core/exec.js';
import { silentLogger } from '../../core/logger.js';
import { PolicyApplier, podChainName } from '../../netfilter/policy/index.js';
import { EventRecorder, InformerFactory, type Controller } from '../../reconcile/index.js';
import { eventually } from '../../reconcile/testing/eventually.js';
import { openTestStore, type TestStore } from '../../reconcile/testing/test-store.js';
import { createNetworkPolicyController, REASON_NOT_ENFORCED, REASON_PARTLY_ENFORCED } from './network-policy-controller.js';
import { NETWORK_POLICIES } from './network-policy-types.js';

/** A fake iptables: records restores, can be made to fail, keeps the chains a restore declared. */
class FakeIptables {
  restores: string[] = [];
  saves = 0;
  failRestore = false;
  chains = new Set<string>();
  run = async (file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> => {
    const ok = (stdout = ''): RunResult => ({ code: 0, signal: null, stdout, stderr: '' });
    if (file === 'iptables-save') {
      this.saves++;
      return ok(['*filter', ...[...this.chains].map((c) => `:${c} - [0:0]`), 'COMMIT'].join('\n'));
    }
    if (file === 'iptables-restore') {
      if (this.failRestore) return { code: 1, signal: null, stdout: '', stderr: 'iptables-restore: line 3 failed' };
      const text = String(opts.input);
      this.restores.push(text);
      for (const m of text.matchAll(/^:(\S+) /gm)) this.chains.add(m[1]!);
      for (const m of text.matchAll(/^-X (\S+)$/gm)) this.chains.delete(m[1]!);
      return ok();
    }
    if (file === 'iptables') return ok(); // -C finds the hooks
    throw new Error(`unexpected ${file} ${args.join(' ')}`);
  };
}

const BRIDGE = 'mbxunit0';

describe('NetworkPolicy controller (real store, fake iptables)', () => {
  let ts: TestStore;
  let informers: InformerFactory;
  let fake: FakeIptables;
  let controller: Controller | undefined;

  beforeEach(() => {
    ts = openTestStore();
    informers = new InformerFactory(ts.store);
    fake = new FakeIptables();
  });
  afterEach(async () => {
    await controller?.stop();
    controller = undefined;
    informers.stop();
    ts.cleanup();
  });

  const start = async (repairEveryMs = 0) => {
    const applier = new PolicyApplier({ bridge: BRIDGE, run: fake.run, ensureBridgeNetfilter: false });
    const events = new EventRecorder({ store: ts.store, component: 'networkpolicy-controller' });
    informers.start();
    controller = createNetworkPolicyController({ store: ts.store, informers, events, log: silentLogger, bridge: BRIDGE, applier, repairEveryMs });
    await controller.start();
  };
  const addPod = (name: string, ip: string, labels: Record<string, string>) => {
    const p = ts.store.create('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels }, spec: { containers: [{ name: 'c', image: 'host' }] } });
    return ts.store.updateStatus('pods', { ...p, status: { phase: 'Running', podIP: ip } });
  };
  const addPolicy = (name: string, spec: object): KubeObject =>
    ts.store.create(NETWORK_POLICIES, { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'default' }, spec });
  const events = () => ts.store.list('events').items as EventObject[];

  it('writes the dispatch chain at start, even with no object, and deletes chains left by an earlier run', async () => {
    const leftover = podChainName(BRIDGE, 'gone-pod', 'ingress');
    fake.chains.add(leftover);
    await start();
    await eventually(() => assert.equal(fake.restores.length, 1));
    assert.match(fake.restores[0]!, new RegExp(`^-X ${leftover}$`, 'm'));
    assert.ok(!fake.chains.has(leftover));
  });

  it('renders a policy, follows peer changes, and skips the restore when nothing changed', async () => {
    const backend = addPod('backend', '10.1.0.2', { app: 'backend' });
    addPod('frontend', '10.1.0.1', { app: 'frontend' });
    await start();
    addPolicy('p', { podSelector: { matchLabels: { app: 'backend' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }] }] });
    const chain = podChainName(BRIDGE, backend.metadata.uid!, 'ingress');
    const allows = (ip: string) => new RegExp(`^-A MBXNP-\\w+-R-\\w+ -s ${ip.replace(/\./g, '\\.')}/32 -g MBXNP-\\w+-OK$`, 'm');
    await eventually(() => {
      assert.match(fake.restores.at(-1)!, new RegExp(`^-A ${chain} .*-j MBXNP-\\w+-R-\\w+$`, 'm'));
      assert.match(fake.restores.at(-1)!, allows('10.1.0.1'));
    });
    addPod('frontend2', '10.1.0.3', { app: 'frontend' });
    await eventually(() => assert.match(fake.restores.at(-1)!, allows('10.1.0.3')));
    const count = fake.restores.length;
    const fe = ts.store.get('pods', 'default', 'frontend')!;
    ts.store.update('pods', { ...fe, metadata: { ...fe.metadata, annotations: { touched: 'yes' } } });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(fake.restores.length, count, 'an annotation does not change the rules');
    ts.store.delete('pods', 'default', 'backend');
    await eventually(() => assert.ok(!fake.restores.at(-1)!.includes(`-A ${chain} `), 'the deleted pod\'s chain goes'));
    assert.match(fake.restores.at(-1)!, new RegExp(`^-X ${chain}$`, 'm'));
  });

  it('a refused restore gives every policy a Warning event and is retried until it succeeds', async () => {
    addPod('backend', '10.1.0.2', { app: 'backend' });
    fake.failRestore = true;
    addPolicy('p', { podSelector: {} });
    await start();
    await eventually(() => assert.ok(events().some((e) => e.reason === REASON_NOT_ENFORCED && e.involvedObject.name === 'p')));
    const warning = events().find((e) => e.reason === REASON_NOT_ENFORCED)!;
    assert.equal(warning.type, 'Warning');
    assert.match(warning.message, /line 3 failed/);
    fake.failRestore = false;
    await eventually(() => assert.equal(fake.restores.length, 1), 5000);
  });

  it('an unenforceable part of a policy is reported with a Warning event', async () => {
    addPod('backend', '10.1.0.2', { app: 'backend' });
    addPolicy('bad-cidr', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/40' } }] }] });
    await start();
    await eventually(() => assert.ok(events().some((e) => e.reason === REASON_PARTLY_ENFORCED && e.involvedObject.name === 'bad-cidr')));
    assert.ok(!fake.restores.at(-1)!.includes('10.0.0.0'), 'the bad peer allows nothing');
  });

  it('repairs periodically: the whole rule set is written again and the kernel read again', async () => {
    await start(40);
    await eventually(() => assert.equal(fake.restores.length, 1));
    const saves = fake.saves;
    await eventually(() => assert.ok(fake.restores.length >= 3 && fake.saves >= saves + 2, `${fake.restores.length} restores`), 3000);
  });
});
