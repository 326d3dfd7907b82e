/**
 * VirtualService http routes → proxy routes, as Istio's route translation does it: matches (OR of
 * ANDs), weighted destinations to `outbound|port|subset|host` clusters, header ops, rewrite,
 * redirect, directResponse, timeout, retries, fault, mirror. A destination the mesh cannot serve
 * (an undefined subset, an unknown host) never drops the config: it becomes a 503 that says why.
 */
import type { Cluster, Route, RouteMatch, StringMatch, VirtualHost } from '../../meshconfig/types.js';
import { effectivePolicy } from './traffic-policy.js';
import { labelsMatch, type MeshEndpoint, type MeshIndex, type MeshPort, type MeshService } from './mesh-index.js';
import type { Destination, DestinationRule, HTTPMatchRequest, HTTPRoute, StringMatchIn, VirtualService } from './mesh-types.js';
import { clusterProtocol } from './protocol.js';

import type { TranslationWarning } from '../../meshconfig/xds/status.js';
export type { TranslationWarning };

/** Who the routes are for: a sidecar (pod labels) or a gateway ("ns/name"). */
export interface RouteContext {
  clientNamespace: string;
  podLabels?: Record<string, string>;
  gateway?: string;
}

export function clusterName(port: number, subset: string, fqdn: string): string {
  return `outbound|${port}|${subset}|${fqdn}`;
}

// Clusters by (MeshPort identity, subset), valid while the service and DestinationRule objects are the same.
const CLUSTER_MEMO = new WeakMap<MeshPort, Map<string, { svc: MeshService; dr: DestinationRule | undefined; cluster: Cluster }>>();

export function outboundCluster(index: MeshIndex, svc: MeshService, port: MeshPort, clientNamespace: string, subset?: string): Cluster {
  const dr = index.destinationRule(svc.fqdn, clientNamespace);
  let memo = CLUSTER_MEMO.get(port);
  if (!memo) CLUSTER_MEMO.set(port, (memo = new Map()));
  const hit = memo.get(subset ?? '');
  if (hit && hit.svc === svc && hit.dr === dr) return hit.cluster;
  const cluster = buildOutboundCluster(svc, port, dr, subset);
  memo.set(subset ?? '', { svc, dr, cluster });
  return cluster;
}

function buildOutboundCluster(svc: MeshService, port: MeshPort, dr: DestinationRule | undefined, subset: string | undefined): Cluster {
  const subsetDef = subset === undefined ? undefined : dr?.spec.subsets?.find((s) => s.name === subset);
  const policy = effectivePolicy(dr, port.port, subset);
  const endpoints = (subsetDef ? port.endpoints.filter((e) => labelsMatch(subsetDef.labels, e.labels)) : subset === undefined ? port.endpoints : []).map((e) => ({
    address: e.address,
    port: e.port,
    ...(e.weight !== undefined ? { weight: e.weight } : {}),
  }));
  // Istio's source reporter labels the destination workload from the endpoint that answered; a
  // cluster carries one label set, so it names the workload (and app/version) its endpoints share.
  const members = subsetDef ? port.endpoints.filter((e) => labelsMatch(subsetDef.labels, e.labels)) : subset === undefined ? port.endpoints : [];
  const shared = (get: (e: MeshEndpoint) => string | undefined): string | undefined => {
    const values = new Set(members.map(get));
    return values.size === 1 ? [...values][0] : undefined;
  };
  const workload = shared((e) => e.workload);
  const app = shared((e) => e.labels['app.kubernetes.io/name'] ?? e.labels.app);
  const version = subsetDef?.labels?.version ?? shared((e) => e.labels['app.kubernetes.io/version'] ?? e.labels.version);
  return {
    name: clusterName(port.port, subset ?? '', svc.fqdn),
    protocol: clusterProtocol(port.protocol),
    endpoints,
    destination: {
      service: svc.fqdn,
      serviceName: svc.name,
      serviceNamespace: svc.namespace,
      ...(workload ? { workload, workloadNamespace: svc.namespace } : {}),
      ...(app ? { app } : {}),
      ...(version ? { version } : {}),
    },
    ...(policy.loadBalancer ? { lbPolicy: policy.loadBalancer } : {}),
    ...(policy.connectionPool ? { connectionPool: policy.connectionPool } : {}),
    ...(policy.outlierDetection ? { outlierDetection: policy.outlierDetection } : {}),
  };
}

/** Every cluster of a service port: the service itself plus one per DestinationRule subset. */
export function serviceClusters(index: MeshIndex, svc: MeshService, port: MeshPort, clientNamespace: string): Cluster[] {
  const dr = index.destinationRule(svc.fqdn, clientNamespace);
  return [outboundCluster(index, svc, port, clientNamespace), ...(dr?.spec.subsets ?? []).map((s) => outboundCluster(index, svc, port, clientNamespace, s.name))];
}

