/**
 * Per-proxy snapshots from one MeshIndex generation.
 *
 * Sidecar (Istio's model, with one listener per direction instead of per-destination filter chains):
 *  - `virtualOutbound` on 0.0.0.0:15001 (protocol auto) with route config `outbound`: one virtual
 *    host per visible service port, named `<fqdn>:<port>`, whose domains are the names a client may
 *    use with that port (`reviews:9080`, `reviews.shop:9080`, the VIP, ...; bare names for port 80);
 *    `originalDst`: TCP service ports by `VIP:port` (headless: `podIP:port`), HTTP by Host and then
 *    by `VIP:port`, everything else passed through (original-dst-entries.ts);
 *  - clusters `outbound|<port>|<subset>|<fqdn>` per service port and DestinationRule subset;
 *  - `virtualInbound` on 0.0.0.0:15006 with route config `inbound` and clusters `inbound|<port>||`
 *    to the app on 127.0.0.1, TCP ports by `*:port`, other ports passed through to 127.0.0.1.
 * The outbound part depends only on (namespace, Sidecar scope[, pod labels when sourceLabels are
 * used]) and is shared by every proxy with the same key: the same objects, hashed once.
 *
 * Gateway: one listener per server port on 127.0.0.1 (or the server's bind address), route config
 * `http.<port>`, virtual hosts from the VirtualServices bound to the Gateway.
 */
import type { Cluster, Listener, RouteConfig, Snapshot, VirtualHost } from '../../meshconfig/types.js';
import { workloadName } from '../../api/workload-name.js';
import { exportedTo, hostMatches, labelsMatch, type MeshIndex, type MeshService } from './mesh-index.js';
import type { Destination, Gateway, Pod, Service, Sidecar } from './mesh-types.js';
import { clusterProtocol, isHttpLike, portProtocol } from './protocol.js';
import { RouteTranslator, objectName, serviceClusters, type TranslationWarning } from './build-routes.js';
import { inboundOriginalDst, outboundOriginalDst } from './original-dst-entries.js';

export const OUTBOUND_PORT = 15001;
export const INBOUND_PORT = 15006;

export interface OutboundPart {
  key: string;
  clusters: Cluster[];
  virtualHosts: VirtualHost[];
  warnings: TranslationWarning[];
  /** unknown destinations go out as dialled (ALLOW_ANY, the default), or get 502 NR / a closed connection (REGISTRY_ONLY) */
  passthrough: boolean;
  /** a TCP service port's default cluster → the cluster its VirtualService tcp route names */
  tcpRoutes: ReadonlyMap<string, string>;
}

export type ConfigPiece = Pick<Snapshot, 'listeners' | 'routes' | 'clusters'>;

export interface ProxySnapshot {
  snapshot: Snapshot;
  warnings: TranslationWarning[];
}

export interface GatewayIdentity {
  namespace: string;
  name: string;
  labels: Record<string, string>;
}

const INBOUND_MEMO = new WeakMap<Pod, { services: readonly Service[]; meshes: (MeshService | undefined)[]; result: { clusters: Cluster[]; virtualHosts: VirtualHost[] } }>();

export class SnapshotBuilder {
  readonly index: MeshIndex;
  readonly #outbound = new Map<string, OutboundPart>();
  readonly #outboundConfig = new WeakMap<OutboundPart, ConfigPiece>();

  constructor(index: MeshIndex) {
    this.index = index;
  }

  sidecarNodeId(pod: Pod): string {
    const ns = pod.metadata.namespace ?? 'default';
    return `sidecar~${pod.status?.podIP ?? '0.0.0.0'}~${pod.metadata.name}.${ns}~${ns}.svc.${this.index.domain}`;
  }

  /** The Sidecar resource scoping this pod: one with a matching workloadSelector, else the namespace's, else the root namespace's. */
  sidecarFor(pod: Pod): Sidecar | undefined {
    const ns = pod.metadata.namespace ?? 'default';
    const inNs = this.index.sidecars.filter((s) => s.metadata.namespace === ns);
    return (
      inNs.find((s) => s.spec.workloadSelector?.labels && labelsMatch(s.spec.workloadSelector.labels, pod.metadata.labels)) ??
      inNs.find((s) => !s.spec.workloadSelector) ??
      this.index.sidecars.find((s) => s.metadata.namespace === this.index.rootNamespace && !s.spec.workloadSelector)
    );
  }

