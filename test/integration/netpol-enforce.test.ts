/**
 * NetworkPolicy enforcement end to end, as root: a bridge mbx<rand> with pods in 10.207.<r>.0/24,
 * four "pods" (netns attached by the real CNI plugins, each running a tiny TCP server that answers
 * its name on 8080 and 9090), the real SqliteStore (pods written with their IPs and labels — a
 * boundary fake of the kubelet) and the real NetworkPolicy controller writing real iptables rules.
 *
 *   np-a: frontend (app=frontend), other (app=other), backend (app=backend, port 8080 named "http")
 *   np-b: remote (app=frontend), namespace labelled team=b
 *
 * Everything is removed in `finally`; the last check is that iptables-save has no line of ours.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { KubeObject, Pod } from '../../src/api/types.js';
import { run } from '../../src/core/exec.js';
import { randomHex } from '../../src/core/ids.js';
import { silentLogger } from '../../src/core/logger.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { EventRecorder, InformerFactory, type Controller } from '../../src/reconcile/index.js';
import { createNetworkPolicyController, teardownNetworkPolicies } from '../../src/controllers/netpol/network-policy-controller.js';
import { NETWORK_POLICIES, type NetworkPolicySpec } from '../../src/controllers/netpol/network-policy-types.js';
import { PolicyApplier, dispatchChainFor, podChainPrefixFor, type ApplyOutcome, type PodPolicy } from '../../src/netfilter/policy/index.js';
import { NetnsPods, assertAnswered, assertRefusedQuickly, bridgeNameFor, pickFreeOctet, tcpAttempts, type Attempt } from './helpers/netns-pods.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces, bridges, iptables)' : false;

const PODS = [
  { name: 'frontend', ns: 'np-a', labels: { app: 'frontend' } },
  { name: 'other', ns: 'np-a', labels: { app: 'other' } },
  { name: 'backend', ns: 'np-a', labels: { app: 'backend' } },
  { name: 'remote', ns: 'np-b', labels: { app: 'frontend' } },
] as const;
type PodName = (typeof PODS)[number]['name'];

const SERVER = `
const name = process.argv[1];
const net = require('net');
let up = 0;
for (const port of [8080, 9090]) net.createServer((s) => s.end(name + ':' + port)).listen(port, '0.0.0.0', () => { if (++up === 2) console.log('listening'); });
`;

/** Records when the applier really changed the kernel's rules. */
class TimedApplier extends PolicyApplier {
  readonly applied: { at: number; outcome: ApplyOutcome }[] = [];
  override async apply(pods: readonly PodPolicy[]): Promise<ApplyOutcome> {
    const outcome = await super.apply(pods);
    if (outcome.changed) this.applied.push({ at: performance.now(), outcome });
    return outcome;
  }
}

