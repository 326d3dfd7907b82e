/**
 * NetworkPolicy and Service VIPs together, as root: the reason policies are enforced on the host's
 * FORWARD chain. A client pod connects to a ClusterIP; the service proxy DNATs it on the host to an
 * endpoint pod; the policy must judge the endpoint pod and its target port (as in Kubernetes), not
 * the VIP. Real CNI bridge mbx<rand>, pods in 10.207.<r>.0/24, Services in 10.207.<s>.0/24, the real
 * SqliteStore, Endpoints controller, ServiceProxy and NetworkPolicy controller.
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
import { eventually } from '../../src/reconcile/testing/eventually.js';
import { ClusterIpAllocator } from '../../src/controllers/services/cluster-ip-allocator.js';
import { endpointsController } from '../../src/controllers/services/endpoints-controllers.js';
import { ServiceProxy } from '../../src/controllers/services/service-proxy.js';
import type { Service } from '../../src/controllers/services/service-types.js';
import { createNetworkPolicyController, teardownNetworkPolicies } from '../../src/controllers/netpol/network-policy-controller.js';
import { NETWORK_POLICIES, type NetworkPolicySpec } from '../../src/controllers/netpol/network-policy-types.js';
import { dispatchChainFor, podChainPrefixFor } from '../../src/netfilter/policy/index.js';
import { NetnsPods, assertAnswered, assertRefusedQuickly, bridgeNameFor, pickFreeSubnets, tcpAttempts } from './helpers/netns-pods.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces, bridges, iptables)' : false;
const PODS = [
  { name: 'frontend', labels: { app: 'frontend' } },
  { name: 'other', labels: { app: 'other' } },
  { name: 'backend', labels: { app: 'backend' } },
] as const;
type PodName = (typeof PODS)[number]['name'];

const SERVER = `
const name = process.argv[1];
require('net').createServer((s) => s.end(name)).listen(8080, '0.0.0.0', () => console.log('listening'));
`;

test('NetworkPolicy judges the endpoint pod and target port behind a ClusterIP', { skip, timeout: 180_000 }, async (t) => {
  const tag = randomHex(6);
  const bridge = bridgeNameFor(tag);
  const [r, s] = await pickFreeSubnets(
    bridge,
    () => {
      const pod = Math.floor(Math.random() * 256);
      const svc = (pod + 1 + Math.floor(Math.random() * 254)) % 256;
      return { pick: [pod, svc] as const, cidrs: [`10.207.${pod}.0/24`, `10.207.${svc}.0/24`] };
    },
    { attempts: 30, exhausted: 'no free pair of /24s in 10.207.0.0/16' },
  );
  const podCidr = `10.207.${r}.0/24`;
  const serviceCidr = `10.207.${s}.0/24`;
  const gateway = `10.207.${r}.1`;
  const pods = await NetnsPods.create({ tag, networkName: `mbx-nps-${tag}`, subnet: podCidr, gateway, routes: [podCidr, serviceCidr] });
  const store = new SqliteStore({ stateDir: join(pods.dir, 'state') });
  const informers = new InformerFactory(store);
  const endpoints = endpointsController({ store, informers });
  const events = new EventRecorder({ store, component: 'networkpolicy-controller' });
  let proxy: ServiceProxy | undefined;
  let netpol: Controller | undefined;
  try {
    const ips = {} as Record<PodName, string>;
    for (const p of PODS) {
      ips[p.name] = await pods.addServingPod(p.name, SERVER);
      const pod: Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: p.name, namespace: 'default', labels: { ...p.labels } },
        spec: { containers: [{ name: 'srv', image: 'host', ports: [{ name: 'tcp', containerPort: 8080, protocol: 'TCP' }] }] },
      };
      const created = store.create('pods', pod);
      store.updateStatus('pods', { ...created, status: { phase: 'Running', podIP: ips[p.name], conditions: [{ type: 'Ready', status: 'True' }] } });
    }
    const allocator = new ClusterIpAllocator({ store, serviceCidr });
    const service = (name: string, app: string): Service =>
      store.create(
        'services',
        allocator.admitService({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name, namespace: 'default' },
          spec: { type: 'ClusterIP', selector: { app }, ports: [{ name: 'tcp', port: 80, targetPort: 'tcp', protocol: 'TCP' }], sessionAffinity: 'None' },
        } as KubeObject),
      ) as Service;
    const vip = { backend: service('backend', 'backend').spec.clusterIP!, other: service('other', 'other').spec.clusterIP! };

    informers.start();
    await endpoints.start();
    proxy = new ServiceProxy({ informers, bridge, podCidr, serviceCidr });
    await proxy.start();
    netpol = createNetworkPolicyController({ store, informers, events, log: silentLogger, bridge });
    await netpol.start();

    const connect = (from: PodName, ...targets: string[]) => tcpAttempts(pods.nsName(from), targets);
    const answers = async (from: PodName, target: string, body: string) => assertAnswered((await connect(from, target))[0], body, `${from} → ${target}`);
    const refused = async (from: PodName, target: string, code = 'ECONNREFUSED') =>
      assertRefusedQuickly((await connect(from, target))[0], `${from} → ${target}`, code);
    const create = (name: string, spec: NetworkPolicySpec) =>
      store.create(NETWORK_POLICIES, { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'default' }, spec });

    // the service data path is current once every VIP answers (the control)
    await eventually(async () => {
      await answers('frontend', `${vip.backend}:80`, 'backend');
      await answers('frontend', `${vip.other}:80`, 'other');
    }, 10_000, 100);

    await t.test('egress to app=backend on 8080 allows backend\'s ClusterIP:80 and refuses other\'s', async () => {
      create('frontend-out', {
        podSelector: { matchLabels: { app: 'frontend' } },
        policyTypes: ['Egress'],
        egress: [{ to: [{ podSelector: { matchLabels: { app: 'backend' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
      });
      await eventually(() => refused('frontend', `${vip.other}:80`, 'EHOSTUNREACH'), 5000, 50);
      await answers('frontend', `${vip.backend}:80`, 'backend');
      await refused('frontend', `${ips.other}:8080`);
      store.delete(NETWORK_POLICIES, 'default', 'frontend-out');
      await eventually(() => answers('frontend', `${vip.other}:80`, 'other'), 5000, 50);
    });

    await t.test('ingress on backend from app=frontend: through the ClusterIP frontend passes, other is refused', async () => {
      create('backend-in', { podSelector: { matchLabels: { app: 'backend' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ port: 'tcp' }] }] });
      await eventually(() => refused('other', `${vip.backend}:80`, 'EHOSTUNREACH'), 5000, 50);
      await answers('frontend', `${vip.backend}:80`, 'backend');
      store.delete(NETWORK_POLICIES, 'default', 'backend-in');
      await eventually(() => answers('other', `${vip.backend}:80`, 'backend'), 5000, 50);
    });
  } finally {
    await netpol?.stop().catch(() => undefined);
    await teardownNetworkPolicies(bridge).catch(() => undefined);
    await proxy?.teardown().catch(() => undefined);
    await endpoints.stop().catch(() => undefined);
    informers.stop();
    store.close();
    await pods.cleanup();
    const left = (await run('iptables-save', ['-t', 'filter'], { allowFailure: true })).stdout
      .split('\n')
      .filter((l) => l.includes(dispatchChainFor(bridge)) || l.includes(podChainPrefixFor(bridge)));
    assert.deepEqual(left, [], 'no NetworkPolicy rule of the bridge is left');
  }
});
