/**
 * Clusters for destinations nobody configured (Istio's PassthroughCluster and
 * InboundPassthroughCluster), made on first use per destination and kept across config swaps,
 * because they depend on nothing in the config. Bounded: past `max` destinations the least
 * recently used one is closed gracefully (requests in flight on it finish).
 */
import type { Cluster } from '../../meshconfig/types.js';
import type { Target } from '../http/listener-context.js';
import { CompiledRoute } from '../router/route-table.js';
import type { RequestSeries, TcpSeries } from '../telemetry/istio-metrics.js';
import { ClusterStack, UpstreamRegistry } from '../upstream/cluster-stack.js';

export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
export const INBOUND_PASSTHROUGH_CLUSTER = 'InboundPassthroughCluster';
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';

/** The metric handles of one listener direction's passthrough traffic (resolved by the proxy). */
export interface PassthroughSeries {
  readonly http: RequestSeries;
  readonly grpc: RequestSeries;
  readonly tcp: TcpSeries;
  /** TCP connections closed because nothing serves their destination */
  readonly blackhole: TcpSeries;
}

interface Entry {
  readonly registry: UpstreamRegistry;
  readonly stack: ClusterStack;
  readonly route: CompiledRoute<Target> | undefined;
}

const DEFAULT_MAX = 256;

/** The cluster config of a passthrough destination, also what the proxy labels its metrics with. */
export function passthroughCluster(inbound: boolean, protocol: Cluster['protocol'], address = '0.0.0.0', port = 1): Cluster {
  return { name: inbound ? INBOUND_PASSTHROUGH_CLUSTER : PASSTHROUGH_CLUSTER, protocol, endpoints: [{ address, port }] };
}

export class PassthroughClusters {
  readonly #max: number;
  /** insertion order is recency order: a hit moves the entry to the end */
  readonly #entries = new Map<string, Entry>();

  constructor(max = DEFAULT_MAX) {
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The route sending an HTTP request to `address:port` (inbound: to the app on loopback at
   * `port`). HTTP/2 downstreams get an HTTP/2 upstream so gRPC keeps working.
   */
  httpRoute(inbound: boolean, address: string, port: number, h2: boolean, series: PassthroughSeries): CompiledRoute<Target> {
    const protocol = h2 ? 'http2' : 'http';
    const entry = this.#get(inbound, address, port, protocol, series);
    return entry.route as CompiledRoute<Target>;
  }

  /** The stack piping a TCP connection to `address:port` (inbound: loopback at `port`). */
  tcpStack(inbound: boolean, address: string, port: number, series: PassthroughSeries): ClusterStack {
    return this.#get(inbound, address, port, 'tcp', series).stack;
  }

  #get(inbound: boolean, address: string, port: number, protocol: Cluster['protocol'], series: PassthroughSeries): Entry {
    const target = inbound ? (address.includes(':') ? '::1' : '127.0.0.1') : address;
    const key = `${inbound ? 'i' : 'o'}|${protocol}|${target}|${port}`;
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const registry = new UpstreamRegistry();
    const cluster = passthroughCluster(inbound, protocol, target, port);
    const stack = new ClusterStack(cluster, registry);
    let route: CompiledRoute<Target> | undefined;
    if (protocol !== 'tcp') {
      const t: Target = { stack, httpSeries: series.http, grpcSeries: series.grpc, peerSeries: (_peer, grpc) => (grpc ? series.grpc : series.http) };
      route = new CompiledRoute<Target>(cluster.name, { name: 'passthrough', route: [{ cluster: cluster.name, weight: 1 }] }, () => t);
    }
    const entry: Entry = { registry, stack, route };
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#max) {
      const [oldKey, old] = this.#entries.entries().next().value as [string, Entry];
      this.#entries.delete(oldKey);
      old.stack.stop();
      void old.registry.closeAll();
    }
    return entry;
  }

  async closeAll(): Promise<void> {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(all.map((e) => {
      e.stack.stop();
      return e.registry.destroyAll();
    }));
  }
}