test('NetworkPolicy enforcement: pod/namespace selectors, ipBlock except, named port, egress, replies, removal, teardown', { skip, timeout: 180_000 }, async (t) => {
  const tag = randomHex(6);
  const bridge = bridgeNameFor(tag);
  const r = await pickFreeOctet(bridge, (o) => [`10.207.${o}.0/24`], { attempts: 30, exhausted: 'no free /24 in 10.207.0.0/16' });
  const podCidr = `10.207.${r}.0/24`;
  const gateway = `10.207.${r}.1`;
  const pods = await NetnsPods.create({ tag, networkName: `mbx-np-${tag}`, subnet: podCidr, gateway, routes: [podCidr] });
  const store = new SqliteStore({ stateDir: join(pods.dir, 'state') });
  const informers = new InformerFactory(store);
  const events = new EventRecorder({ store, component: 'networkpolicy-controller' });
  const applier = new TimedApplier({ bridge });
  let controller: Controller | undefined;
  let tornDown = false;
  try {
    const ips = {} as Record<PodName, string>;
    for (const p of PODS) ips[p.name] = await pods.addServingPod(p.name, SERVER);

    store.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'np-a', labels: { 'kubernetes.io/metadata.name': 'np-a' } } });
    store.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'np-b', labels: { 'kubernetes.io/metadata.name': 'np-b', team: 'b' } } });
    for (const p of PODS) {
      const ports = p.name === 'backend' ? [{ name: 'http', containerPort: 8080, protocol: 'TCP' as const }] : [];
      const pod: Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: p.name, namespace: p.ns, labels: { ...p.labels } },
        spec: { containers: [{ name: 'srv', image: 'host', ports }] },
      };
      const created = store.create('pods', pod);
      store.updateStatus('pods', { ...created, status: { phase: 'Running', podIP: ips[p.name], hostIP: gateway } });
    }

    informers.start();
    controller = createNetworkPolicyController({ store, informers, events, log: silentLogger, bridge, applier });
    await controller.start();

    const connect = async (from: PodName, ...targets: [PodName, number][]): Promise<Attempt[]> => {
      return tcpAttempts(pods.nsName(from), targets.map(([to, port]) => `${ips[to]}:${port}`));
    };
    const ok = (a: Attempt | undefined, to: PodName, port: number, what: string) => assertAnswered(a, `${to}:${port}`, what);
    const refused = (a: Attempt | undefined, what: string) => assertRefusedQuickly(a, what);
    /** Applies a change and waits until the controller has put the result into the kernel. */
    const change = async (fn: () => void): Promise<number> => {
      const before = applier.applied.length;
      const t0 = performance.now();
      fn();
      while (applier.applied.length === before) {
        if (performance.now() - t0 > 5000) throw new Error('the controller did not apply the change within 5 s');
        await new Promise((res) => setTimeout(res, 2));
      }
      return applier.applied.at(-1)!.at - t0;
    };
    const policy = (name: string, ns: string, spec: NetworkPolicySpec): KubeObject => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name, namespace: ns },
      spec,
    });
    const removePolicy = (name: string, ns = 'np-a') => change(() => store.delete(NETWORK_POLICIES, ns, name));
    const backendSel = { matchLabels: { app: 'backend' } };

    await t.test('without a policy every pod reaches backend (the control)', async () => {
      const [f, o, rm] = [(await connect('frontend', ['backend', 8080]))[0], (await connect('other', ['backend', 8080]))[0], (await connect('remote', ['backend', 9090]))[0]];
      ok(f, 'backend', 8080, 'frontend');
      ok(o, 'backend', 8080, 'other');
      ok(rm, 'backend', 9090, 'remote');
    });

    await t.test('allow only app=frontend (same namespace) on 8080: frontend passes, other and remote are refused at once', async () => {
      const ms = await change(() =>
        store.create(
          NETWORK_POLICIES,
          policy('only-frontend', 'np-a', {
            podSelector: backendSel,
            policyTypes: ['Ingress'],
            ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
          }),
        ),
      );
      t.diagnostic(`policy in the kernel ${ms.toFixed(1)} ms after the store write (restore ${applier.applied.at(-1)!.outcome.durationMs.toFixed(1)} ms)`);
      const [f8080, f9090] = await connect('frontend', ['backend', 8080], ['backend', 9090]);
      ok(f8080, 'backend', 8080, 'frontend to 8080');
      refused(f9090, 'frontend to 9090 (port not allowed)');
      refused((await connect('other', ['backend', 8080]))[0], 'other (app=other)');
      refused((await connect('remote', ['backend', 8080]))[0], 'remote (app=frontend in another namespace)');
      // pods the policy does not select are untouched
      ok((await connect('other', ['frontend', 8080]))[0], 'frontend', 8080, 'other to frontend');
      // the node is never blocked (its traffic does not cross FORWARD)
      ok((await tcpAttempts(undefined, [`${ips.backend}:9090`]))[0], 'backend', 9090, 'the host to backend');
    });

    await t.test('removing the policy opens the path again within 1 s', async () => {
      const ms = await removePolicy('only-frontend');
      t.diagnostic(`removal in the kernel ${ms.toFixed(1)} ms after the store delete`);
      assert.ok(ms < 1000, `took ${ms} ms`);
      ok((await connect('other', ['backend', 8080]))[0], 'backend', 8080, 'other after removal');
    });

    await t.test('namespaceSelector AND podSelector in one peer: only app=frontend pods of team=b namespaces', async () => {
      await change(() =>
        store.create(
          NETWORK_POLICIES,
          policy('from-team-b', 'np-a', {
            podSelector: backendSel,
            ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } }, podSelector: { matchLabels: { app: 'frontend' } } }] }],
          }),
        ),
      );
      ok((await connect('remote', ['backend', 8080]))[0], 'backend', 8080, 'remote (team=b, app=frontend)');
      refused((await connect('frontend', ['backend', 8080]))[0], 'frontend (app=frontend, namespace np-a)');
      // a label change on the namespace moves its pods out of the peer set
      await change(() => {
        const ns = store.get('namespaces', undefined, 'np-b')!;
        store.update('namespaces', { ...ns, metadata: { ...ns.metadata, labels: { 'kubernetes.io/metadata.name': 'np-b', team: 'c' } } });
      });
      refused((await connect('remote', ['backend', 8080]))[0], 'remote after its namespace lost team=b');
      await removePolicy('from-team-b');
    });

    await t.test('ipBlock with except: the pod CIDR minus other', async () => {
      await change(() =>
        store.create(
          NETWORK_POLICIES,
          policy('cidr', 'np-a', { podSelector: backendSel, ingress: [{ from: [{ ipBlock: { cidr: podCidr, except: [`${ips.other}/32`] } }] }] }),
        ),
      );
      ok((await connect('frontend', ['backend', 9090]))[0], 'backend', 9090, 'frontend (inside the block)');
      refused((await connect('other', ['backend', 9090]))[0], 'other (excepted)');
      await removePolicy('cidr');
    });

    await t.test('named port: "http" resolves to backend\'s 8080, 9090 stays closed', async () => {
      await change(() => store.create(NETWORK_POLICIES, policy('named', 'np-a', { podSelector: backendSel, ingress: [{ ports: [{ port: 'http' }] }] })));
      const [a, b] = await connect('other', ['backend', 8080], ['backend', 9090]);
      ok(a, 'backend', 8080, 'other to the named port');
      refused(b, 'other to an unnamed port');
      await removePolicy('named');
    });

    await t.test('egress: frontend may reach only backend:8080; replies to allowed connections pass both ways', async () => {
      await change(() =>
        store.create(
          NETWORK_POLICIES,
          policy('frontend-out', 'np-a', {
            podSelector: { matchLabels: { app: 'frontend' } },
            policyTypes: ['Egress'],
            egress: [{ to: [{ podSelector: backendSel }], ports: [{ protocol: 'TCP', port: 8080 }] }],
          }),
        ),
      );
      const [toBackend, toBackend9090, toOther] = await connect('frontend', ['backend', 8080], ['backend', 9090], ['other', 8080]);
      ok(toBackend, 'backend', 8080, 'frontend to backend:8080');
      refused(toBackend9090, 'frontend to backend:9090');
      refused(toOther, 'frontend to other');
      // egress isolation does not stop incoming connections, and their replies leave frontend
      ok((await connect('other', ['frontend', 8080]))[0], 'frontend', 8080, 'other to frontend (reply leaves an egress-isolated pod)');
      // backend denies all egress: the replies to frontend's allowed connection still pass
      await change(() => store.create(NETWORK_POLICIES, policy('backend-no-egress', 'np-a', { podSelector: backendSel, policyTypes: ['Egress'] })));
      ok((await connect('frontend', ['backend', 8080]))[0], 'backend', 8080, 'frontend to backend with backend egress denied');
      refused((await connect('backend', ['other', 8080]))[0], 'backend to other (egress denied)');
      await removePolicy('backend-no-egress');
      await removePolicy('frontend-out');
      ok((await connect('frontend', ['other', 8080]))[0], 'other', 8080, 'frontend to other after removal');
    });

    await t.test('a pod that gets the peer label is let in; unchanged state writes nothing', async () => {
      await change(() =>
        store.create(
          NETWORK_POLICIES,
          policy('only-frontend', 'np-a', { podSelector: backendSel, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }] }] }),
        ),
      );
      refused((await connect('other', ['backend', 8080]))[0], 'other before relabel');
      await change(() => {
        const p = store.get('pods', 'np-a', 'other')!;
        store.update('pods', { ...p, metadata: { ...p.metadata, labels: { app: 'frontend' } } });
      });
      ok((await connect('other', ['backend', 8080]))[0], 'backend', 8080, 'other after it became app=frontend');
      // a status-only change (no label, IP or phase change) renders the same rules: no restore
      const before = applier.applied.length;
      const p = store.get('pods', 'np-a', 'frontend')!;
      store.updateStatus('pods', { ...p, status: { ...(p.status as object), startTime: new Date().toISOString() } });
      await new Promise((res) => setTimeout(res, 200));
      assert.equal(applier.applied.length, before, 'no rewrite for an unchanged rendering');
    });

    await t.test('teardown removes every chain and hook of the bridge', async () => {
      await controller!.stop();
      controller = undefined;
      await teardownNetworkPolicies(bridge);
      tornDown = true;
      const saved = (await run('iptables-save', [])).stdout.split('\n');
      const mine = saved.filter((l) => l.includes(dispatchChainFor(bridge)) || l.includes(podChainPrefixFor(bridge)));
      assert.deepEqual(mine, []);
      ok((await connect('remote', ['backend', 8080]))[0], 'backend', 8080, 'remote after teardown');
    });
  } finally {
    await controller?.stop().catch(() => undefined);
    if (!tornDown) await teardownNetworkPolicies(bridge).catch(() => undefined);
    informers.stop();
    store.close();
    await pods.cleanup();
  }
});
