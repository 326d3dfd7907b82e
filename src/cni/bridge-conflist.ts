/**
 * meshbox's standard pod network: one Linux bridge, host-local IPAM, published ports through portmap,
 * and lo brought up by the loopback plugin.
 *
 * Loopback choice: the loopback plugin is the LAST plugin of the same conflist rather than a second
 * network attached as "lo" (containerd's way). It brings lo up in the pod netns and passes the
 * prevResult through unchanged, so the runtime has one attachment (and one cache entry, one DEL, one
 * GC key) per pod, and the final result is the bridge's. Pass `loopback: false` to leave it out (for
 * example to attach `loopbackConflist()` separately).
 */
import { cidrContains, formatIp, parseCidr } from './cidr.js';
import { ConfigInvalid } from './errors.js';
import type { CniConflist } from './types.js';

export const CNI_VERSION = '1.0.0';

export interface BridgeConflistOptions {
  networkName: string;
  bridge: string;
  /** pod CIDR, e.g. "10.244.0.0/16" */
  subnet: string;
  /** the bridge's address inside `subnet`; the first address when omitted (host-local's default) */
  gateway?: string;
  /** host-local keeps its leases in `<ipamDataDir>/<networkName>/`: put it under meshbox's state folder */
  ipamDataDir: string;
  /** the only routes pods get (never a default route), e.g. the pod and service CIDRs */
  routes: string[];
  mtu?: number;
  /** include the loopback plugin (default true) */
  loopback?: boolean;
}

export function bridgeConflist(opts: BridgeConflistOptions): CniConflist {
  const subnet = parseCidr(opts.subnet);
  if (!subnet || !opts.subnet.includes('/')) throw ConfigInvalid(opts.networkName, `subnet "${opts.subnet}" is not a CIDR`);
  if (opts.gateway !== undefined && !cidrContains(subnet, opts.gateway)) {
    throw ConfigInvalid(opts.networkName, `gateway ${opts.gateway} is not inside subnet ${opts.subnet}`);
  }
  for (const dst of opts.routes) {
    const route = parseCidr(dst);
    if (!route || !dst.includes('/')) throw ConfigInvalid(opts.networkName, `route "${dst}" is not a CIDR`);
    if (route.prefix === 0) {
      throw ConfigInvalid(opts.networkName, `route ${dst} is a default route; pods get routes to meshbox's CIDRs only`);
    }
  }
  if (!opts.bridge || opts.bridge.length > 15 || /[/:\s]/.test(opts.bridge)) {
    throw ConfigInvalid(opts.networkName, `bridge name "${opts.bridge}" must be 1-15 characters without "/", ":" or spaces`);
  }
  // host-local's own default is the first address; spelling it out lets the routes name it
  const gateway = opts.gateway ?? formatIp(subnet.family, subnet.network + 1n);
  const range: Record<string, string> = { subnet: opts.subnet, gateway };
  const bridge: Record<string, unknown> = {
    type: 'bridge',
    bridge: opts.bridge,
    isGateway: true,
    // isDefaultGateway stays false: no pod traffic leaves the machine unless egress NAT is enabled
    isDefaultGateway: false,
    ipMasq: false,
    hairpinMode: true,
    promiscMode: false,
    ipam: {
      type: 'host-local',
      ranges: [[range]],
      // each route names the gateway: the bridge plugin installs it via the gateway anyway, and its
      // CHECK (v1.1.1) only finds a route with a gateway when the result names that gateway
      routes: opts.routes.map((dst) => ({ dst, gw: gateway })),
      dataDir: opts.ipamDataDir,
    },
  };
  if (opts.mtu !== undefined) bridge.mtu = opts.mtu;
  const plugins: CniConflist['plugins'] = [
    bridge as CniConflist['plugins'][number],
    { type: 'portmap', capabilities: { portMappings: true }, snat: true },
  ];
  if (opts.loopback ?? true) plugins.push({ type: 'loopback' });
  return { cniVersion: CNI_VERSION, name: opts.networkName, plugins };
}

/** A network holding only the loopback plugin, for runtimes that attach "lo" as its own network. */
export function loopbackConflist(networkName = 'meshbox-loopback'): CniConflist {
  return { cniVersion: CNI_VERSION, name: networkName, plugins: [{ type: 'loopback' }] };
}
