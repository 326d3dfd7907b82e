/**
 * One generation of the mesh, indexed for translation: every service host (Services and
 * ServiceEntries) with its ports and endpoints, and the Istio rules by host. Built once per
 * recompute and shared by every proxy's translation, so per-proxy work stays small.
 */
import type { ListenerProtocol } from '../../meshconfig/types.js';
import type {
  DestinationRule,
  Endpoints,
  Gateway,
  MeshState,
  Pod,
  Service,
  ServiceEntry,
  Sidecar,
  TranslateOptions,
  VirtualService,
} from './mesh-types.js';
import { portProtocol } from './protocol.js';
import { workloadName } from '../../api/workload-name.js';

export interface MeshEndpoint {
  address: string;
  port: number;
  labels: Record<string, string>;
  weight?: number;
  /** the endpoint pod's workload (Deployment, Job, ... or the pod), for telemetry */
  workload?: string;
}

export interface MeshPort {
  name: string;
  port: number;
  protocol: ListenerProtocol;
  /** the port the workloads listen on (Service targetPort, resolved per endpoint) */
  endpoints: MeshEndpoint[];
}

export interface MeshService {
  /** fully-qualified host: reviews.shop.svc.cluster.local, or a ServiceEntry host as written */
  fqdn: string;
  name: string;
  namespace: string;
  vip?: string;
  /** more addresses a client may dial (a ServiceEntry's further `addresses`) */
  moreAddresses?: string[];
  ports: MeshPort[];
  /** "Service" or "ServiceEntry" */
  source: 'Service' | 'ServiceEntry';
  /** a ServiceEntry's exportTo; absent: every namespace */
  exportTo?: readonly string[];
}

/**
 * Istio's exportTo: absent or "*" is every namespace, "." the object's own, "~" none, and a name
 * that namespace. Visibility is decided per client namespace, so each sidecar sees its own view.
 */
export function exportedTo(exportTo: readonly string[] | undefined, ownNamespace: string, clientNamespace: string): boolean {
  if (!exportTo || exportTo.length === 0) return true;
  for (const e of exportTo) {
    if (e === '*' || e === clientNamespace || (e === '.' && ownNamespace === clientNamespace)) return true;
  }
  return false;
}

export function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}

function byAge<T extends { metadata: { creationTimestamp?: string; name: string; namespace?: string } }>(a: T, b: T): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

const SERVICE_CACHE = new WeakMap<Service, { ep: Endpoints | undefined; pods: (Pod | undefined)[]; domain: string; ms: MeshService }>();

export class MeshIndex {
  readonly domain: string;
  readonly rootNamespace: string;
  readonly services: MeshService[] = [];
  readonly #byHost = new Map<string, MeshService>();
  readonly #podsByKey = new Map<string, Pod>();
  readonly #drByHost = new Map<string, DestinationRule[]>();
  readonly #wildcardDr: DestinationRule[] = [];
  readonly #drMemo = new Map<string, DestinationRule | undefined>();
  readonly #vsByHost = new Map<string, VirtualService[]>();
  /** mesh VirtualServices by wildcard host ("*.shop.svc.cluster.local"), oldest first */
  readonly #wildcardVs: { host: string; vs: VirtualService }[] = [];
  readonly #gatewayVs: VirtualService[] = [];
  readonly gateways: readonly Gateway[];
  readonly sidecars: readonly Sidecar[];
  readonly servicesOfPod = new Map<string, Service[]>();
  /** true when some VirtualService route uses sourceLabels: outbound routes then depend on the pod */
  readonly hasSourceLabels: boolean;