const VHOST_MEMO = new WeakMap<MeshPort, Map<string, { svc: MeshService; vs: VirtualService | undefined; dr: DestinationRule | undefined; vh: VirtualHost }>>();

/** Builds routes; clusters they need beyond the service clusters (undefined subsets) land in `extraClusters`. */
export class RouteTranslator {
  readonly #index: MeshIndex;
  readonly #ctx: RouteContext;
  readonly warnings: TranslationWarning[] = [];
  readonly extraClusters = new Map<string, Cluster>();

  constructor(index: MeshIndex, ctx: RouteContext) {
    this.#index = index;
    this.#ctx = ctx;
  }

  /** The virtual host of one service port for a sidecar: its VirtualService's routes, else the default route. */
  serviceVirtualHost(svc: MeshService, port: MeshPort, domains: () => string[]): VirtualHost {
    const vs = this.#index.virtualServices(svc.fqdn, this.#ctx.clientNamespace);
    const first = vs[0];
    const dr = this.#index.destinationRule(svc.fqdn, this.#ctx.clientNamespace);
    // Reuse last generation's virtual host when nothing it was built from changed (and it only
    // routes to its own service, whose DestinationRule is part of the key).
    const cacheable = !this.#index.hasSourceLabels && vs.length <= 1;
    let memo = VHOST_MEMO.get(port);
    if (!memo) VHOST_MEMO.set(port, (memo = new Map()));
    const hit = memo.get(this.#ctx.clientNamespace);
    if (cacheable && hit && hit.svc === svc && hit.vs === first && hit.dr === dr) return hit.vh;
    const warningsBefore = this.warnings.length;
    const extraBefore = this.extraClusters.size;
    const vh = this.#buildVirtualHost(svc, port, domains(), vs);
    const selfOnly = vh.routes.every((r) => [...(r.route ?? []), ...(r.mirror ? [r.mirror] : [])].every((w) => w.cluster.endsWith(`|${svc.fqdn}`)));
    if (cacheable && selfOnly && this.warnings.length === warningsBefore && this.extraClusters.size === extraBefore) memo.set(this.#ctx.clientNamespace, { svc, vs: first, dr, vh });
    else memo.delete(this.#ctx.clientNamespace);
    return vh;
  }

  #buildVirtualHost(svc: MeshService, port: MeshPort, domains: string[], vs: readonly VirtualService[]): VirtualHost {
    const name = `${svc.fqdn}:${port.port}`;
    const first = vs[0];
    if (vs.length > 1) {
      this.warnings.push({
        code: 'MBX_ANALYZE_MULTIPLE_VIRTUALSERVICES',
        object: vs.slice(1).map(objectName).join(', '),
        field: 'spec.hosts',
        message: `host ${svc.fqdn} is also claimed by ${objectName(first!)}, which wins (oldest); merge the VirtualServices`,
      });
    }
    // A VirtualService with only tcp routes leaves the HTTP ports on the default route (Istio).
    const routes = first?.spec.http ? this.httpRoutes(first, port.port, (d) => this.#defaultPort(d, port.port)) : [];
    if (!first?.spec.http) routes.push({ name: 'default', route: [{ cluster: clusterName(port.port, '', svc.fqdn), weight: 100 }] });
    return { name, domains, routes };
  }

  /** One VirtualService's http routes, in order; matches not for this proxy (sourceLabels, gateways) are dropped. */
  httpRoutes(vs: VirtualService, listenerPort: number, portOf: (d: Destination, ns: string) => number | undefined): Route[] {
    const out: Route[] = [];
    const vsNs = vs.metadata.namespace ?? 'default';
    (vs.spec.http ?? []).forEach((http, i) => {
      const field = `spec.http[${i}]`;
      let matches: RouteMatch[] | undefined;
      if (http.match && http.match.length > 0) {
        const applicable = http.match.filter((m) => this.#matchApplies(m, vsNs, listenerPort));
        if (applicable.length === 0) return;
        matches = applicable.map((m) => translateMatch(m));
      }
      const route = this.#translateRoute(vs, http, field, `${http.name ?? `${vs.metadata.name}.${i}`}`, matches, (d) => portOf(d, vsNs));
      out.push(route);
    });
    return out;
  }

  /**
   * The cluster a TCP service port's connections go to by its VirtualService's tcp routes (the
   * first rule whose match applies to this port and to sidecars), or undefined for the default.
   * A destination the mesh cannot serve becomes an empty cluster (the proxy closes it, UH) and a warning.
   */
  tcpRouteCluster(vs: VirtualService, port: number): string | undefined {
    const vsNs = vs.metadata.namespace ?? 'default';
    const rules = vs.spec.tcp ?? [];
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      const applies =
        !rule.match ||
        rule.match.length === 0 ||
        rule.match.some((m) => (m.port === undefined || m.port === port) && (!m.gateways || m.gateways.length === 0 || m.gateways.includes('mesh')));
      const d = rule.route[0]?.destination;
      if (!applies || !d) continue;
      const svc = this.#index.service(this.#index.resolveHost(d.host, vsNs));
      const destPort = d.port?.number ?? (svc?.ports.length === 1 ? svc.ports[0]?.port : undefined) ?? port;
      return this.#destinationCluster(vs, d, `spec.tcp[${i}].route[0].destination`, destPort).cluster;
    }
    return undefined;
  }

  #defaultPort(d: Destination, listenerPort: number): number {
    return d.port?.number ?? listenerPort;
  }

  #matchApplies(m: HTTPMatchRequest, vsNs: string, listenerPort: number): boolean {
    if (m.port !== undefined && m.port !== listenerPort) return false;
    if (this.#ctx.gateway !== undefined) {
      if (m.gateways && m.gateways.length > 0) {
        return m.gateways.some((g) => (g.includes('/') ? g : `${vsNs}/${g}`) === this.#ctx.gateway);
      }
      return true;
    }
    if (m.gateways && m.gateways.length > 0 && !m.gateways.includes('mesh')) return false;
    if (m.sourceLabels && !labelsMatch(m.sourceLabels, this.#ctx.podLabels)) return false;
    return true;
  }

  #translateRoute(
    vs: VirtualService,
    http: HTTPRoute,
    field: string,
    name: string,
    match: RouteMatch[] | undefined,
    portOf: (d: Destination) => number | undefined,
  ): Route {
    const r: Route = { name: sanitize(name) };
    if (match) r.match = match;
    if (http.redirect) {
      r.redirect = { ...http.redirect };
    } else if (http.directResponse) {
      const body = http.directResponse.body?.string ?? (http.directResponse.body?.bytes ? Buffer.from(http.directResponse.body.bytes, 'base64').toString() : undefined);
      r.directResponse = { status: http.directResponse.status, ...(body !== undefined ? { body } : {}) };
    } else {
      const dests = http.route ?? [];
      const weighted: { cluster: string; weight: number }[] = [];
      const problems: string[] = [];
      dests.forEach((d, j) => {
        const weight = d.weight ?? (dests.length === 1 ? 100 : 0);
        if (weight <= 0) return;
        const resolved = this.#destinationCluster(vs, d.destination, `${field}.route[${j}].destination`, portOf(d.destination));
        if (resolved.problem) problems.push(resolved.problem);
        weighted.push({ cluster: resolved.cluster, weight });
      });
      if (weighted.length === 0 || problems.length === weighted.length) {
        const reason = problems.length > 0 ? problems.join('; ') : `route ${name} of ${objectName(vs)} has no destination with a weight above 0`;
        r.directResponse = { status: 503, body: `${reason}\n`, headers: { 'x-meshbox-error': `NR ${reason}`, 'content-type': 'text/plain' } };
      } else {
        r.route = weighted;
      }
      // Per-destination header ops have no per-cluster slot in the proxy model; one destination's apply route-wide.
      const only = dests.length === 1 ? dests[0]?.headers : undefined;
      const headers = mergeHeaders(http.headers, only);
      if (headers) r.headers = headers;
    }
    if (http.rewrite) r.rewrite = { ...http.rewrite };
    if (http.timeout) r.timeout = http.timeout;
    if (http.retries) r.retries = { ...http.retries };
    if (http.fault) {
      const f: NonNullable<Route['fault']> = {};
      const d = http.fault.delay;
      if (d) f.delay = { ...(d.fixedDelay ? { fixedDelay: d.fixedDelay } : {}), percentage: faultPercentage(d) };
      const a = http.fault.abort;
      if (a) f.abort = { ...(a.httpStatus !== undefined ? { httpStatus: a.httpStatus } : {}), percentage: faultPercentage(a) };
      r.fault = f;
    }
    if (http.mirror && r.route) {
      const m = this.#destinationCluster(vs, http.mirror, `${field}.mirror`, portOf(http.mirror));
      r.mirror = { cluster: m.cluster };
      if (http.mirrorPercentage) r.mirrorPercentage = { ...http.mirrorPercentage };
    }
    return r;
  }

  /** The cluster for a destination; a problem (unknown host, undefined subset) yields an empty cluster plus a warning. */
  #destinationCluster(vs: VirtualService, d: Destination, field: string, port: number | undefined): { cluster: string; problem?: string } {
    const vsNs = vs.metadata.namespace ?? 'default';
    const fqdn = this.#index.resolveHost(d.host, vsNs);
    // A ServiceEntry not exported to the client's namespace does not exist for it (Istio).
    const svc = this.#index.visibleService(fqdn, this.#ctx.clientNamespace);
    const subset = d.subset ?? '';
    const mp = svc ? (port !== undefined ? svc.ports.find((p) => p.port === port) : undefined) ?? (svc.ports.length === 1 ? svc.ports[0] : undefined) : undefined;
    const portNum = mp?.port ?? port ?? 0;
    const name = clusterName(portNum, subset, fqdn);
    let problem: string | undefined;
    let code = '';
    if (!svc) {
      problem = `destination host ${fqdn} of ${objectName(vs)} is not a Service or ServiceEntry`;
      code = 'MBX_ANALYZE_UNKNOWN_HOST';
    } else if (!mp) {
      problem = `destination ${fqdn} of ${objectName(vs)} has no port ${port ?? '(none given, and the service has several)'}`;
      code = 'MBX_ANALYZE_UNKNOWN_PORT';
    } else if (subset !== '') {
      const dr = this.#index.destinationRule(fqdn, this.#ctx.clientNamespace);
      if (!dr?.spec.subsets?.some((s) => s.name === subset)) {
        problem = `subset ${subset} of ${fqdn} is not defined by any DestinationRule (${objectName(vs)} ${field})`;
        code = 'MBX_ANALYZE_SUBSET_UNDEFINED';
      }
    }
    if (problem) {
      this.warnings.push({ code, object: objectName(vs), field, message: problem });
      // An empty cluster makes the proxy answer 503 UH naming this cluster, for this share of traffic only.
      if (!this.extraClusters.has(name)) {
        this.extraClusters.set(name, {
          name,
          protocol: mp ? clusterProtocol(mp.protocol) : 'http',
          endpoints: [],
          destination: { service: fqdn },
        });
      }
      return { cluster: name, problem };
    }
    return { cluster: name };
  }
}

export function objectName(o: { kind: string; metadata: { namespace?: string; name: string } }): string {
  return `${o.kind} ${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
}

function sanitize(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._:|~\-/]/g, '-');
  return /^[A-Za-z0-9]/.test(s) ? s : `r${s}`;
}

/**
 * Istio's TranslateFault: `percentage` wins, else the deprecated integer `percent`, else 0, so a
 * fault without either injects into no request (istio/istio#36303, istio/api#2522: the docs once
 * said "all requests", the implementation never did, and the docs were changed to match it).
 */
function faultPercentage(f: { percentage?: { value: number }; percent?: number }): { value: number } {
  if (f.percentage) return { value: f.percentage.value };
  return { value: f.percent ?? 0 };
}

function stringMatch(m: StringMatchIn): StringMatch {
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  if (m.regex !== undefined) return { regex: m.regex };
  // Istio: an empty match object means "present".
  return { present: true };
}

export function translateMatch(m: HTTPMatchRequest): RouteMatch {
  const out: RouteMatch = {};
  if (m.name) out.name = m.name;
  if (m.uri) {
    out.path = stringMatch(m.uri);
    // Istio sets Envoy's case_sensitive=false, which Envoy applies to path and prefix, never to a regex.
    if (m.ignoreUriCase && m.uri.regex === undefined) out.path.ignoreCase = true;
  }
  if (m.authority) out.authority = stringMatch(m.authority);
  if (m.method) out.method = stringMatch(m.method);
  if (m.headers || m.withoutHeaders) {
    const h: Record<string, StringMatch> = {};
    for (const [k, v] of Object.entries(m.headers ?? {})) h[k.toLowerCase()] = stringMatch(v);
    // The proxy model has no negated match; withoutHeaders is supported as "absent" only (api/validate rejects the rest).
    for (const k of Object.keys(m.withoutHeaders ?? {})) h[k.toLowerCase()] = { present: false };
    out.headers = h;
  }
  if (m.queryParams) {
    const q: Record<string, StringMatch> = {};
    for (const [k, v] of Object.entries(m.queryParams)) q[k] = stringMatch(v);
    out.queryParams = q;
  }
  return out;
}

function mergeHeaders(a: HTTPRoute['headers'], b: HTTPRoute['headers']): Route['headers'] | undefined {
  if (!a && !b) return undefined;
  const ops = (x?: { set?: Record<string, string>; add?: Record<string, string>; remove?: string[] }, y?: typeof x) => {
    if (!x && !y) return undefined;
    const out: { set?: Record<string, string>; add?: Record<string, string>; remove?: string[] } = {};
    if (x?.set || y?.set) out.set = { ...x?.set, ...y?.set };
    if (x?.add || y?.add) out.add = { ...x?.add, ...y?.add };
    if (x?.remove || y?.remove) out.remove = [...(x?.remove ?? []), ...(y?.remove ?? [])];
    return out;
  };
  const request = ops(a?.request, b?.request);
  const response = ops(a?.response, b?.response);
  return { ...(request ? { request } : {}), ...(response ? { response } : {}) };
}
