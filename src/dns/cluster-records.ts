/**
 * The in-memory zone of the cluster: Kubernetes DNS-Based Service Discovery (schema 1.1.0) over pods,
 * Services and Endpoints/EndpointSlices. The daemon keeps it current from store watches; `lookup`
 * answers one question synchronously, so the DNS hot path never awaits.
 *
 * Names served (`<zone>` = cluster domain, matching case-insensitively):
 *   <svc>.<ns>.svc.<zone>                 A/AAAA clusterIP; headless: ready endpoint IPs; ExternalName: CNAME
 *   _<port>._<proto>.<svc>.<ns>.svc.<zone> SRV (headless: one per ready endpoint, target its hostname)
 *   <host>.<svc>.<ns>.svc.<zone>          A for endpoint hostnames (or dashed IPs) and pods with hostname+subdomain
 *   <a-b-c-d>.<ns>.pod.<zone>             A, only when a pod with that IP exists in that namespace ("pods verified")
 *   <d>.<c>.<b>.<a>.in-addr.arpa          PTR for service IPs, endpoint hostnames, then pod names
 *   dns-version.<zone>                    TXT "1.1.0"; the apex answers SOA and NS
 * Names that exist with other types get NOERROR without answers (NODATA), never NXDOMAIN.
 */
import type { Answer, SrvAnswer, StringAnswer, TxtAnswer, SoaAnswer } from 'dns-packet';
import { isIPv4, isIPv6 } from 'node:net';
import { DnsInvalidDomain } from './errors.js';
import {
  type Ipv4Cidr,
  cidrContains,
  dashedIp,
  ipv4ToNumber,
  parseIpv4Cidr,
  parseReverseName,
  reverseName,
  reversePrefixInside,
  reverseZone,
} from './ip-cidr.js';

// === Input shapes: the fields of Kubernetes v1 Pod/Service/Endpoints and discovery/v1 EndpointSlice we read ===

interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
}

export interface DnsPod {
  metadata: Meta;
  spec?: { hostname?: string; subdomain?: string };
  status?: {
    phase?: string;
    podIP?: string;
    podIPs?: { ip: string }[];
    conditions?: { type: string; status: string }[];
  };
}

export interface DnsServicePort {
  name?: string;
  port: number;
  protocol?: string;
}

export interface DnsService {
  metadata: Meta;
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    externalName?: string;
    ports?: DnsServicePort[];
    publishNotReadyAddresses?: boolean;
  };
}

interface EndpointAddress {
  ip: string;
  hostname?: string;
  targetRef?: { kind?: string; name?: string; namespace?: string };
}

export interface DnsEndpoints {
  kind?: 'Endpoints';
  metadata: Meta;
  subsets?: {
    addresses?: EndpointAddress[];
    notReadyAddresses?: EndpointAddress[];
    ports?: DnsServicePort[];
  }[];
}

export interface DnsEndpointSlice {
  kind: 'EndpointSlice';
  metadata: Meta;
  addressType?: string;
  endpoints?: {
    addresses: string[];
    conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null };
    hostname?: string;
    targetRef?: { kind?: string; name?: string; namespace?: string };
  }[];
  ports?: { name?: string; port?: number; protocol?: string }[] | null;
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const DNS_SCHEMA_VERSION = '1.1.0';

// === Lookup result ===

export type LookupResult =
  | {
      rcode: 'NOERROR';
      /** empty means NODATA: the name exists, not with this type */
      answers: Answer[];
      additionals: Answer[];
      /** set when the answer ends in a CNAME outside what we answered: the server resolves it further */
      chase?: string;
    }
  | { rcode: 'NXDOMAIN' };

export interface ClusterRecordsOptions {
  /** cluster domain, default `cluster.local` */
  domain?: string;
  /** IPv4 CIDRs whose in-addr.arpa names are ours (pod and service CIDRs) */
  reverseCidrs?: string[];
  /** TTL of positive answers (CoreDNS default 5 s) */
  ttl?: number;
  /** TTL and SOA minimum for negative answers (30 s, as CoreDNS with its cache in front) */
  negativeTtl?: number;
  /** address answered for `ns.dns.<zone>`, the name in the NS/SOA records */
  nameserverAddress?: string;
  /** current time in ms, for the SOA serial */
  now?: () => number;
}

