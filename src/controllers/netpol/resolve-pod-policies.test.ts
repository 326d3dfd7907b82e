import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Namespace, Pod } from '../../api/types.js';
import type { NetworkPolicy, NetworkPolicySpec } from './network-policy-types.js';
import { policyTypesOf, resolvePodPolicies } from './resolve-pod-policies.js';

function pod(ns: string, name: string, ip: string | undefined, labels: Record<string, string>, ports: { name: string; containerPort: number; protocol?: 'TCP' | 'UDP' }[] = [], phase: 'Running' | 'Succeeded' = 'Running'): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, uid: `uid-${ns}-${name}`, labels },
    spec: { containers: [{ name: 'c', image: 'host', ports }] },
    status: { phase, ...(ip ? { podIP: ip } : {}) },
  } as Pod;
}

function policy(ns: string, name: string, spec: NetworkPolicySpec): NetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec };
}

function namespace(name: string, labels: Record<string, string> = {}): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

const frontend = pod('a', 'frontend', '10.0.0.1', { app: 'frontend' });
const backend = pod('a', 'backend', '10.0.0.2', { app: 'backend' }, [{ name: 'http', containerPort: 8080 }, { name: 'dns', containerPort: 5353, protocol: 'UDP' }]);
const other = pod('a', 'other', '10.0.0.3', { app: 'other' });
const remote = pod('b', 'remote', '10.0.0.4', { app: 'frontend' }, [{ name: 'http', containerPort: 9090 }]);
const pods = [frontend, backend, other, remote];
const namespaces = [namespace('a', { team: 'x' }), namespace('b', { team: 'y' })];

function resolve(policies: NetworkPolicy[], extraPods: Pod[] = []) {
  return resolvePodPolicies({ pods: [...pods, ...extraPods], policies, namespaces });
}
function podPolicy(policies: NetworkPolicy[], name: string, extraPods: Pod[] = []) {
  return resolve(policies, extraPods).pods.find((p) => p.name === name);
}
const onBackend = (rest: Partial<NetworkPolicySpec>) => policy('a', 'p', { podSelector: { matchLabels: { app: 'backend' } }, ...rest });

describe('policyTypes defaulting', () => {
  it('Ingress always, Egress when egress rules exist, explicit types win', () => {
    assert.deepEqual(policyTypesOf(onBackend({})), { ingress: true, egress: false });
    assert.deepEqual(policyTypesOf(onBackend({ egress: [{}] })), { ingress: true, egress: true });
    assert.deepEqual(policyTypesOf(onBackend({ policyTypes: ['Egress'] })), { ingress: false, egress: true });
  });
});

