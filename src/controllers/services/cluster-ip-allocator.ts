/**
 * ClusterIP and NodePort allocation, run as admission on Service create and update (Kubernetes does
 * it in the API server's REST storage, not in a controller).
 *
 * The store is the truth: every admission lists the Services and derives what is taken, so a
 * restart, a delete or a failed write needs no bookkeeping. The one thing the store cannot show yet
 * is an address handed out to an object that is still on its way to the store (`apply` admits every
 * document before it writes any), so those are held as short-lived reservations, keyed by the
 * Service, until the store shows them or they expire (Kubernetes' repair loop plays this role).
 *
 * Range: the network and broadcast addresses are never handed out, and neither is the first host
 * address (network + 1), which Kubernetes gives to the `kubernetes` Service; asking for it
 * explicitly is allowed. Allocation walks the range from a cursor, so a released address is reused
 * only after the rest of the range has been used (fewer stale connections to a recycled VIP).
 */
import type { KubeObject } from '../../api/types.js';
import { systemClock, type Clock } from '../../core/clock.js';
import type { Store } from '../../store/types.js';
import { formatIpv4, parseIpv4, parseIpv4Cidr, cidrHas, type Ipv4Cidr } from '../../netfilter/ipv4.js';
import {
  ClusterIpAllocated,
  ClusterIpImmutable,
  ClusterIpInvalid,
  ClusterIpOutOfRange,
  ClusterIpRangeFull,
  InvalidServiceCidr,
  NodePortAllocated,
  NodePortOutOfRange,
  NodePortRangeFull,
} from './errors.js';
import type { Service, ServicePort, ServiceSpec } from './service-types.js';

export interface PortRange {
  min: number;
  max: number;
}

export const DEFAULT_NODE_PORT_RANGE: PortRange = { min: 30000, max: 32767 };

export interface ClusterIpAllocatorOptions {
  store: Store;
  serviceCidr: string;
  nodePortRange?: PortRange;
  clock?: Clock;
  /** how long an address handed out at admission is held for a Service the store does not show yet */
  reservationTtlMs?: number;
}

interface Reservation {
  owner: string;
  expiresAt: number;
}

export class ClusterIpAllocator {
  readonly #store: Store;
  readonly #cidr: Ipv4Cidr;
  readonly #ports: PortRange;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #ipReservations = new Map<number, Reservation>();
  readonly #portReservations = new Map<number, Reservation>();
  #ipCursor = 0;
  #portCursor = 0;

  constructor(opts: ClusterIpAllocatorOptions) {
    const cidr = parseIpv4Cidr(opts.serviceCidr);
    if (!cidr || cidr.prefix < 8 || cidr.prefix > 30) throw InvalidServiceCidr(opts.serviceCidr);
    this.#store = opts.store;
    this.#cidr = cidr;
    this.#ports = opts.nodePortRange ?? DEFAULT_NODE_PORT_RANGE;
    this.#clock = opts.clock ?? systemClock;
    this.#ttlMs = opts.reservationTtlMs ?? 60_000;
  }

  get serviceCidr(): string {
    return this.#cidr.text;
  }

  /** The address Kubernetes gives the `kubernetes` Service; never allocated automatically. */
  get firstAddress(): string {
    return formatIpv4(this.#cidr.network + 1);
  }

  /**
   * Fills spec.clusterIP, clusterIPs, ipFamilies, ipFamilyPolicy and nodePorts of a Service about to
   * be written; keeps what `old` (the stored object, on update) had. Throws a 422 MeshboxError for a
   * clash or an address outside the range. Synchronous: the API server writes right after it.
   */
  admitService<T extends KubeObject>(svc: T, old?: KubeObject): T {
    const out = structuredClone(svc) as unknown as Service;
    const spec: ServiceSpec = (out.spec ??= {});
    const oldSpec = (old?.spec ?? undefined) as ServiceSpec | undefined;
    const owner = `${out.metadata.namespace ?? 'default'}/${out.metadata.name}`;
    const taken = this.#takenInStore(owner);
    this.#expireReservations(taken);

    if (spec.type === 'ExternalName') {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    } else {
      this.#admitClusterIp(spec, oldSpec, owner, taken.ips);
    }
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
      this.#admitNodePorts(spec, oldSpec, owner, taken.ports);
    } else {
      for (const p of spec.ports ?? []) delete p.nodePort;
    }
    return out as unknown as T;
  }

  #admitClusterIp(spec: ServiceSpec, oldSpec: ServiceSpec | undefined, owner: string, taken: Map<number, string>): void {
    const requested = spec.clusterIP || spec.clusterIPs?.[0] || '';
    const previous = oldSpec?.type !== 'ExternalName' ? oldSpec?.clusterIP : undefined;
    if (previous) {
      if (requested && requested !== previous) throw ClusterIpImmutable(previous, requested);
      setClusterIp(spec, previous);
      return;
    }
    if (requested === 'None') {
      setClusterIp(spec, 'None');
      return;
    }
    if (requested) {
      const ip = parseIpv4(requested);
      if (ip === undefined) throw ClusterIpInvalid(requested);
      if (!this.#usable(ip) && ip !== this.#cidr.network + 1) throw ClusterIpOutOfRange(requested, this.#cidr.text);
      const holder = taken.get(ip) ?? this.#reservedFor(this.#ipReservations, ip, owner);
      if (holder && holder !== owner) throw ClusterIpAllocated(requested, holder);
      this.#reserve(this.#ipReservations, ip, owner);
      setClusterIp(spec, requested);
      return;
    }
    const ip = this.#allocateIp(owner, taken);
    setClusterIp(spec, formatIpv4(ip));
  }

