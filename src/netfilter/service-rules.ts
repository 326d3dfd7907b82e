/**
 * The service data path as iptables-restore input, the way kube-proxy's iptables mode builds it
 * (pkg/proxy/iptables/proxier.go), with meshbox's prefix P instead of KUBE:
 *
 *   nat  PREROUTING, OUTPUT ─► P-SERVICES ─┬─ -d VIP -p tcp --dport 80 ─► P-SVC-<hash> ─► P-SEP-<hash> (DNAT)
 *                                          └─ -d 127.0.0.1 ─► P-NODEPORTS ─► P-MARK-MASQ, P-SVC-<hash>
 *        POSTROUTING ─► P-POSTROUTING: MASQUERADE what P-MARK-MASQ marked
 *   filter INPUT, FORWARD, OUTPUT ─► P-SERVICES: REJECT ports of Services without ready endpoints
 *
 * P-SVC picks an endpoint per connection with `statistic --mode random` and kube-proxy's
 * probabilities (1/n, 1/(n-1), ..., last unconditional), so each of n endpoints gets 1/n. ClientIP
 * affinity puts `recent --rcheck` rules first, one per endpoint, and P-SEP records the client with
 * `recent --set`. P-SEP masquerades traffic from the endpoint itself (hairpin: a pod reaching its
 * own Service would otherwise see its own address as the source and answer itself).
 * Traffic to a VIP from outside the pod CIDR (the host) is masqueraded too, so replies come back
 * through the host.
 *
 * Pure: rendering is separate from applying (service-chains.ts), so it is unit tested as text.
 */
import { chainHash } from './chain-prefix.js';

export type L4Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface ServicePortRule {
  /** "namespace/service:port-name", for comments and chain names */
  name: string;
  clusterIP: string;
  port: number;
  protocol: L4Protocol;
  /** published on 127.0.0.1:nodePort when set */
  nodePort?: number;
  /** ClientIP session affinity with this timeout, when set */
  affinityTimeoutSeconds?: number;
  /** ready endpoints, in a stable order */
  endpoints: readonly { ip: string; port: number }[];
}

export interface RenderOptions {
  prefix: string;
  /** traffic to a VIP from outside this CIDR is masqueraded */
  podCidr: string;
  /** when set, new connections to any other address or port of this CIDR are rejected (never routed out) */
  serviceCidr?: string;
  /** the packet mark bit that asks P-POSTROUTING to masquerade (kube-proxy's 0x4000) */
  masqMark?: number;
}

export interface RenderedRules {
  filter: string;
  nat: string;
  /** every chain of the nat table this rule set uses, for finding stale ones */
  natChains: Set<string>;
  ruleCount: number;
}

export const DEFAULT_MASQ_MARK = 0x4000;

export function chainNames(prefix: string) {
  return {
    services: `${prefix}-SERVICES`,
    nodePorts: `${prefix}-NODEPORTS`,
    postrouting: `${prefix}-POSTROUTING`,
    markMasq: `${prefix}-MARK-MASQ`,
    svc: (rule: ServicePortRule) => `${prefix}-SVC-${chainHash(`${rule.name}/${rule.protocol}`)}`,
    sep: (rule: ServicePortRule, ep: { ip: string; port: number }) =>
      `${prefix}-SEP-${chainHash(`${rule.name}/${rule.protocol}/${ep.ip}:${ep.port}`)}`,
  };
}

/**
 * Renders both tables. `staleNatChains` (chains with the prefix that exist in the kernel but are not
 * wanted any more) are flushed and deleted in the same restore, so the swap is atomic.
 */
