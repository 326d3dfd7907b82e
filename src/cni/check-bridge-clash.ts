/**
 * Before `meshbox up` creates its bridge: refuse a bridge name that belongs to something else, and a
 * pod CIDR that overlaps an address or route this machine already has. Only the bridge itself (with
 * addresses inside the pod CIDR) and routes through it count as ours, so a restarted daemon passes.
 */
import { run } from '../core/exec.js';
import { cidrContains, cidrsOverlap, parseCidr } from './cidr.js';
import { BridgeClash, CidrClash, ConfigInvalid } from './errors.js';

/** The parts of `ip -j -d addr show` this check reads. */
export interface IpLink {
  ifname: string;
  linkinfo?: { info_kind?: string };
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }>;
}

/** The parts of `ip -j route show table all` this check reads. */
export interface IpRoute {
  dst: string;
  dev?: string;
  type?: string;
  table?: string;
}

/** Route types that describe addresses of this machine (already covered by the address check). */
const LOCAL_ROUTE_TYPES = new Set(['local', 'broadcast', 'multicast', 'anycast', 'nat']);

/** Decides from `ip` output; throws MBX_CNI_BRIDGE_CLASH or MBX_CNI_CIDR_CLASH. */
export function findBridgeClash(bridge: string, subnet: string, links: IpLink[], routes: IpRoute[]): void {
  const pod = parseCidr(subnet);
  if (!pod || !subnet.includes('/')) throw ConfigInvalid(bridge, `pod CIDR "${subnet}" is not a CIDR (use meshbox up --pod-cidr)`);
  for (const link of links) {
    const isOurs = link.ifname === bridge;
    if (isOurs && link.linkinfo?.info_kind !== 'bridge') {
      throw BridgeClash(bridge, `a ${link.linkinfo?.info_kind ?? 'non-bridge'} interface named ${bridge} exists`);
    }
    for (const addr of link.addr_info ?? []) {
      if (!addr.local || (addr.family !== 'inet' && addr.family !== 'inet6')) continue;
      const text = `${addr.local}/${addr.prefixlen ?? (addr.family === 'inet' ? 32 : 128)}`;
      const cidr = parseCidr(text);
      if (!cidr || cidr.family !== pod.family) continue;
      if (isOurs) {
        if (!cidrContains(pod, addr.local)) {
          throw BridgeClash(bridge, `it has address ${text}, which is outside pod CIDR ${subnet}`);
        }
      } else if (cidrsOverlap(pod, cidr)) {
        throw CidrClash(subnet, `address ${text} of interface ${link.ifname}`);
      }
    }
  }
  for (const route of routes) {
    if (route.dst === 'default' || route.dev === bridge) continue;
    if (route.table === 'local' || LOCAL_ROUTE_TYPES.has(route.type ?? 'unicast')) continue;
    const cidr = parseCidr(route.dst);
    if (!cidr || cidr.family !== pod.family || cidr.prefix === 0) continue;
    if (cidrsOverlap(pod, cidr)) {
      throw CidrClash(subnet, `route ${route.dst}${route.dev ? ` via ${route.dev}` : ''}${route.table ? ` in table ${route.table}` : ''}`);
    }
  }
}

/** Reads this machine's links, addresses and routes and runs `findBridgeClash`. */
export async function checkBridgeClash(bridge: string, subnet: string): Promise<{ bridgeExists: boolean }> {
  const hint = 'install the Debian package iproute2';
  const links = JSON.parse((await run('ip', ['-j', '-d', 'addr', 'show'], { notFoundHint: hint })).stdout || '[]') as IpLink[];
  const routes: IpRoute[] = [];
  for (const family of ['-4', '-6']) {
    const out = await run('ip', ['-j', family, 'route', 'show', 'table', 'all'], { notFoundHint: hint });
    routes.push(...(JSON.parse(out.stdout || '[]') as IpRoute[]));
  }
  findBridgeClash(bridge, subnet, links, routes);
  return { bridgeExists: links.some((l) => l.ifname === bridge) };
}
