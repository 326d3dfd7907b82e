/**
 * The sidecar listeners' `originalDst` (Istio's per-destination filter chains on 15001 and 15006,
 * folded into meshbox's one listener per direction): which original destinations are plain TCP,
 * and the cluster serving each. HTTP needs no entries: its virtual hosts already list the
 * "VIP:port" and "podIP:port" domains the proxy consults when the Host matches nothing.
 * Everything else passes through (Istio's default outboundTrafficPolicy ALLOW_ANY), unless the
 * pod's Sidecar says REGISTRY_ONLY.
 */
import type { Cluster, OriginalDst } from '../../meshconfig/types.js';
import type { MeshIndex } from './mesh-index.js';

function key(address: string, port: number): string {
  return address.includes(':') ? `[${address.toLowerCase()}]:${port}` : `${address}:${port}`;
}

/**
 * Outbound: every TCP service port the sidecar sees (its default cluster is in `clusters`, so
 * Sidecar egress and exportTo scoping carry over): "VIP:port" (and a ServiceEntry's other
 * addresses), or "podIP:port" per endpoint for a headless service, which clients dial directly.
 * `tcpRoutes` replaces a port's default cluster with the one its VirtualService tcp route names.
 */
export function outboundOriginalDst(index: MeshIndex, clusters: readonly Cluster[], passthrough = true, tcpRoutes?: ReadonlyMap<string, string>): OriginalDst {
  const visible = new Set(clusters.map((c) => c.name));
  const tcp: Record<string, string> = {};
  const add = (k: string, cluster: string): void => {
    // First service wins a shared address, as the services' own order is stable per generation.
    if (tcp[k] === undefined) tcp[k] = cluster;
  };
  for (const svc of index.services) {
    for (const port of svc.ports) {
      if (port.protocol !== 'tcp') continue;
      const own = `outbound|${port.port}||${svc.fqdn}`;
      if (!visible.has(own)) continue;
      // A VirtualService tcp route sends this port's connections elsewhere (a subset, another service).
      const cluster = tcpRoutes?.get(own) ?? own;
      const addresses = [...(svc.vip ? [svc.vip] : []), ...(svc.moreAddresses ?? [])];
      if (addresses.length > 0) for (const a of addresses) add(key(a, port.port), cluster);
      else for (const ep of port.endpoints) add(key(ep.address, ep.port), cluster);
    }
  }
  return withTcp(tcp, passthrough);
}

function withTcp(tcp: Record<string, string>, passthrough = true): OriginalDst {
  return Object.keys(tcp).length > 0 ? { tcp, passthrough } : { passthrough };
}

/**
 * Inbound: "*:port" for every TCP port of the app (`inbound|<port>||` clusters), whatever pod IP
 * the connection came in on; other ports pass through to 127.0.0.1:<port> (InboundPassthroughCluster).
 */
export function inboundOriginalDst(clusters: readonly Cluster[]): OriginalDst {
  const tcp: Record<string, string> = {};
  for (const c of clusters) {
    if (c.protocol !== 'tcp') continue;
    const m = /^inbound\|(\d+)\|\|$/.exec(c.name);
    if (m) tcp[`*:${m[1]}`] = c.name;
  }
  return withTcp(tcp);
}
