/**
 * Kubernetes NetworkPolicy semantics, resolved against the pods and namespaces of the moment into
 * what the kernel rules need (pod IPs, CIDRs, port numbers). Pure: the controller feeds it the
 * informers' caches and hands the result to the netfilter applier.
 *
 * Semantics (networking.k8s.io/v1, as the upstream conformance tests read them):
 *   - a policy selects pods of its own namespace with spec.podSelector ({} = all of them);
 *   - policyTypes default: Ingress always, Egress when egress rules are present;
 *   - a pod no policy selects for a direction is not isolated there (allows everything); a selected
 *     pod allows what any selecting policy allows (policies are additive, never deny);
 *   - a rule without `from`/`to` (or an empty list) allows every peer; without `ports` every port;
 *   - peers are ORed; podSelector + namespaceSelector in ONE peer are ANDed; a podSelector alone
 *     means the policy's namespace; namespaceSelector {} means every namespace;
 *   - ipBlock {cidr, except} matches addresses, not pods (meshbox pods are matched by their IPs);
 *   - a port is a number (with endPort a range) or a named container port, resolved against the
 *     pod the traffic goes to: the selected pod for ingress, each peer pod for egress (an egress
 *     named port matches no ipBlock peer); protocol defaults to TCP;
 *   - replies to allowed connections pass (the rules' conntrack line does that).
 */
import type { Namespace, Pod } from '../../api/types.js';
import { describeError } from '../../core/errors.js';
import { parseCidrOrIp, type PodPolicy, type PolicyPeer, type PolicyPort, type PolicyRule } from '../../netfilter/policy/index.js';
import { selectorFromObject, Selector, type LabelSelector } from '../../store/label-selector.js';
import {
  NAMESPACE_NAME_LABEL,
  type NetworkPolicy,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  type NetworkPolicyProtocol,
} from './network-policy-types.js';

export interface PolicyProblem {
  policy: NetworkPolicy;
  message: string;
}

export interface ResolveInput {
  pods: readonly Pod[];
  policies: readonly NetworkPolicy[];
  namespaces: readonly Namespace[];
}

export interface ResolveResult {
  /** every pod isolated in at least one direction (others need no rules) */
  pods: PodPolicy[];
  /** parts of policies that could not be enforced (they allow nothing; the rest still applies) */
  problems: PolicyProblem[];
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Pods that have an address on the network and may still use it. */
export function podAddress(pod: Pod): string | undefined {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return undefined;
  const ip = pod.status?.podIP;
  return ip && IPV4.test(ip) ? ip : undefined;
}

export function policyTypesOf(policy: NetworkPolicy): { ingress: boolean; egress: boolean } {
  const types = policy.spec.policyTypes;
  if (Array.isArray(types) && types.length > 0) return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
  return { ingress: true, egress: (policy.spec.egress?.length ?? 0) > 0 };
}

export function resolvePodPolicies(input: ResolveInput): ResolveResult {
  return new Resolver(input).resolve();
}

interface AddressedPod {
  pod: Pod;
  ip: string;
  namespace: string;
}

class Resolver {
  readonly #pods: AddressedPod[];
  /** policies by namespace, each list sorted by name */
  readonly #policies = new Map<string, NetworkPolicy[]>();
  readonly #nsLabels = new Map<string, Record<string, string>>();
  readonly #problems: PolicyProblem[] = [];
  readonly #selectors = new Map<LabelSelector, Selector | undefined>();
  // Peers do not depend on the selected pod: resolve each rule's peers once per resolve(), not once
  // per selected pod (keyed by the rule's frozen peer list).
  readonly #peerCache = new Map<readonly NetworkPolicyPeer[], { pods: AddressedPod[]; peers: PolicyPeer[] }>();