// === Internal records ===

interface PodRec {
  key: string;
  ns: string;
  ips: string[];
  hostname: string | undefined;
  subdomain: string | undefined;
  ready: boolean;
}

interface SvcRec {
  key: string;
  ns: string;
  name: string;
  /** empty for headless and ExternalName services */
  ips: string[];
  headless: boolean;
  externalName: string | undefined;
  ports: { name: string; port: number; proto: string }[];
  publishNotReady: boolean;
}

interface EpAddr {
  ip: string;
  hostname: string | undefined;
  podKey: string | undefined;
  ready: boolean;
  ports: { name: string; port: number; proto: string }[];
}

interface EpSource {
  svcKey: string;
  addrs: EpAddr[];
}

const LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function addToIndex<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(value);
}

function removeFromIndex<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) index.delete(key);
}

function objectKey(meta: Meta): string {
  return `${(meta.namespace ?? 'default').toLowerCase()}/${meta.name.toLowerCase()}`;
}

function normalisePorts(ports: readonly { name?: string; port?: number; protocol?: string }[] | null | undefined) {
  const out: { name: string; port: number; proto: string }[] = [];
  for (const p of ports ?? []) {
    if (typeof p.port !== 'number') continue;
    out.push({ name: (p.name ?? '').toLowerCase(), port: p.port, proto: (p.protocol ?? 'TCP').toLowerCase() });
  }
  return out;
}

export class ClusterRecords {
  readonly domain: string;
  readonly ttl: number;
  readonly negativeTtl: number;
  #reverseCidrs: Ipv4Cidr[];
  #nameserverAddress: string | undefined;
  #now: () => number;
  #serial: number;

  #pods = new Map<string, PodRec>();
  /** `<dashed-ip>.<ns>` → pod keys */
  #podsByDashed = new Map<string, Set<string>>();
  /** `<hostname>.<subdomain>.<ns>` → pod keys */
  #podsByHostSub = new Map<string, Set<string>>();
  #podsByIp = new Map<string, Set<string>>();
  #podsPerNs = new Map<string, Set<string>>();

  #services = new Map<string, SvcRec>();
  #servicesByIp = new Map<string, Set<string>>();
  #servicesPerNs = new Map<string, Set<string>>();

  #epSources = new Map<string, EpSource>();
  #epSourcesBySvc = new Map<string, Set<string>>();
  #epSourcesByIp = new Map<string, Set<string>>();

  constructor(options: ClusterRecordsOptions = {}) {
    const domain = (options.domain ?? 'cluster.local').toLowerCase().replace(/\.$/, '');
    if (!domain.split('.').every((l) => LABEL_RE.test(l))) throw DnsInvalidDomain(options.domain ?? '');
    this.domain = domain;
    this.ttl = options.ttl ?? 5;
    this.negativeTtl = options.negativeTtl ?? 30;
    this.#reverseCidrs = (options.reverseCidrs ?? []).map(parseIpv4Cidr);
    this.#nameserverAddress = options.nameserverAddress;
    this.#now = options.now ?? Date.now;
    this.#serial = this.#nowSeconds();
  }

  #nowSeconds(): number {
    return Math.floor(this.#now() / 1000) >>> 0;
  }

  /** moves on every change; answers computed under one serial stay valid while it holds */
  get serial(): number {
    return this.#serial;
  }

