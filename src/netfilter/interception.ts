/**
 * Traffic capture inside a pod's network namespace, as istio-iptables (and the Istio CNI plugin)
 * writes it: the app's outbound TCP is REDIRECTed to the sidecar's 15001, inbound TCP to its 15006;
 * the proxy's own traffic (uid/gid 1337) and its health/metrics ports pass untouched. Istio's
 * `traffic.sidecar.istio.io/*` annotations narrow what is captured.
 *
 *   const plan = interceptionPlan(pod.metadata.annotations)   // throws InvalidInterceptionAnnotation
 *   await applyInterception('mbx-<uid>', plan)                // iptables-restore in that netns
 */
import { run } from '../core/exec.js';
import { InterceptionFailed, InvalidInterceptionAnnotation } from './errors.js';
import { parseIpv4Cidr } from './ipv4.js';

export const PROXY_UID = 1337;
export const OUTBOUND_CAPTURE_PORT = 15001;
export const INBOUND_CAPTURE_PORT = 15006;
/** never captured inbound: the proxy's health (15021), agent (15020) and metrics (15090) ports */
const PROXY_INBOUND_PORTS = [15020, 15021, 15090];

export interface InterceptionPlan {
  /** '*' or CIDRs whose outbound traffic goes to the proxy */
  includeOutboundIPRanges: '*' | string[];
  excludeOutboundIPRanges: string[];
  /** '*' or the only outbound ports captured */
  includeOutboundPorts: '*' | number[];
  excludeOutboundPorts: number[];
  /** '*' or the only inbound ports captured */
  includeInboundPorts: '*' | number[];
  excludeInboundPorts: number[];
}

const ANNOTATIONS = {
  includeOutboundIPRanges: 'traffic.sidecar.istio.io/includeOutboundIPRanges',
  excludeOutboundIPRanges: 'traffic.sidecar.istio.io/excludeOutboundIPRanges',
  includeOutboundPorts: 'traffic.sidecar.istio.io/includeOutboundPorts',
  excludeOutboundPorts: 'traffic.sidecar.istio.io/excludeOutboundPorts',
  includeInboundPorts: 'traffic.sidecar.istio.io/includeInboundPorts',
  excludeInboundPorts: 'traffic.sidecar.istio.io/excludeInboundPorts',
} as const;
const INTERCEPTION_MODE = 'sidecar.istio.io/interceptionMode';
const TRAFFIC_PREFIX = 'traffic.sidecar.istio.io/';

/** Reads (and checks) the capture annotations; unknown `traffic.sidecar.istio.io/*` keys are errors, not ignored. */
export function interceptionPlan(annotations: Record<string, string> | undefined): InterceptionPlan {
  const a = annotations ?? {};
  const known = new Set<string>(Object.values(ANNOTATIONS));
  for (const key of Object.keys(a)) {
    if (key.startsWith(TRAFFIC_PREFIX) && !known.has(key)) {
      throw InvalidInterceptionAnnotation(key, a[key]!, `not supported; meshbox reads ${[...known].join(', ')}`);
    }
  }
  const mode = a[INTERCEPTION_MODE];
  if (mode !== undefined && mode !== 'REDIRECT') {
    throw InvalidInterceptionAnnotation(INTERCEPTION_MODE, mode, 'meshbox captures with REDIRECT only (TPROXY and NONE are not supported); remove the annotation');
  }
  return {
    includeOutboundIPRanges: starOr(a, ANNOTATIONS.includeOutboundIPRanges, cidrs),
    excludeOutboundIPRanges: cidrs(a, ANNOTATIONS.excludeOutboundIPRanges),
    includeOutboundPorts: starOr(a, ANNOTATIONS.includeOutboundPorts, ports),
    excludeOutboundPorts: ports(a, ANNOTATIONS.excludeOutboundPorts),
    includeInboundPorts: starOr(a, ANNOTATIONS.includeInboundPorts, ports),
    excludeInboundPorts: ports(a, ANNOTATIONS.excludeInboundPorts),
  };
}