  outboundPart(namespace: string, sidecar: Sidecar | undefined, podLabels: Record<string, string> | undefined): OutboundPart {
    const labelKey = this.index.hasSourceLabels ? JSON.stringify(Object.entries(podLabels ?? {}).sort()) : '';
    const key = `${namespace}|${sidecar ? `${sidecar.metadata.namespace}/${sidecar.metadata.name}@${sidecar.metadata.resourceVersion ?? ''}` : ''}|${labelKey}`;
    const memo = this.#outbound.get(key);
    if (memo) return memo;
    const rt = new RouteTranslator(this.index, { clientNamespace: namespace, ...(podLabels ? { podLabels } : {}) });
    const clusters: Cluster[] = [];
    const virtualHosts: VirtualHost[] = [];
    const tcpRoutes = new Map<string, string>();
    for (const svc of this.index.services) {
      if (!exportedTo(svc.exportTo, svc.namespace, namespace)) continue;
      for (const port of svc.ports) {
        if (sidecar && !egressAllows(sidecar, svc, namespace, port.port)) continue;
        clusters.push(...serviceClusters(this.index, svc, port, namespace));
        if (isHttpLike(port.protocol)) virtualHosts.push(rt.serviceVirtualHost(svc, port, () => domainsFor(svc, port.port, namespace)));
        else {
          const vs = this.index.virtualServices(svc.fqdn, namespace)[0];
          const target = vs?.spec.tcp ? rt.tcpRouteCluster(vs, port.port) : undefined;
          if (target) tcpRoutes.set(`outbound|${port.port}||${svc.fqdn}`, target);
        }
      }
    }
    // Istio: a VirtualService host that is no service still gets a virtual host on port 80.
    for (const host of this.index.virtualServiceOnlyHosts()) {
      const vs = this.index.virtualServices(host, namespace)[0];
      if (!vs) continue;
      if (sidecar && !egressAllows(sidecar, { fqdn: host, namespace: vs.metadata.namespace ?? 'default' }, namespace, 80)) continue;
      const routes = rt.httpRoutes(vs, 80, (d, ns) => destinationPort(this.index, d, ns) ?? 80);
      virtualHosts.push({ name: `${host}:80`, domains: [host, `${host}:80`], routes });
    }
    const have = new Set(clusters.map((c) => c.name));
    for (const [name, c] of rt.extraClusters) if (!have.has(name)) clusters.push(c);
    const passthrough = sidecar?.spec.outboundTrafficPolicy?.mode !== 'REGISTRY_ONLY';
    const part: OutboundPart = { key, clusters, virtualHosts, warnings: rt.warnings, passthrough, tcpRoutes };
    this.#outbound.set(key, part);
    return part;
  }

  /** A sidecar's config in two pieces: the shared outbound part and the pod's own (inbound) part. */
  sidecarPieces(pod: Pod): { outbound: OutboundPart; outboundConfig: ConfigPiece; own: ConfigPiece; inbound: { clusters: Cluster[]; virtualHosts: VirtualHost[] } } {
    const ns = pod.metadata.namespace ?? 'default';
    const outbound = this.outboundPart(ns, this.sidecarFor(pod), pod.metadata.labels);
    let outboundConfig = this.#outboundConfig.get(outbound);
    if (!outboundConfig) {
      outboundConfig = {
        listeners: [
          {
            name: 'virtualOutbound',
            address: '0.0.0.0',
            port: OUTBOUND_PORT,
            protocol: 'auto',
            direction: 'outbound',
            routeConfig: 'outbound',
            originalDst: outboundOriginalDst(this.index, outbound.clusters, outbound.passthrough, outbound.tcpRoutes),
          },
        ],
        routes: [{ name: 'outbound', virtualHosts: outbound.virtualHosts }],
        clusters: outbound.clusters,
      };
      this.#outboundConfig.set(outbound, outboundConfig);
    }
    const inbound = this.#inbound(pod);
    // Always listening: capture redirects every inbound port, declared or not, and undeclared ones pass through.
    const own: ConfigPiece = {
      listeners: [
        {
          name: 'virtualInbound',
          address: '0.0.0.0',
          port: INBOUND_PORT,
          protocol: 'auto',
          direction: 'inbound',
          routeConfig: 'inbound',
          originalDst: inboundOriginalDst(inbound.clusters),
        },
      ],
      routes: [{ name: 'inbound', virtualHosts: inbound.virtualHosts }],
      clusters: inbound.clusters,
    };
    return { outbound, outboundConfig, own, inbound };
  }