export function renderServiceRules(rules: readonly ServicePortRule[], opts: RenderOptions, staleNatChains: Iterable<string> = []): RenderedRules {
  const n = chainNames(opts.prefix);
  const mark = `0x${(opts.masqMark ?? DEFAULT_MASQ_MARK).toString(16)}`;
  const natChains = new Set<string>([n.services, n.nodePorts, n.postrouting, n.markMasq]);
  const natRules: string[] = [];
  const filterRules: string[] = [];

  natRules.push(`-A ${n.postrouting} -m mark ! --mark ${mark}/${mark} -j RETURN`);
  // Clear the bit so a packet that is NATed again (another daemon's chains) is not masqueraded twice.
  natRules.push(`-A ${n.postrouting} -j MARK --xor-mark ${mark}`);
  natRules.push(`-A ${n.postrouting} -m comment --comment "${opts.prefix} service traffic requiring SNAT" -j MASQUERADE`);
  natRules.push(`-A ${n.markMasq} -j MARK --or-mark ${mark}`);

  const sorted = [...rules].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.protocol < b.protocol ? -1 : 1));
  for (const rule of sorted) {
    const proto = rule.protocol.toLowerCase();
    const match = `-p ${proto} -m ${proto}`;
    const comment = `-m comment --comment "${rule.name}`;
    if (rule.endpoints.length === 0) {
      filterRules.push(`-A ${n.services} -d ${rule.clusterIP}/32 ${comment} has no endpoints" ${match} --dport ${rule.port} -j REJECT --reject-with icmp-port-unreachable`);
      if (rule.nodePort) {
        filterRules.push(`-A ${n.services} -d 127.0.0.1/32 ${comment} has no endpoints" ${match} --dport ${rule.nodePort} -j REJECT --reject-with icmp-port-unreachable`);
      }
      continue;
    }
    const svc = n.svc(rule);
    natChains.add(svc);
    natRules.push(`-A ${n.services} -d ${rule.clusterIP}/32 ${comment} cluster IP" ${match} --dport ${rule.port} -j ${svc}`);
    if (rule.nodePort) {
      natRules.push(`-A ${n.nodePorts} -d 127.0.0.1/32 ${comment}" ${match} --dport ${rule.nodePort} -j ${n.markMasq}`);
      natRules.push(`-A ${n.nodePorts} -d 127.0.0.1/32 ${comment}" ${match} --dport ${rule.nodePort} -j ${svc}`);
    }
    natRules.push(`-A ${svc} ! -s ${opts.podCidr} -d ${rule.clusterIP}/32 ${comment} cluster IP" ${match} --dport ${rule.port} -j ${n.markMasq}`);
    const seps = rule.endpoints.map((ep) => n.sep(rule, ep));
    if (rule.affinityTimeoutSeconds !== undefined) {
      rule.endpoints.forEach((ep, i) => {
        natRules.push(
          `-A ${svc} ${comment} -> ${ep.ip}:${ep.port}" -m recent --name ${seps[i]} --mask 255.255.255.255 --rsource --rcheck --seconds ${rule.affinityTimeoutSeconds} --reap -j ${seps[i]}`,
        );
      });
    }
    const count = rule.endpoints.length;
    rule.endpoints.forEach((ep, i) => {
      const pick = i < count - 1 ? ` -m statistic --mode random --probability ${probability(count - i)}` : '';
      natRules.push(`-A ${svc} ${comment} -> ${ep.ip}:${ep.port}"${pick} -j ${seps[i]}`);
    });
    rule.endpoints.forEach((ep, i) => {
      const sep = seps[i]!;
      natChains.add(sep);
      natRules.push(`-A ${sep} -s ${ep.ip}/32 ${comment}" -j ${n.markMasq}`);
      const remember = rule.affinityTimeoutSeconds !== undefined ? ` -m recent --name ${sep} --mask 255.255.255.255 --rsource --set` : '';
      natRules.push(`-A ${sep} ${comment}" ${match}${remember} -j DNAT --to-destination ${ep.ip}:${ep.port}`);
    });
  }
  // Published node ports answer on 127.0.0.1 only (DESIGN.md: published ports bind 127.0.0.1).
  natRules.push(`-A ${n.services} -d 127.0.0.1/32 -j ${n.nodePorts}`);

  if (opts.serviceCidr) {
    filterRules.push(`-A ${n.services} -d ${opts.serviceCidr} -m comment --comment "no Service at this address and port" -j REJECT --reject-with icmp-port-unreachable`);
  }

  const stale = [...staleNatChains].filter((c) => !natChains.has(c)).sort();
  const nat = [
    '*nat',
    ...[...natChains, ...stale].map((c) => `:${c} - [0:0]`),
    ...natRules,
    ...stale.map((c) => `-X ${c}`),
    'COMMIT',
    '',
  ].join('\n');
  const filter = ['*filter', `:${n.services} - [0:0]`, ...filterRules, 'COMMIT', ''].join('\n');
  return { filter, nat, natChains, ruleCount: natRules.length + filterRules.length };
}

/** kube-proxy's probability for the i-th of n remaining endpoints: 1/n, printed with 10 decimals. */
export function probability(remaining: number): string {
  return (1 / remaining).toFixed(10);
}