  #touch(): void {
    // SOA serial moves forward on every change, like CoreDNS's "last modified" serial.
    this.#serial = Math.max(this.#serial + 1, this.#nowSeconds()) >>> 0;
  }

  // === impl updates ===

  upsertPod(pod: DnsPod): void {
    const key = objectKey(pod.metadata);
    this.#removePod(key);
    const status = pod.status ?? {};
    // Finished pods give their IP back to IPAM; answering for them would point at the next owner.
    if (status.phase === 'Succeeded' || status.phase === 'Failed') return void this.#touch();
    const ips = new Set<string>();
    if (status.podIP) ips.add(status.podIP);
    for (const p of status.podIPs ?? []) if (p.ip) ips.add(p.ip);
    if (ips.size === 0) return void this.#touch();
    const ns = key.slice(0, key.indexOf('/'));
    const rec: PodRec = {
      key,
      ns,
      ips: [...ips],
      hostname: pod.spec?.hostname?.toLowerCase(),
      subdomain: pod.spec?.subdomain?.toLowerCase(),
      ready: (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    };
    this.#pods.set(key, rec);
    for (const ip of rec.ips) {
      addToIndex(this.#podsByDashed, `${dashedIp(ip)}.${ns}`, key);
      addToIndex(this.#podsByIp, ip, key);
    }
    if (rec.hostname && rec.subdomain) addToIndex(this.#podsByHostSub, `${rec.hostname}.${rec.subdomain}.${ns}`, key);
    addToIndex(this.#podsPerNs, ns, key);
    this.#touch();
  }

  /** `key` is `<namespace>/<name>` */
  deletePod(key: string): void {
    this.#removePod(key.toLowerCase());
    this.#touch();
  }

  #removePod(key: string): void {
    const rec = this.#pods.get(key);
    if (!rec) return;
    this.#pods.delete(key);
    for (const ip of rec.ips) {
      removeFromIndex(this.#podsByDashed, `${dashedIp(ip)}.${rec.ns}`, key);
      removeFromIndex(this.#podsByIp, ip, key);
    }
    if (rec.hostname && rec.subdomain) {
      removeFromIndex(this.#podsByHostSub, `${rec.hostname}.${rec.subdomain}.${rec.ns}`, key);
    }
    removeFromIndex(this.#podsPerNs, rec.ns, key);
  }

  upsertService(svc: DnsService): void {
    const key = objectKey(svc.metadata);
    this.#removeService(key);
    const spec = svc.spec ?? {};
    const ns = key.slice(0, key.indexOf('/'));
    const isExternal = spec.type === 'ExternalName';
    const ips = new Set<string>();
    if (!isExternal) {
      for (const ip of [spec.clusterIP, ...(spec.clusterIPs ?? [])]) {
        if (ip && ip !== 'None' && (isIPv4(ip) || isIPv6(ip))) ips.add(ip);
      }
    }
    const rec: SvcRec = {
      key,
      ns,
      name: key.slice(ns.length + 1),
      ips: [...ips],
      headless: !isExternal && spec.clusterIP === 'None',
      externalName: isExternal && spec.externalName ? spec.externalName.toLowerCase().replace(/\.$/, '') : undefined,
      ports: normalisePorts(spec.ports),
      publishNotReady: spec.publishNotReadyAddresses === true,
    };
    this.#services.set(key, rec);
    for (const ip of rec.ips) addToIndex(this.#servicesByIp, ip, key);
    addToIndex(this.#servicesPerNs, ns, key);
    this.#touch();
  }

  /** `key` is `<namespace>/<name>` */
  deleteService(key: string): void {
    this.#removeService(key.toLowerCase());
    this.#touch();
  }

  #removeService(key: string): void {
    const rec = this.#services.get(key);
    if (!rec) return;
    this.#services.delete(key);
    for (const ip of rec.ips) removeFromIndex(this.#servicesByIp, ip, key);
    removeFromIndex(this.#servicesPerNs, rec.ns, key);
  }

  /** Accepts a v1 Endpoints or a discovery.k8s.io/v1 EndpointSlice; several slices of one service merge. */
  upsertEndpoints(obj: DnsEndpoints | DnsEndpointSlice): void {
    const key = objectKey(obj.metadata);
    const ns = key.slice(0, key.indexOf('/'));
    const addrs: EpAddr[] = [];
    let svcName: string | undefined;
    if (obj.kind === 'EndpointSlice') {
      svcName = obj.metadata.labels?.[SERVICE_NAME_LABEL];
      const ports = normalisePorts(obj.ports);
      if (obj.addressType === undefined || obj.addressType === 'IPv4' || obj.addressType === 'IPv6') {
        for (const ep of obj.endpoints ?? []) {
          for (const ip of ep.addresses ?? []) {
            if (!isIPv4(ip) && !isIPv6(ip)) continue;
            addrs.push({
              ip,
              hostname: ep.hostname?.toLowerCase(),
              podKey: this.#podKeyOf(ep.targetRef, ns),
              // discovery/v1: a nil ready condition means ready
              ready: ep.conditions?.ready !== false,
              ports,
            });
          }
        }
      }
    } else {
      svcName = obj.metadata.name;
      for (const subset of obj.subsets ?? []) {
        const ports = normalisePorts(subset.ports);
        for (const [list, ready] of [
          [subset.addresses, true],
          [subset.notReadyAddresses, false],
        ] as const) {
          for (const a of list ?? []) {
            if (!a.ip || (!isIPv4(a.ip) && !isIPv6(a.ip))) continue;
            addrs.push({ ip: a.ip, hostname: a.hostname?.toLowerCase(), podKey: this.#podKeyOf(a.targetRef, ns), ready, ports });
          }
        }
      }
    }
    const sourceKey = `${obj.kind === 'EndpointSlice' ? 'EndpointSlice' : 'Endpoints'}/${key}`;
    this.#removeEndpoints(sourceKey);
    if (svcName) {
      const src: EpSource = { svcKey: `${ns}/${svcName.toLowerCase()}`, addrs };
      this.#epSources.set(sourceKey, src);
      addToIndex(this.#epSourcesBySvc, src.svcKey, sourceKey);
      for (const a of addrs) addToIndex(this.#epSourcesByIp, a.ip, sourceKey);
    }
    this.#touch();
  }

  /** `key` is `<namespace>/<name>` of the Endpoints (or of the EndpointSlice, with kind 'EndpointSlice'). */
  deleteEndpoints(key: string, kind: 'Endpoints' | 'EndpointSlice' = 'Endpoints'): void {
    this.#removeEndpoints(`${kind}/${key.toLowerCase()}`);
    this.#touch();
  }

  #removeEndpoints(sourceKey: string): void {
    const src = this.#epSources.get(sourceKey);
    if (!src) return;
    this.#epSources.delete(sourceKey);
    removeFromIndex(this.#epSourcesBySvc, src.svcKey, sourceKey);
    for (const a of src.addrs) removeFromIndex(this.#epSourcesByIp, a.ip, sourceKey);
  }

  #podKeyOf(ref: { kind?: string; name?: string; namespace?: string } | undefined, ns: string): string | undefined {
    if (!ref || ref.kind !== 'Pod' || !ref.name) return undefined;
    return `${(ref.namespace ?? ns).toLowerCase()}/${ref.name.toLowerCase()}`;
  }

  /** Drops everything, for a relist after a broken watch. */
  clear(): void {
    for (const m of [
      this.#pods, this.#podsByDashed, this.#podsByHostSub, this.#podsByIp, this.#podsPerNs,
      this.#services, this.#servicesByIp, this.#servicesPerNs,
      this.#epSources, this.#epSourcesBySvc, this.#epSourcesByIp,
    ] as Map<unknown, unknown>[]) m.clear();
    this.#touch();
  }

  /** counts, for the daemon's metrics and tests */
  size(): { pods: number; services: number; endpointSources: number } {
    return { pods: this.#pods.size, services: this.#services.size, endpointSources: this.#epSources.size };
  }

  // === impl lookup ===

  /**
   * True when `name` (lowercase, no trailing dot) is ours to answer: inside the cluster domain, or a
   * reverse name inside a configured CIDR or for an address we know. Everything else is forwarded.
   */
  isAuthoritativeFor(name: string): boolean {
    if (name === this.domain || name.endsWith(`.${this.domain}`)) return true;
    const octets = parseReverseName(name);
    if (!octets) return false;
    if (octets.length === 4) {
      const ip = octets.join('.');
      if (this.#knowsIp(ip)) return true;
      const n = ipv4ToNumber(ip)!;
      return this.#reverseCidrs.some((c) => cidrContains(c, n));
    }
    return this.#reverseCidrs.some((c) => reversePrefixInside(c, octets));
  }

  /** The SOA record for the zone that holds `name`, with owner name = zone apex. */
  soaFor(name: string): SoaAnswer {
    let zone = this.domain;
    if (name.endsWith('.in-addr.arpa')) {
      const octets = parseReverseName(name) ?? [];
      const cidr = this.#reverseCidrs.find((c) => reversePrefixInside(c, octets) || octets.length === 4);
      zone = cidr ? reverseZone(cidr) : 'in-addr.arpa';
    }
    return {
      name: zone,
      type: 'SOA',
      class: 'IN',
      ttl: this.negativeTtl,
      data: {
        mname: `ns.dns.${this.domain}`,
        rname: `hostmaster.${this.domain}`,
        serial: this.#serial,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: this.negativeTtl,
      },
    };
  }

  /**
   * Answers one question. `qname` is the name as asked (its case is kept in the owner names);
   * returns undefined when the name is not ours (see isAuthoritativeFor).
   */
  lookup(qname: string, qtype: string): LookupResult | undefined {
    const name = qname.toLowerCase().replace(/\.$/, '');
    if (!this.isAuthoritativeFor(name)) return undefined;
    if (name.endsWith('.in-addr.arpa')) return this.#lookupReverse(qname, name, qtype);
    if (name === this.domain) return this.#apex(qname, qtype);
    const labels = name.slice(0, -(this.domain.length + 1)).split('.');
    const kind = labels.pop();
    if (kind === 'svc') return this.#lookupSvc(qname, labels, qtype);
    if (kind === 'pod') return this.#lookupPod(qname, labels, qtype);
    if (labels.length === 0 && kind === 'dns-version') {
      return qtype === 'TXT' || qtype === 'ANY'
        ? ok([{ name: qname, type: 'TXT', class: 'IN', ttl: this.ttl, data: DNS_SCHEMA_VERSION } as TxtAnswer])
        : ok([]);
    }
    if (kind === 'dns' && labels.length === 1 && labels[0] === 'ns' && this.#nameserverAddress) {
      return ok(this.#addressAnswers(qname, [this.#nameserverAddress], qtype));
    }
    if (kind === 'dns' && labels.length === 0 && this.#nameserverAddress) return ok([]);
    return NXDOMAIN;
  }

  #apex(qname: string, qtype: string): LookupResult {
    const answers: Answer[] = [];
    if (qtype === 'SOA' || qtype === 'ANY') answers.push({ ...this.soaFor(this.domain), name: qname, ttl: this.ttl });
    if (qtype === 'NS' || qtype === 'ANY') {
      answers.push({ name: qname, type: 'NS', class: 'IN', ttl: this.ttl, data: `ns.dns.${this.domain}` });
    }
    return ok(answers);
  }

  #addressAnswers(qname: string, ips: readonly string[], qtype: string): Answer[] {
    const wantA = qtype === 'A' || qtype === 'ANY';
    const wantAAAA = qtype === 'AAAA' || qtype === 'ANY';
    const out: Answer[] = [];
    const seen = new Set<string>();
    for (const ip of ips) {
      if (seen.has(ip)) continue;
      seen.add(ip);
      if (wantA && isIPv4(ip)) out.push({ name: qname, type: 'A', class: 'IN', ttl: this.ttl, data: ip });
      else if (wantAAAA && isIPv6(ip)) out.push({ name: qname, type: 'AAAA', class: 'IN', ttl: this.ttl, data: ip });
    }
    return out;
  }

  #lookupPod(qname: string, labels: string[], qtype: string): LookupResult {
    if (labels.length === 0) return ok([]);
    const ns = labels[labels.length - 1]!;
    if (labels.length === 1) return this.#podsPerNs.has(ns) ? ok([]) : NXDOMAIN;
    if (labels.length !== 2) return NXDOMAIN;
    const keys = this.#podsByDashed.get(`${labels[0]}.${ns}`);
    if (!keys) return NXDOMAIN;
    const ips: string[] = [];
    for (const k of keys) {
      for (const ip of this.#pods.get(k)?.ips ?? []) if (dashedIp(ip) === labels[0]) ips.push(ip);
    }
    return ok(this.#addressAnswers(qname, ips, qtype));
  }

  #lookupSvc(qname: string, labels: string[], qtype: string): LookupResult {
    if (labels.length === 0) return ok([]);
    const ns = labels[labels.length - 1]!;
    if (labels.length === 1) return this.#servicesPerNs.has(ns) ? ok([]) : NXDOMAIN;
    const svc = this.#services.get(`${ns}/${labels[labels.length - 2]!}`);
    if (!svc) return NXDOMAIN;
    if (labels.length === 2) return this.#serviceAnswers(qname, svc, qtype);
    if (labels.length === 3) {
      const first = labels[0]!;
      if (first.startsWith('_')) {
        // `_tcp.<svc>...` exists (empty non-terminal) when some named port uses that protocol
        const proto = first.slice(1);
        return svc.ports.some((p) => p.name && p.proto === proto) && !svc.externalName ? ok([]) : NXDOMAIN;
      }
      const ips = this.#hostnameIps(svc, first);
      return ips.length === 0 ? NXDOMAIN : ok(this.#addressAnswers(qname, ips, qtype));
    }
    if (labels.length === 4) {
      const [portLabel, protoLabel] = labels as [string, string];
      if (!portLabel.startsWith('_') || !protoLabel.startsWith('_') || svc.externalName) return NXDOMAIN;
      return this.#srv(qname, svc, portLabel.slice(1), protoLabel.slice(1), qtype);
    }
    return NXDOMAIN;
  }

  #serviceAnswers(qname: string, svc: SvcRec, qtype: string): LookupResult {
    if (svc.externalName !== undefined) {
      const cname = { name: qname, type: 'CNAME', class: 'IN', ttl: this.ttl, data: svc.externalName } as StringAnswer;
      return { rcode: 'NOERROR', answers: [cname], additionals: [], ...(qtype === 'CNAME' ? {} : { chase: svc.externalName }) };
    }
    if (qtype === 'SRV') return this.#srv(qname, svc, undefined, undefined, qtype);
    const ips = svc.headless ? this.#endpointAddrs(svc).map((a) => a.ip) : svc.ips;
    return ok(this.#addressAnswers(qname, ips, qtype));
  }

  /** Endpoint addresses of a service that DNS publishes: ready ones, or all with publishNotReadyAddresses. */
  #endpointAddrs(svc: SvcRec): EpAddr[] {
    const out: EpAddr[] = [];
    const seen = new Map<string, EpAddr>();
    for (const sourceKey of this.#epSourcesBySvc.get(svc.key) ?? []) {
      for (const a of this.#epSources.get(sourceKey)?.addrs ?? []) {
        if (!a.ready && !svc.publishNotReady) continue;
        const prior = seen.get(a.ip);
        // Endpoints and EndpointSlices of one service may both be fed; keep one entry per IP.
        if (prior) {
          for (const p of a.ports) if (!prior.ports.some((q) => q.name === p.name && q.proto === p.proto)) prior.ports.push(p);
          continue;
        }
        const copy = { ...a, ports: [...a.ports] };
        seen.set(a.ip, copy);
        out.push(copy);
      }
    }
    return out;
  }

  /** An endpoint's hostname: its own, else its pod's when the pod names this service as subdomain, else the dashed IP. */
  #hostnameOf(svc: SvcRec, a: EpAddr): string {
    if (a.hostname) return a.hostname;
    const pod = a.podKey ? this.#pods.get(a.podKey) : undefined;
    if (pod?.hostname && pod.subdomain === svc.name) return pod.hostname;
    return dashedIp(a.ip);
  }

  #hostnameIps(svc: SvcRec, host: string): string[] {
    if (svc.externalName !== undefined) return [];
    const ips: string[] = [];
    for (const a of this.#endpointAddrs(svc)) if (this.#hostnameOf(svc, a) === host) ips.push(a.ip);
    // Pods with hostname + subdomain get their name even before (or without) an endpoints controller.
    if (svc.headless) {
      for (const k of this.#podsByHostSub.get(`${host}.${svc.name}.${svc.ns}`) ?? []) {
        const pod = this.#pods.get(k);
        if (pod && (pod.ready || svc.publishNotReady)) ips.push(...pod.ips);
      }
    }
    return ips;
  }

  #srv(qname: string, svc: SvcRec, port: string | undefined, proto: string | undefined, qtype: string): LookupResult {
    const match = (p: { name: string; proto: string }) =>
      (port === undefined || (p.name !== '' && p.name === port)) && (proto === undefined || p.proto === proto);
    const targets: { target: string; port: number; ip: string }[] = [];
    const svcName = `${svc.name}.${svc.ns}.svc.${this.domain}`;
    if (svc.headless) {
      for (const a of this.#endpointAddrs(svc)) {
        const host = `${this.#hostnameOf(svc, a)}.${svcName}`;
        for (const p of a.ports) if (match(p)) targets.push({ target: host, port: p.port, ip: a.ip });
      }
    } else {
      for (const p of svc.ports) {
        if (match(p)) for (const ip of svc.ips.length ? svc.ips : ['']) targets.push({ target: svcName, port: p.port, ip });
      }
    }
    if (port !== undefined && targets.length === 0) {
      // The SRV name exists only while a port by that name exists (it may have no ready endpoints).
      const exists = svc.headless
        ? svc.ports.some((p) => match(p))
        : false;
      if (!exists) return NXDOMAIN;
    }
    if (qtype !== 'SRV' && qtype !== 'ANY') return ok([]);
    const weight = targets.length ? Math.max(1, Math.floor(100 / targets.length)) : 0;
    const answers: Answer[] = [];
    const additionals: Answer[] = [];
    const seenTarget = new Set<string>();
    const seenSrv = new Set<string>();
    for (const t of targets) {
      const srvKey = `${t.target}:${t.port}`;
      if (!seenSrv.has(srvKey)) {
        seenSrv.add(srvKey);
        answers.push({
          name: qname, type: 'SRV', class: 'IN', ttl: this.ttl,
          data: { priority: 0, weight, port: t.port, target: t.target },
        } as SrvAnswer);
      }
      if (t.ip && !seenTarget.has(`${t.target}/${t.ip}`)) {
        seenTarget.add(`${t.target}/${t.ip}`);
        additionals.push(...this.#addressAnswers(t.target, [t.ip], isIPv4(t.ip) ? 'A' : 'AAAA'));
      }
    }
    return { rcode: 'NOERROR', answers, additionals };
  }

  #knowsIp(ip: string): boolean {
    return this.#servicesByIp.has(ip) || this.#podsByIp.has(ip) || this.#epSourcesByIp.has(ip);
  }

  #lookupReverse(qname: string, name: string, qtype: string): LookupResult {
    const octets = parseReverseName(name)!;
    if (octets.length < 4) {
      const prefix = `.${name}`;
      for (const ip of [...this.#servicesByIp.keys(), ...this.#podsByIp.keys()]) {
        if (isIPv4(ip) && reverseName(ip).endsWith(prefix)) return ok([]);
      }
      return NXDOMAIN;
    }
    const target = this.#ptrTarget(octets.join('.'));
    if (target === undefined) return NXDOMAIN;
    if (qtype !== 'PTR' && qtype !== 'ANY') return ok([]);
    return ok([{ name: qname, type: 'PTR', class: 'IN', ttl: this.ttl, data: target } as StringAnswer]);
  }

  /** One name per IP (clients take the first PTR anyway): service, then headless endpoint, then pod. */
  #ptrTarget(ip: string): string | undefined {
    const svcKeys = [...(this.#servicesByIp.get(ip) ?? [])].sort();
    const svc = svcKeys[0] ? this.#services.get(svcKeys[0]) : undefined;
    if (svc) return `${svc.name}.${svc.ns}.svc.${this.domain}`;
    const sourceKeys = [...(this.#epSourcesByIp.get(ip) ?? [])].sort();
    for (const sk of sourceKeys) {
      const src = this.#epSources.get(sk);
      const epSvc = src ? this.#services.get(src.svcKey) : undefined;
      if (!src || !epSvc?.headless) continue;
      const addr = this.#endpointAddrs(epSvc).find((a) => a.ip === ip);
      if (addr) return `${this.#hostnameOf(epSvc, addr)}.${epSvc.name}.${epSvc.ns}.svc.${this.domain}`;
    }
    const podKeys = [...(this.#podsByIp.get(ip) ?? [])].sort();
    const pod = podKeys[0] ? this.#pods.get(podKeys[0]) : undefined;
    if (pod) return `${dashedIp(ip)}.${pod.ns}.pod.${this.domain}`;
    return undefined;
  }
}

const NXDOMAIN: LookupResult = { rcode: 'NXDOMAIN' };

function ok(answers: Answer[]): LookupResult {
  return { rcode: 'NOERROR', answers, additionals: [] };
}