  #allocateIp(owner: string, taken: Map<number, string>): number {
    // A Service admitted twice before its write (a retried apply) keeps the address it was given.
    for (const [ip, r] of this.#ipReservations) if (r.owner === owner && !taken.has(ip)) return ip;
    const first = this.#cidr.network + 2;
    const count = this.#cidr.size - 3;
    for (let i = 0; i < count; i++) {
      const ip = first + ((this.#ipCursor + i) % count);
      if (taken.has(ip) || this.#ipReservations.has(ip)) continue;
      this.#ipCursor = (ip - first + 1) % count;
      this.#reserve(this.#ipReservations, ip, owner);
      return ip;
    }
    throw ClusterIpRangeFull(this.#cidr.text);
  }

  #admitNodePorts(spec: ServiceSpec, oldSpec: ServiceSpec | undefined, owner: string, taken: Map<number, string>): void {
    const range = `${this.#ports.min}-${this.#ports.max}`;
    const mine = new Set<number>();
    for (const p of spec.ports ?? []) {
      const kept = p.nodePort ?? previousNodePort(p, oldSpec);
      if (kept !== undefined) {
        if (kept < this.#ports.min || kept > this.#ports.max) throw NodePortOutOfRange(kept, range);
        const holder = taken.get(kept) ?? this.#reservedFor(this.#portReservations, kept, owner);
        // One Service may use one node port for TCP and UDP of the same port, as Kubernetes allows.
        if (holder && holder !== owner) throw NodePortAllocated(kept, holder);
        p.nodePort = kept;
        mine.add(kept);
        this.#reserve(this.#portReservations, kept, owner);
      }
    }
    for (const p of spec.ports ?? []) {
      if (p.nodePort !== undefined) continue;
      const span = this.#ports.max - this.#ports.min + 1;
      let found: number | undefined;
      for (let i = 0; i < span; i++) {
        const port = this.#ports.min + ((this.#portCursor + i) % span);
        if (taken.has(port) || mine.has(port) || this.#portReservations.has(port)) continue;
        found = port;
        this.#portCursor = (port - this.#ports.min + 1) % span;
        break;
      }
      if (found === undefined) throw NodePortRangeFull(range);
      p.nodePort = found;
      mine.add(found);
      this.#reserve(this.#portReservations, found, owner);
    }
  }

  #usable(ip: number): boolean {
    return cidrHas(this.#cidr, ip) && ip > this.#cidr.network + 1 && ip < this.#cidr.network + this.#cidr.size - 1;
  }

  #takenInStore(self: string): { ips: Map<number, string>; ports: Map<number, string> } {
    const ips = new Map<number, string>();
    const ports = new Map<number, string>();
    for (const obj of this.#store.list('services').items) {
      const owner = `${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`;
      // The Service being admitted may hold its own addresses already (an update); they are its own.
      if (owner === self) continue;
      const spec = (obj.spec ?? {}) as ServiceSpec;
      const ip = spec.clusterIP ? parseIpv4(spec.clusterIP) : undefined;
      if (ip !== undefined) ips.set(ip, owner);
      for (const p of spec.ports ?? []) if (p.nodePort) ports.set(p.nodePort, owner);
    }
    return { ips, ports };
  }

  #expireReservations(taken: { ips: Map<number, string>; ports: Map<number, string> }): void {
    const now = this.#clock.now();
    for (const [map, inStore] of [
      [this.#ipReservations, taken.ips],
      [this.#portReservations, taken.ports],
    ] as const) {
      for (const [key, r] of map) if (r.expiresAt <= now || inStore.has(key)) map.delete(key);
    }
  }

  #reservedFor(map: Map<number, Reservation>, key: number, owner: string): string | undefined {
    const r = map.get(key);
    return r && r.owner !== owner ? r.owner : undefined;
  }

  #reserve(map: Map<number, Reservation>, key: number, owner: string): void {
    map.set(key, { owner, expiresAt: this.#clock.now() + this.#ttlMs });
  }
}

function setClusterIp(spec: ServiceSpec, ip: string): void {
  spec.clusterIP = ip;
  spec.clusterIPs = [ip];
  spec.ipFamilies = ['IPv4'];
  spec.ipFamilyPolicy ??= 'SingleStack';
}

/** The node port the stored Service had for the same port (by name, else by port and protocol). */
function previousNodePort(p: ServicePort, oldSpec: ServiceSpec | undefined): number | undefined {
  if (oldSpec?.type !== 'NodePort' && oldSpec?.type !== 'LoadBalancer') return undefined;
  const same =
    oldSpec.ports?.find((o) => p.name && o.name === p.name) ??
    oldSpec.ports?.find((o) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
  return same?.nodePort;
}