  constructor(input: ResolveInput) {
    this.#pods = input.pods
      .flatMap((pod) => {
        const ip = podAddress(pod);
        return ip ? [{ pod, ip, namespace: pod.metadata.namespace ?? 'default' }] : [];
      })
      .sort((a, b) => compare(a.namespace, b.namespace) || compare(a.pod.metadata.name, b.pod.metadata.name));
    for (const policy of [...input.policies].sort((a, b) => compare(a.metadata.name, b.metadata.name))) {
      const ns = policy.metadata.namespace ?? 'default';
      let list = this.#policies.get(ns);
      if (!list) this.#policies.set(ns, (list = []));
      list.push(policy);
    }
    for (const ns of input.namespaces) {
      this.#nsLabels.set(ns.metadata.name, { ...ns.metadata.labels, [NAMESPACE_NAME_LABEL]: ns.metadata.name });
    }
  }

  resolve(): ResolveResult {
    const out: PodPolicy[] = [];
    for (const subject of this.#pods) {
      let ingress: PolicyRule[] | undefined;
      let egress: PolicyRule[] | undefined;
      for (const policy of this.#policies.get(subject.namespace) ?? []) {
        const selector = this.#selector(policy, policy.spec.podSelector, 'spec.podSelector');
        if (!selector?.matches(subject.pod.metadata.labels)) continue;
        const types = policyTypesOf(policy);
        const name = `${policy.metadata.namespace}/${policy.metadata.name}`;
        if (types.ingress) {
          ingress ??= [];
          (policy.spec.ingress ?? []).forEach((rule, i) =>
            ingress!.push(...this.#rule(policy, subject, 'ingress', rule.from, rule.ports, `${name} ingress[${i}]`)),
          );
        }
        if (types.egress) {
          egress ??= [];
          (policy.spec.egress ?? []).forEach((rule, i) =>
            egress!.push(...this.#rule(policy, subject, 'egress', rule.to, rule.ports, `${name} egress[${i}]`)),
          );
        }
      }
      if (!ingress && !egress) continue;
      out.push({
        id: subject.pod.metadata.uid ?? `${subject.namespace}/${subject.pod.metadata.name}`,
        name: `${subject.namespace}/${subject.pod.metadata.name}`,
        ip: subject.ip,
        ...(ingress ? { ingress } : {}),
        ...(egress ? { egress } : {}),
      });
    }
    return { pods: out, problems: this.#problems };
  }

  #rule(
    policy: NetworkPolicy,
    subject: AddressedPod,
    direction: 'ingress' | 'egress',
    peerSpecs: NetworkPolicyPeer[] | undefined,
    portSpecs: NetworkPolicyPort[] | undefined,
    comment: string,
  ): PolicyRule[] {
    const anyPeer = !peerSpecs || peerSpecs.length === 0;
    let resolved = anyPeer ? undefined : this.#peerCache.get(peerSpecs);
    if (!anyPeer && !resolved) {
      const pods = this.#peerPods(policy, peerSpecs);
      const blocks = peerSpecs.flatMap((p, i) => this.#ipBlock(policy, p, `${comment} peer ${i}`));
      // one array shared by every selected pod's rule: the rules are read-only
      resolved = { pods, peers: [...blocks, ...pods.map((p) => ({ cidr: p.ip }))] };
      this.#peerCache.set(peerSpecs, resolved);
    }
    const peerPods = resolved?.pods ?? [];
    const peers: 'any' | PolicyPeer[] = resolved?.peers ?? 'any';
    if (!portSpecs || portSpecs.length === 0) return [{ peers, ports: 'any', comment }];

    const numeric: PolicyPort[] = [];
    const named: { name: string; protocol: NetworkPolicyProtocol }[] = [];
    for (const p of portSpecs) {
      const protocol = p.protocol ?? 'TCP';
      if (p.port === undefined || p.port === null) numeric.push({ protocol });
      else if (typeof p.port === 'number') numeric.push({ protocol, port: p.port, ...(p.endPort !== undefined ? { endPort: p.endPort } : {}) });
      else if (/^\d+$/.test(p.port)) numeric.push({ protocol, port: Number(p.port) });
      else named.push({ name: p.port, protocol });
    }
    const rules: PolicyRule[] = [];
    if (direction === 'ingress') {
      // The named port is the selected pod's own: it resolves to one number for every peer.
      for (const n of named) {
        const port = namedPort(subject.pod, n.name, n.protocol);
        if (port !== undefined) numeric.push({ protocol: n.protocol, port });
      }
      if (numeric.length > 0) rules.push({ peers, ports: dedupePorts(numeric), comment });
      return rules;
    }
    if (numeric.length > 0) rules.push({ peers, ports: dedupePorts(numeric), comment });
    if (named.length > 0) {
      // Egress: each destination pod resolves the name itself, so the peers split by port number.
      const candidates = anyPeer ? this.#pods : peerPods;
      const byPort = new Map<string, { port: PolicyPort; ips: string[] }>();
      for (const n of named) {
        for (const c of candidates) {
          const port = namedPort(c.pod, n.name, n.protocol);
          if (port === undefined) continue;
          const key = `${n.protocol}/${port}`;
          let entry = byPort.get(key);
          if (!entry) byPort.set(key, (entry = { port: { protocol: n.protocol, port }, ips: [] }));
          if (!entry.ips.includes(c.ip)) entry.ips.push(c.ip);
        }
      }
      for (const { port, ips } of byPort.values()) rules.push({ peers: ips.map((cidr) => ({ cidr })), ports: [port], comment });
    }
    return rules;
  }

  /** Pods the selector peers of a rule pick (ipBlock peers are handled as addresses). */
  #peerPods(policy: NetworkPolicy, peers: readonly NetworkPolicyPeer[]): AddressedPod[] {
    const picked = new Set<AddressedPod>();
    for (const [i, peer] of peers.entries()) {
      if (peer.ipBlock) continue;
      // In a peer, a missing selector does not restrict; both present are ANDed.
      const podSel = peer.podSelector ? this.#selector(policy, peer.podSelector, `peer ${i} podSelector`) : Selector.everything();
      const nsSel = peer.namespaceSelector ? this.#selector(policy, peer.namespaceSelector, `peer ${i} namespaceSelector`) : undefined;
      if (!podSel || (peer.namespaceSelector && !nsSel)) continue;
      for (const c of this.#pods) {
        const nsOk = nsSel ? nsSel.matches(this.#namespaceLabels(c.namespace)) : c.namespace === (policy.metadata.namespace ?? 'default');
        if (nsOk && podSel.matches(c.pod.metadata.labels)) picked.add(c);
      }
    }
    return [...picked];
  }

  /** The peer's ipBlock, if it has a valid one (an invalid one is a problem and allows nothing). */
  #ipBlock(policy: NetworkPolicy, peer: NetworkPolicyPeer, where: string): PolicyPeer[] {
    if (!peer.ipBlock) return [];
    const except = peer.ipBlock.except ?? [];
    try {
      for (const c of [peer.ipBlock.cidr, ...except]) parseCidrOrIp(c);
    } catch (err) {
      this.#problems.push({ policy, message: `${where} ipBlock: ${describeError(err)}; this peer allows nothing until fixed` });
      return [];
    }
    return [{ cidr: peer.ipBlock.cidr, ...(except.length > 0 ? { except } : {}) }];
  }

  #namespaceLabels(name: string): Record<string, string> {
    let labels = this.#nsLabels.get(name);
    // A namespace not (yet) in the cache still has the label Kubernetes always sets.
    if (!labels) this.#nsLabels.set(name, (labels = { [NAMESPACE_NAME_LABEL]: name }));
    return labels;
  }

  /** A compiled selector, or undefined (with a problem recorded once) when it is invalid. */
  #selector(policy: NetworkPolicy, sel: LabelSelector, where: string): Selector | undefined {
    if (this.#selectors.has(sel)) return this.#selectors.get(sel);
    let compiled: Selector | undefined;
    try {
      compiled = selectorFromObject(sel);
    } catch (err) {
      this.#problems.push({ policy, message: `${where}: ${describeError(err)}; it selects nothing until fixed` });
    }
    this.#selectors.set(sel, compiled);
    return compiled;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function namedPort(pod: Pod, name: string, protocol: NetworkPolicyProtocol): number | undefined {
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    for (const p of c.ports ?? []) if (p.name === name && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

function dedupePorts(ports: PolicyPort[]): PolicyPort[] {
  const seen = new Set<string>();
  return ports.filter((p) => {
    const key = `${p.protocol}/${p.port ?? ''}/${p.endPort ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