describe('resolvePodPolicies', () => {
  it('pods no policy selects are not isolated (no rules at all)', () => {
    assert.deepEqual(resolve([]).pods, []);
    const r = resolve([onBackend({})]);
    assert.deepEqual(r.pods.map((p) => p.name), ['a/backend']);
  });

  it('a policy without rules isolates the pod for ingress only: deny all ingress, egress untouched', () => {
    const p = podPolicy([onBackend({})], 'a/backend');
    assert.deepEqual(p, { id: 'uid-a-backend', name: 'a/backend', ip: '10.0.0.2', ingress: [] });
  });

  it('an empty podSelector selects every pod of the policy namespace, none elsewhere', () => {
    const r = resolve([policy('a', 'deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })]);
    assert.deepEqual(r.pods.map((p) => p.name), ['a/backend', 'a/frontend', 'a/other']);
    assert.ok(r.pods.every((p) => p.ingress?.length === 0 && p.egress?.length === 0));
  });

  it('missing or empty from means every source', () => {
    for (const ingress of [[{}], [{ from: [] }]]) {
      const p = podPolicy([onBackend({ ingress })], 'a/backend');
      assert.deepEqual(p?.ingress, [{ peers: 'any', ports: 'any', comment: 'a/p ingress[0]' }]);
    }
  });

  it('a podSelector peer means pods of the policy namespace only', () => {
    const p = podPolicy([onBackend({ ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }] }] })], 'a/backend');
    assert.deepEqual(p?.ingress?.[0]?.peers, [{ cidr: '10.0.0.1' }]);
  });

  it('namespaceSelector {} means every namespace; podSelector AND namespaceSelector in one peer', () => {
    const both = podPolicy(
      [onBackend({ ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'frontend' } } }] }] })],
      'a/backend',
    );
    assert.deepEqual(both?.ingress?.[0]?.peers, [{ cidr: '10.0.0.1' }, { cidr: '10.0.0.4' }]);
    const nsOnly = podPolicy([onBackend({ ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'y' } } }] }] })], 'a/backend');
    assert.deepEqual(nsOnly?.ingress?.[0]?.peers, [{ cidr: '10.0.0.4' }]);
    const and = podPolicy(
      [onBackend({ ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'y' } }, podSelector: { matchLabels: { app: 'other' } } }] }] })],
      'a/backend',
    );
    assert.deepEqual(and?.ingress?.[0]?.peers, [], 'no pod is in team=y AND app=other');
  });

  it('two peers are OR', () => {
    const p = podPolicy(
      [onBackend({ ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'y' } } }, { podSelector: { matchLabels: { app: 'other' } } }] }] })],
      'a/backend',
    );
    assert.deepEqual(p?.ingress?.[0]?.peers, [{ cidr: '10.0.0.4' }, { cidr: '10.0.0.3' }]);
  });

  it('the kubernetes.io/metadata.name label selects a namespace by name, even one not cached', () => {
    const extra = pod('c', 'x', '10.0.0.9', {});
    const p = podPolicy(
      [onBackend({ ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'c' } } }] }] })],
      'a/backend',
      [extra],
    );
    assert.deepEqual(p?.ingress?.[0]?.peers, [{ cidr: '10.0.0.9' }]);
  });

  it('ipBlock with except passes through; an invalid CIDR is a problem and allows nothing', () => {
    const p = podPolicy([onBackend({ ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/24', except: ['10.0.0.3/32'] } }] }] })], 'a/backend');
    assert.deepEqual(p?.ingress?.[0]?.peers, [{ cidr: '10.0.0.0/24', except: ['10.0.0.3/32'] }]);
    const r = resolve([onBackend({ ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] })]);
    assert.deepEqual(r.pods[0]?.ingress?.[0]?.peers, []);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!.message, /10\.0\.0\.0\/33/);
  });

  it('ports: numbers, endPort ranges, TCP default, protocol-only ports', () => {
    const p = podPolicy(
      [onBackend({ ingress: [{ ports: [{ port: 80 }, { protocol: 'UDP', port: 1000, endPort: 2000 }, { protocol: 'SCTP' }] }] })],
      'a/backend',
    );
    assert.deepEqual(p?.ingress?.[0]?.ports, [
      { protocol: 'TCP', port: 80 },
      { protocol: 'UDP', port: 1000, endPort: 2000 },
      { protocol: 'SCTP' },
    ]);
  });

  it('ingress named ports resolve against the selected pod, protocol included; unknown names allow nothing', () => {
    const p = podPolicy([onBackend({ ingress: [{ ports: [{ port: 'http' }, { port: 'dns', protocol: 'UDP' }, { port: 'dns' }] }] })], 'a/backend');
    assert.deepEqual(p?.ingress?.[0]?.ports, [
      { protocol: 'TCP', port: 8080 },
      { protocol: 'UDP', port: 5353 },
    ]);
    const none = podPolicy([onBackend({ ingress: [{ ports: [{ port: 'nope' }] }] })], 'a/backend');
    assert.deepEqual(none?.ingress, [], 'the rule allows nothing, the pod stays isolated');
  });

  it('egress named ports resolve per destination pod, split by port number', () => {
    const p = podPolicy(
      [policy('a', 'e', { podSelector: { matchLabels: { app: 'other' } }, egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 'http' }] }] })],
      'a/other',
    );
    assert.deepEqual(p?.egress, [
      { peers: [{ cidr: '10.0.0.2' }], ports: [{ protocol: 'TCP', port: 8080 }], comment: 'a/e egress[0]' },
      { peers: [{ cidr: '10.0.0.4' }], ports: [{ protocol: 'TCP', port: 9090 }], comment: 'a/e egress[0]' },
    ]);
    assert.deepEqual(p?.ingress, [], 'policyTypes default to Ingress+Egress when egress rules exist: all ingress denied');
  });

  it('egress named port with no `to` covers every pod having that port; ipBlock peers never match a named port', () => {
    const anyDest = podPolicy([policy('a', 'e', { podSelector: { matchLabels: { app: 'other' } }, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http' }] }] })], 'a/other');
    assert.deepEqual(anyDest?.egress?.map((r) => r.peers), [[{ cidr: '10.0.0.2' }], [{ cidr: '10.0.0.4' }]]);
    const block = podPolicy(
      [policy('a', 'e', { podSelector: { matchLabels: { app: 'other' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 'http' }] }] })],
      'a/other',
    );
    assert.deepEqual(block?.egress, []);
  });

  it('policies are additive: rules of every selecting policy add up, isolation from any of them', () => {
    const p1 = onBackend({ ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }] }] });
    const p2 = policy('a', 'q', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] });
    const p = podPolicy([p1, p2], 'a/backend');
    assert.equal(p?.ingress?.length, 1);
    assert.deepEqual(p?.egress, [{ peers: 'any', ports: [{ protocol: 'UDP', port: 53 }], comment: 'a/q egress[0]' }]);
    const f = podPolicy([p1, p2], 'a/frontend');
    assert.equal(f?.ingress, undefined, 'frontend is selected only by the egress policy');
  });

  it('pods without an IP or finished are neither subjects nor peers', () => {
    const done = pod('a', 'done', '10.0.0.8', { app: 'frontend' }, [], 'Succeeded');
    const pending = pod('a', 'pending', undefined, { app: 'frontend' });
    const r = resolve([onBackend({ ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }] }] })], [done, pending]);
    assert.deepEqual(r.pods[0]?.ingress?.[0]?.peers, [{ cidr: '10.0.0.1' }]);
    const all = resolve([policy('a', 'deny', { podSelector: {} })], [done, pending]);
    assert.ok(!all.pods.some((p) => p.name === 'a/done' || p.name === 'a/pending'));
  });

  it('an invalid selector selects nothing and is reported', () => {
    const bad = policy('a', 'bad', { podSelector: { matchExpressions: [{ key: 'app', operator: 'Near', values: ['x'] }] } });
    const r = resolve([bad]);
    assert.deepEqual(r.pods, []);
    assert.equal(r.problems[0]?.policy, bad);
  });

  it('label changes move a pod in and out of a peer set', () => {
    const np = onBackend({ ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }] }] });
    const relabelled = { ...other, metadata: { ...other.metadata, labels: { app: 'frontend' } } } as Pod;
    const r = resolvePodPolicies({ pods: [frontend, backend, relabelled], policies: [np], namespaces });
    assert.deepEqual(r.pods[0]?.ingress?.[0]?.peers, [{ cidr: '10.0.0.1' }, { cidr: '10.0.0.3' }]);
  });

  it('scales: 1000 pods, 50 policies with selector peers resolve in well under a second', (t) => {
    const many: Pod[] = [];
    for (let i = 0; i < 1000; i++) many.push(pod(`ns${i % 10}`, `p${i}`, `10.1.${Math.floor(i / 250)}.${(i % 250) + 2}`, { app: `app${i % 50}`, tier: i % 2 ? 'web' : 'db' }));
    const policies: NetworkPolicy[] = [];
    for (let i = 0; i < 50; i++) {
      policies.push(
        policy(`ns${i % 10}`, `np${i}`, {
          podSelector: { matchLabels: { app: `app${i}` } },
          ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { tier: 'web' } } }], ports: [{ port: 8080 }] }],
          egress: [{ to: [{ podSelector: { matchLabels: { tier: 'db' } } }] }],
        }),
      );
    }
    const t0 = performance.now();
    const r = resolvePodPolicies({ pods: many, policies, namespaces: [] });
    const ms = performance.now() - t0;
    t.diagnostic(`resolved ${r.pods.length} isolated pods in ${ms.toFixed(1)} ms`);
    assert.equal(r.pods.length, 1000, 'pod i has app(i%50) and namespace ns(i%10), np(i%50) selects it');
    assert.equal(r.pods[0]?.ingress?.[0]?.peers.length, 500);
    assert.ok(ms < 1000, `${ms} ms`);
  });
});