  sidecar(pod: Pod): ProxySnapshot {
    const { outbound, outboundConfig: o, own } = this.sidecarPieces(pod);
    return {
      snapshot: { version: '', listeners: [...o.listeners, ...own.listeners], routes: [...o.routes, ...own.routes], clusters: [...o.clusters, ...own.clusters] },
      warnings: outbound.warnings,
    };
  }

  #inbound(pod: Pod): { clusters: Cluster[]; virtualHosts: VirtualHost[] } {
    const ns = pod.metadata.namespace ?? 'default';
    const services = this.index.servicesOfPod.get(`${ns}/${pod.metadata.name}`) ?? [];
    const meshes = services.map((svc) => this.index.service(`${svc.metadata.name}.${ns}.svc.${this.index.domain}`));
    // Same pod, same services, same MeshService objects: last generation's inbound objects (and their encodings) still hold.
    const hit = INBOUND_MEMO.get(pod);
    if (hit && hit.services.length === services.length && hit.services.every((s, i) => s === services[i]) && hit.meshes.every((m, i) => m === meshes[i])) return hit.result;
    const result = this.#buildInbound(pod, services);
    INBOUND_MEMO.set(pod, { services, meshes, result });
    return result;
  }

  #buildInbound(pod: Pod, services: readonly Service[]): { clusters: Cluster[]; virtualHosts: VirtualHost[] } {
    const ns = pod.metadata.namespace ?? 'default';
    const containerPorts = pod.spec.containers.flatMap((c) => c.ports ?? []);
    const ports = new Map<number, { protocol: ReturnType<typeof portProtocol>; domains: string[]; svc?: string }>();
    for (const svc of services) {
      for (const sp of svc.spec.ports ?? []) {
        const tp =
          typeof sp.targetPort === 'number' ? sp.targetPort : typeof sp.targetPort === 'string' ? containerPorts.find((p) => p.name === sp.targetPort)?.containerPort : sp.port;
        if (tp === undefined) continue;
        const entry = ports.get(tp) ?? { protocol: portProtocol(sp), domains: [], svc: `${svc.metadata.name}.${ns}.svc.${this.index.domain}` };
        const mesh = this.index.service(`${svc.metadata.name}.${ns}.svc.${this.index.domain}`);
        if (mesh) entry.domains.push(...domainsFor(mesh, sp.port, ns));
        ports.set(tp, entry);
      }
    }
    for (const cp of containerPorts) {
      if ((cp.protocol ?? 'TCP') !== 'TCP' || ports.has(cp.containerPort)) continue;
      ports.set(cp.containerPort, { protocol: portProtocol({ name: cp.name ?? '' }), domains: [] });
    }
    const podIP = pod.status?.podIP;
    const clusters: Cluster[] = [];
    const virtualHosts: VirtualHost[] = [];
    const seen = new Set<string>();
    const sorted = [...ports.entries()].sort((a, b) => a[0] - b[0]);
    for (const [tp, info] of sorted) {
      const name = `inbound|${tp}||`;
      clusters.push({
        name,
        protocol: clusterProtocol(info.protocol),
        endpoints: [{ address: '127.0.0.1', port: tp }],
        destination: {
          ...(info.svc ? { service: info.svc, serviceName: info.svc.split('.')[0], serviceNamespace: ns } : {}),
          workload: workloadName(pod),
          workloadNamespace: ns,
          ...(pod.metadata.labels?.app ? { app: pod.metadata.labels.app } : {}),
          ...(pod.metadata.labels?.version ? { version: pod.metadata.labels.version } : {}),
        },
      });
      if (!isHttpLike(info.protocol)) continue;
      const domains = [...info.domains, ...(podIP ? [`${podIP}:${tp}`] : [])].filter((d) => !seen.has(d) && seen.add(d));
      if (domains.length > 0) virtualHosts.push({ name: `inbound|http|${tp}`, domains, routes: [{ name: 'default', route: [{ cluster: name, weight: 100 }] }] });
    }
    // No "*" virtual host: a Host no domain names is routed by the original destination's podIP:port
    // (the port the client dialled), else passed through to 127.0.0.1 at that port.
    return { clusters, virtualHosts };
  }

  /** Gateways whose selector matches the gateway proxy's labels, and the VirtualServices bound to them. */
  gateway(id: GatewayIdentity): ProxySnapshot {
    const warnings: TranslationWarning[] = [];
    const listeners: Listener[] = [];
    const routes: RouteConfig[] = [];
    const clusters = new Map<string, Cluster>();
    const gateways = this.index.gateways.filter((g) => g.spec.selector && Object.keys(g.spec.selector).length > 0 && labelsMatch(g.spec.selector, id.labels));
    const byPort = new Map<number, { bind: string; protocol: string; entries: { gw: Gateway; hosts: string[] }[] }>();
    for (const gw of gateways) {
      for (const server of gw.spec.servers ?? []) {
        const protocol = (server.port.protocol ?? 'HTTP').toUpperCase();
        if (!['HTTP', 'HTTP2', 'GRPC'].includes(protocol)) {
          warnings.push({ code: 'MBX_ANALYZE_UNSUPPORTED_SERVER', object: objectName(gw), field: `spec.servers.port`, message: `server protocol ${protocol} is not served by the meshbox gateway yet; use HTTP` });
          continue;
        }
        const e = byPort.get(server.port.number) ?? { bind: server.bind ?? '127.0.0.1', protocol, entries: [] };
        e.entries.push({ gw, hosts: server.hosts });
        byPort.set(server.port.number, e);
      }
    }
    for (const [port, e] of [...byPort].sort((a, b) => a[0] - b[0])) {
      const rcName = `http.${port}`;
      const vhosts: VirtualHost[] = [];
      const taken = new Set<string>();
      for (const { gw, hosts } of e.entries) {
        const gwNs = gw.metadata.namespace ?? 'default';
        const gwKey = `${gwNs}/${gw.metadata.name}`;
        const rt = new RouteTranslator(this.index, { clientNamespace: gwNs, gateway: gwKey });
        for (const vs of this.index.gatewayVirtualServices(gwNs, gw.metadata.name)) {
          const vsNs = vs.metadata.namespace ?? 'default';
          const vsHosts = (vs.spec.hosts ?? []).filter((h) => hosts.some((sh) => serverHostAllows(sh, h, vsNs, gwNs)));
          if (vsHosts.length === 0) continue;
          const routes = rt.httpRoutes(vs, port, (d, ns) => destinationPort(this.index, d, ns));
          for (const h of vsHosts) {
            const domains = h === '*' ? ['*'] : [h, `${h}:${port}`].filter((d) => !taken.has(d));
            if (domains.length === 0) continue;
            domains.forEach((d) => taken.add(d));
            vhosts.push({ name: h === '*' ? `any:${port}` : `${h.replace(/^\*/, 'any')}:${port}`, domains, routes });
          }
        }
        for (const [n, c] of rt.extraClusters) clusters.set(n, c);
        warnings.push(...rt.warnings);
      }
      if (vhosts.length === 0) continue;
      routes.push({ name: rcName, virtualHosts: vhosts });
      listeners.push({
        name: `gateway_${port}`,
        address: e.bind,
        port,
        protocol: e.protocol === 'HTTP2' ? 'http2' : e.protocol === 'GRPC' ? 'grpc' : 'http',
        direction: 'outbound',
        routeConfig: rcName,
      });
    }
    // Clusters every route names (and their siblings), computed as a sidecar in the gateway's namespace would see them.
    const wanted = new Set(routes.flatMap((rc) => rc.virtualHosts.flatMap((vh) => vh.routes.flatMap((r) => [...(r.route ?? []).map((w) => w.cluster), ...(r.mirror ? [r.mirror.cluster] : [])]))));
    for (const name of wanted) {
      if (clusters.has(name)) continue;
      const [, portText, subset, fqdn] = name.split('|');
      const svc = this.index.visibleService(fqdn ?? '', id.namespace);
      const mp = svc?.ports.find((p) => String(p.port) === portText);
      if (svc && mp) for (const c of serviceClusters(this.index, svc, mp, id.namespace)) if (c.name === name || subset === '') clusters.set(c.name, c);
    }
    const cl = [...clusters.values()].filter((c) => wanted.has(c.name));
    return { snapshot: { version: '', listeners, routes, clusters: cl }, warnings };
  }
}