  constructor(state: MeshState, options: TranslateOptions = {}) {
    this.domain = options.clusterDomain ?? 'cluster.local';
    this.rootNamespace = options.rootNamespace ?? 'istio-system';
    this.gateways = [...state.gateways].sort(byAge);
    this.sidecars = state.sidecars;
    const podsByNs = new Map<string, Pod[]>();
    for (const pod of state.pods) {
      this.#podsByKey.set(`${pod.metadata.namespace}/${pod.metadata.name}`, pod);
      push(podsByNs, pod.metadata.namespace ?? 'default', pod);
    }
    const endpointsByKey = new Map<string, Endpoints>();
    for (const ep of state.endpoints) endpointsByKey.set(`${ep.metadata.namespace}/${ep.metadata.name}`, ep);

    for (const svc of state.services) {
      const ns = svc.metadata.namespace ?? 'default';
      const ms = this.#fromService(svc, endpointsByKey.get(`${ns}/${svc.metadata.name}`));
      this.#add(ms);
      if (svc.spec.selector && Object.keys(svc.spec.selector).length > 0) {
        for (const pod of podsByNs.get(ns) ?? []) {
          if (labelsMatch(svc.spec.selector, pod.metadata.labels)) {
            const key = `${ns}/${pod.metadata.name}`;
            const list = this.servicesOfPod.get(key) ?? [];
            list.push(svc);
            this.servicesOfPod.set(key, list);
          }
        }
      }
    }
    for (const se of [...state.serviceEntries].sort(byAge)) for (const ms of this.#fromServiceEntry(se)) if (!this.#byHost.has(ms.fqdn)) this.#add(ms);
    this.services.sort((a, b) => (a.fqdn < b.fqdn ? -1 : a.fqdn > b.fqdn ? 1 : 0));

    for (const dr of [...state.destinationRules].sort(byAge)) {
      const host = this.resolveHost(dr.spec.host, dr.metadata.namespace ?? 'default');
      if (host.startsWith('*')) this.#wildcardDr.push(dr);
      else push(this.#drByHost, host, dr);
    }
    let sourceLabels = false;
    for (const vs of [...state.virtualServices].sort(byAge)) {
      const gws = vs.spec.gateways ?? [];
      if (vs.spec.http?.some((r) => r.match?.some((m) => m.sourceLabels))) sourceLabels = true;
      if (gws.length === 0 || gws.includes('mesh')) {
        for (const h of vs.spec.hosts ?? []) {
          const host = this.resolveHost(h, vs.metadata.namespace ?? 'default');
          if (host.startsWith('*')) this.#wildcardVs.push({ host, vs });
          else push(this.#vsByHost, host, vs);
        }
      }
      if (gws.some((g) => g !== 'mesh')) this.#gatewayVs.push(vs);
    }
    this.hasSourceLabels = sourceLabels;
  }

  /** Istio's short-name rule: "reviews" in namespace shop means reviews.shop.svc.<domain>. */
  resolveHost(host: string, namespace: string): string {
    if (host.includes('*')) return host;
    if (this.#byHost.has(host)) return host;
    const dots = host.split('.').length - 1;
    if (dots === 0) return `${host}.${namespace}.svc.${this.domain}`;
    if (dots === 1) return `${host}.svc.${this.domain}`;
    if (host.endsWith('.svc')) return `${host}.${this.domain}`;
    return host;
  }

  service(fqdn: string): MeshService | undefined {
    return this.#byHost.get(fqdn);
  }

  /** The service of a host as a client in `clientNamespace` sees it: undefined when not exported there. */
  visibleService(fqdn: string, clientNamespace: string): MeshService | undefined {
    const svc = this.#byHost.get(fqdn);
    return svc && exportedTo(svc.exportTo, svc.namespace, clientNamespace) ? svc : undefined;
  }

  pod(namespace: string, name: string): Pod | undefined {
    return this.#podsByKey.get(`${namespace}/${name}`);
  }

  /** Istio's lookup order: the client's namespace, then the service's, then the root namespace; oldest wins. */
  destinationRule(fqdn: string, clientNamespace: string): DestinationRule | undefined {
    const key = `${clientNamespace}|${fqdn}`;
    if (this.#drMemo.has(key)) return this.#drMemo.get(key);
    const dr = this.#lookupDestinationRule(fqdn, clientNamespace);
    this.#drMemo.set(key, dr);
    return dr;
  }

  #lookupDestinationRule(fqdn: string, clientNamespace: string): DestinationRule | undefined {
    const visible = (dr: DestinationRule) => exportedTo(dr.spec.exportTo, dr.metadata.namespace ?? 'default', clientNamespace);
    const exact = (this.#drByHost.get(fqdn) ?? []).filter(visible);
    const svcNs = this.#byHost.get(fqdn)?.namespace;
    const wild = this.#wildcardDr.filter((dr) => visible(dr) && hostMatches(this.resolveHost(dr.spec.host, dr.metadata.namespace ?? 'default'), fqdn));
    for (const candidates of [exact, wild]) {
      for (const ns of [clientNamespace, svcNs, this.rootNamespace]) {
        const hit = candidates.find((dr) => dr.metadata.namespace === ns);
        if (hit) return hit;
      }
      if (candidates[0]) return candidates[0];
    }
    return undefined;
  }

  /**
   * The mesh VirtualServices of a host, oldest first (the first one wins; analysis warns on more):
   * those naming the host exactly, else those whose wildcard host covers it, the most specific
   * wildcard first (Istio's mostSpecificWildcardVsIndex). With `clientNamespace`, only those
   * exported to that namespace.
   */
  virtualServices(fqdn: string, clientNamespace?: string): readonly VirtualService[] {
    const visible = (vs: VirtualService) => clientNamespace === undefined || exportedTo(vs.spec.exportTo, vs.metadata.namespace ?? 'default', clientNamespace);
    const exact = this.#vsByHost.get(fqdn) ?? [];
    const shown = clientNamespace === undefined || exact.every(visible) ? exact : exact.filter(visible);
    if (shown.length > 0 || this.#wildcardVs.length === 0) return shown;
    const wild = this.#wildcardVs.filter((w) => hostMatches(w.host, fqdn) && visible(w.vs));
    if (wild.length === 0) return shown;
    const longest = Math.max(...wild.map((w) => w.host.length));
    return wild.filter((w) => w.host.length === longest).map((w) => w.vs);
  }

  /**
   * Hosts that mesh VirtualServices name but no Service or ServiceEntry defines ("api.example.com"):
   * Istio serves them on port 80 of the sidecar, routed by the VirtualService alone.
   */
  virtualServiceOnlyHosts(): string[] {
    return [...this.#vsByHost.keys()].filter((h) => !this.#byHost.has(h)).sort();
  }

  /** VirtualServices bound to a gateway "namespace/name". */
  gatewayVirtualServices(gatewayNs: string, gatewayName: string): VirtualService[] {
    return this.#gatewayVs.filter((vs) =>
      exportedTo(vs.spec.exportTo, vs.metadata.namespace ?? 'default', gatewayNs) &&
      (vs.spec.gateways ?? []).some((g) => {
        if (g === 'mesh') return false;
        const [ns, name] = g.includes('/') ? (g.split('/') as [string, string]) : [vs.metadata.namespace ?? 'default', g];
        return ns === gatewayNs && name === gatewayName;
      }),
    );
  }

  #add(ms: MeshService): void {
    this.services.push(ms);
    this.#byHost.set(ms.fqdn, ms);
  }

  #fromService(svc: Service, ep: Endpoints | undefined): MeshService {
    const ns = svc.metadata.namespace ?? 'default';
    // Informer objects keep their identity until they change: reuse last generation's MeshService
    // when the Service, its Endpoints and every pod behind them are the same objects, so that the
    // clusters and routes built from it (memoised by identity) are reused too.
    const pods: (Pod | undefined)[] = [];
    for (const subset of ep?.subsets ?? []) for (const a of subset.addresses ?? []) pods.push(a.targetRef ? this.pod(a.targetRef.namespace ?? ns, a.targetRef.name) : undefined);
    const cached = SERVICE_CACHE.get(svc);
    if (cached && cached.ep === ep && cached.domain === this.domain && cached.pods.length === pods.length && cached.pods.every((p, i) => p === pods[i])) return cached.ms;
    const ms = this.#buildService(svc, ep);
    SERVICE_CACHE.set(svc, { ep, pods, domain: this.domain, ms });
    return ms;
  }

  #buildService(svc: Service, ep: Endpoints | undefined): MeshService {
    const ns = svc.metadata.namespace ?? 'default';
    const ports = (svc.spec.ports ?? []).map((p): MeshPort => {
      const endpoints: MeshEndpoint[] = [];
      for (const subset of ep?.subsets ?? []) {
        const sp = (subset.ports ?? []).find((x) => (x.name ?? '') === (p.name ?? '')) ?? (subset.ports?.length === 1 ? subset.ports[0] : undefined);
        if (!sp) continue;
        for (const a of subset.addresses ?? []) {
          const pod = a.targetRef?.kind === 'Pod' || a.targetRef?.kind === undefined ? (a.targetRef ? this.pod(a.targetRef.namespace ?? ns, a.targetRef.name) : undefined) : undefined;
          endpoints.push({ address: a.ip, port: sp.port, labels: pod?.metadata.labels ?? {}, ...(pod ? { workload: workloadName(pod) } : {}) });
        }
      }
      endpoints.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port));
      return { name: p.name ?? '', port: p.port, protocol: portProtocol(p), endpoints };
    });
    const vip = svc.spec.clusterIP && svc.spec.clusterIP !== 'None' ? svc.spec.clusterIP : undefined;
    return { fqdn: `${svc.metadata.name}.${ns}.svc.${this.domain}`, name: svc.metadata.name, namespace: ns, ...(vip ? { vip } : {}), ports, source: 'Service' };
  }

  #fromServiceEntry(se: ServiceEntry): MeshService[] {
    const ns = se.metadata.namespace ?? 'default';
    const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
    // Every single address is a name the client may dial (api/ refuses CIDRs: no Host header carries one).
    const [vip, ...more] = (se.spec.addresses ?? []).filter((a) => !a.includes('/'));
    // api/ refuses wildcard hosts; objects stored before that are skipped here (nothing could route them)
    return se.spec.hosts
      .filter((h) => !h.includes('*'))
      .map((host) => ({
        fqdn: host,
        name: host.split('.')[0] ?? host,
        namespace: ns,
        ...(vip ? { vip } : {}),
        ...(more.length > 0 ? { moreAddresses: more } : {}),
        ...(se.spec.exportTo ? { exportTo: se.spec.exportTo } : {}),
        source: 'ServiceEntry' as const,
        ports: (se.spec.ports ?? []).map((p) => ({
          name: p.name ?? '',
          port: p.number,
          protocol: portProtocol({ name: p.protocol?.toLowerCase() ?? p.name ?? '' }),
          endpoints: (se.spec.endpoints ?? [])
            // api/ admits only IP addresses (STATIC, or DNS with IPs); a name would be NACKed by the proxy
            .filter((e) => IPV4.test(e.address) || e.address.includes(':'))
            .map((e) => ({
              address: e.address,
              port: (p.name ? e.ports?.[p.name] : undefined) ?? p.targetPort ?? p.number,
              labels: e.labels ?? {},
              ...(e.weight !== undefined ? { weight: e.weight } : {}),
            })),
        })),
      }));
  }
}

export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return pattern === host;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