function list(a: Record<string, string>, key: string): string[] {
  return (a[key] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

function starOr<T>(a: Record<string, string>, key: string, parse: (a: Record<string, string>, key: string) => T[]): '*' | T[] {
  if (a[key] === undefined || a[key]!.trim() === '*') return '*';
  return parse(a, key);
}

function cidrs(a: Record<string, string>, key: string): string[] {
  return list(a, key).map((item) => {
    const text = item.includes('/') ? item : `${item}/32`;
    const c = parseIpv4Cidr(text);
    if (!c) throw InvalidInterceptionAnnotation(key, a[key]!, `"${item}" is not an IPv4 address or CIDR (use e.g. 10.96.0.0/16, comma-separated, or *)`);
    return c.text;
  });
}

function ports(a: Record<string, string>, key: string): number[] {
  return list(a, key).map((item) => {
    const n = Number(item);
    if (!/^\d+$/.test(item) || n < 1 || n > 65535) throw InvalidInterceptionAnnotation(key, a[key]!, `"${item}" is not a port number 1-65535 (comma-separated, or *)`);
    return n;
  });
}

/** The nat table of the pod's netns, for iptables-restore (the netns is the pod's own: no --noflush). */
export function interceptionRules(plan: InterceptionPlan): string {
  const out: string[] = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':ISTIO_INBOUND - [0:0]',
    ':ISTIO_IN_REDIRECT - [0:0]',
    ':ISTIO_OUTPUT - [0:0]',
    ':ISTIO_REDIRECT - [0:0]',
    '-A PREROUTING -p tcp -j ISTIO_INBOUND',
    '-A OUTPUT -p tcp -j ISTIO_OUTPUT',
  ];
  // inbound
  for (const p of [...PROXY_INBOUND_PORTS, ...plan.excludeInboundPorts]) out.push(`-A ISTIO_INBOUND -p tcp --dport ${p} -j RETURN`);
  if (plan.includeInboundPorts === '*') out.push('-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT');
  else for (const p of plan.includeInboundPorts) out.push(`-A ISTIO_INBOUND -p tcp --dport ${p} -j ISTIO_IN_REDIRECT`);
  out.push(`-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports ${INBOUND_CAPTURE_PORT}`);
  out.push(`-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports ${OUTBOUND_CAPTURE_PORT}`);
  // outbound: the proxy calling its own pod's IP (a service whose endpoint is this pod) goes
  // through the inbound side, like any other caller; the rest of the proxy's traffic passes
  out.push('-A ISTIO_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN');
  for (const who of ['uid', 'gid'] as const) {
    out.push(`-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -m owner --${who}-owner ${PROXY_UID} -j ISTIO_IN_REDIRECT`);
    out.push(`-A ISTIO_OUTPUT -o lo -m owner ! --${who}-owner ${PROXY_UID} -j RETURN`);
    out.push(`-A ISTIO_OUTPUT -m owner --${who}-owner ${PROXY_UID} -j RETURN`);
  }
  out.push('-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN');
  for (const p of plan.excludeOutboundPorts) out.push(`-A ISTIO_OUTPUT -p tcp --dport ${p} -j RETURN`);
  for (const c of plan.excludeOutboundIPRanges) out.push(`-A ISTIO_OUTPUT -d ${c} -j RETURN`);
  const ranges = plan.includeOutboundIPRanges === '*' ? [''] : plan.includeOutboundIPRanges.map((c) => `-d ${c} `);
  const portSel = plan.includeOutboundPorts === '*' ? [''] : plan.includeOutboundPorts.map((p) => `-p tcp --dport ${p} `);
  for (const r of ranges) for (const p of portSel) out.push(`-A ISTIO_OUTPUT ${r}${p}-j ISTIO_REDIRECT`.replace(/ {2,}/g, ' '));
  out.push('COMMIT', '');
  return out.join('\n');
}

/** Installs the capture rules in the named netns (idempotent: the nat table is replaced whole). */
export async function applyInterception(netns: string, plan: InterceptionPlan): Promise<void> {
  const r = await run('ip', ['netns', 'exec', netns, 'iptables-restore', '-w', '5'], { input: interceptionRules(plan), allowFailure: true });
  if (r.code !== 0) throw InterceptionFailed(netns, r.stderr);
}