// A Gateway server host ("ns/host", "./host" for the gateway's own namespace, "any-ns/host" written
// with a star, "host", "*.example.com") admits a VirtualService host.
export function serverHostAllows(serverHost: string, vsHost: string, vsNs: string, gatewayNs: string): boolean {
  const [ns, host] = serverHost.includes('/') ? (serverHost.split('/') as [string, string]) : ['*', serverHost];
  if (ns !== '*' && (ns === '.' ? vsNs !== gatewayNs : ns !== vsNs)) return false;
  return hostMatches(host, vsHost) || hostMatches(vsHost, host);
}

/**
 * Istio Sidecar egress hosts: "namespace/dnsName" with "*", "." (own namespace) and "~" (none).
 * An egress listener with a port owns that port: on it only its hosts are visible; the listener
 * without a port covers every other port.
 */
export function egressAllows(sidecar: Sidecar, svc: Pick<MeshService, 'fqdn' | 'namespace'>, proxyNs: string, port?: number): boolean {
  const egress = sidecar.spec.egress ?? [];
  // Istio: a Sidecar without egress (only outboundTrafficPolicy) reaches every service it may see.
  if (egress.length === 0) return true;
  const owner = port === undefined ? undefined : egress.find((eg) => eg.port?.number === port);
  const listeners = port === undefined ? egress : owner ? [owner] : egress.filter((eg) => eg.port?.number === undefined);
  for (const eg of listeners) {
    for (const entry of eg.hosts) {
      const [ns, host] = entry.includes('/') ? (entry.split('/') as [string, string]) : ['*', entry];
      if (ns === '~') continue;
      const nsOk = ns === '*' || (ns === '.' ? svc.namespace === proxyNs : svc.namespace === ns);
      if (nsOk && hostMatches(host, svc.fqdn)) return true;
    }
  }
  return false;
}

/** A destination's port: the one it names, else its service's only port (Istio's GetDestinationCluster). */
function destinationPort(index: MeshIndex, d: Destination, ns: string): number | undefined {
  if (d.port?.number) return d.port.number;
  const svc = index.service(index.resolveHost(d.host, ns));
  return svc?.ports.length === 1 ? svc.ports[0]?.port : undefined;
}

/** The Host values that mean this service port from a client in `clientNs`. */
export function domainsFor(svc: MeshService, port: number, clientNs: string): string[] {
  const names =
    svc.source === 'Service'
      ? [svc.fqdn, `${svc.name}.${svc.namespace}.svc`, `${svc.name}.${svc.namespace}`, ...(clientNs === svc.namespace ? [svc.name] : [])]
      : [svc.fqdn];
  // A Host header carries an IPv6 address in brackets.
  for (const a of [...(svc.vip ? [svc.vip] : []), ...(svc.moreAddresses ?? [])]) names.push(a.includes(':') ? `[${a}]` : a);
  const out: string[] = [];
  for (const n of names) {
    if (port === 80) out.push(n);
    out.push(`${n}:${port}`);
  }
  return out;
}
