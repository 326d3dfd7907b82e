/**
 * A cluster as the proxy runs it (envoy's cluster manager entry, linkerd's concrete stack):
 * endpoints with their state, the balancer, circuit-breaker counters, outlier detection and one
 * connection pool per endpoint. Built once per config; per request the proxy calls `pick`,
 * `acquire`/`release`, and `report`.
 *
 * Endpoint states and pools are shared through `UpstreamRegistry`, so a config swap that keeps an
 * endpoint keeps its connections, counters and ejection; pools no config uses any more are closed
 * after the swap, gracefully.
 */
import { createBalancer, compileHashKey, EndpointState, type HashKeyFn, type LoadBalancer } from '../balance/index.js';
import {
  resolveConnectionPool,
  resolveOutlierDetection,
  type ResolvedConnectionPool,
  type ResolvedOutlierDetection,
} from '../../meshconfig/cluster-policy.js';
import type { Cluster } from '../../meshconfig/types.js';
import { H1Pool } from './h1-pool.js';
import { H2SessionPool } from './h2-session-pool.js';
import { systemClock } from '../../core/clock.js';
import { CircuitBreaker, OutlierDetector } from '../resilience/index.js';

export interface Upstream {
  readonly state: EndpointState;
  /** HTTP/1.1 pool (protocol http) */
  readonly pool: H1Pool | undefined;
  /** HTTP/2 session (protocol http2/grpc) */
  readonly h2: H2SessionPool | undefined;
}

/** Proxy-wide owner of endpoint states and connection pools, reused across config swaps. */
export class UpstreamRegistry {
  readonly #upstreams = new Map<string, Upstream>();
  readonly #inUse = new Set<string>();

  /** Marks the start of a build; `sweep` closes what the build did not ask for. */
  beginBuild(): void {
    this.#inUse.clear();
  }

  get(cluster: Cluster, ep: Cluster['endpoints'][number], cp: ResolvedConnectionPool, idleMs: number): Upstream {
    const h2 = cluster.protocol === 'http2' || cluster.protocol === 'grpc';
    const poolKey = cluster.protocol === 'tcp' ? 'tcp' : `${h2 ? 'h2' : 'h1'}/${cp.maxConnections}/${cp.connectTimeoutMs}/${cp.maxRequestsPerConnection}/${idleMs}`;
    const key = `${cluster.name}|${ep.address}|${ep.port}|${ep.weight ?? 1}|${JSON.stringify(ep.labels ?? {})}|${poolKey}`;
    this.#inUse.add(key);
    let u = this.#upstreams.get(key);
    if (u) return u;
    const state = new EndpointState({ address: ep.address, port: ep.port, weight: ep.weight, labels: ep.labels });
    let pool: H1Pool | undefined;
    let h2pool: H2SessionPool | undefined;
    if (cluster.protocol === 'http') {
      pool = new H1Pool({
        host: ep.address,
        port: ep.port,
        maxConnections: cp.maxConnections >= 4_294_967_295 ? null : cp.maxConnections,
        connectTimeoutMs: cp.connectTimeoutMs,
        keepAliveMs: Math.min(idleMs, 600_000),
        maxRequestsPerConnection: cp.maxRequestsPerConnection > 0 ? cp.maxRequestsPerConnection : 0,
        stats: state,
      });
    } else if (h2) {
      h2pool = new H2SessionPool(ep.address, ep.port, cp.connectTimeoutMs);
    }
    u = { state, pool, h2: h2pool };
    this.#upstreams.set(key, u);
    return u;
  }

  /** Closes pools no current config uses; in-flight requests on them finish first. */
  sweep(): void {
    for (const [key, u] of this.#upstreams) {
      if (this.#inUse.has(key)) continue;
      this.#upstreams.delete(key);
      void u.pool?.close().catch(() => {});
      void u.h2?.close().catch(() => {});
    }
  }

  async closeAll(): Promise<void> {
    const all = [...this.#upstreams.values()];
    this.#upstreams.clear();
    await Promise.all(all.map(async (u) => {
      await u.pool?.close().catch(() => {});
      await u.h2?.close().catch(() => {});
    }));
  }

  async destroyAll(): Promise<void> {
    const all = [...this.#upstreams.values()];
    this.#upstreams.clear();
    await Promise.all(all.map(async (u) => {
      await u.pool?.destroy().catch(() => {});
      await u.h2?.close().catch(() => {});
    }));
  }
}

export class ClusterStack {
  readonly name: string;
  readonly config: Cluster;
  readonly upstreams: Upstream[];
  readonly #byState: Map<EndpointState, Upstream>;
  readonly balancer: LoadBalancer;
  readonly hashKey: HashKeyFn | undefined;
  readonly pool: ResolvedConnectionPool;
  readonly outlierSettings: ResolvedOutlierDetection | undefined;
  readonly outlier: OutlierDetector | undefined;
  readonly breaker: CircuitBreaker;
  /**
   * The stack of the same name in the config that replaced this one. A retry of a request that
   * started on this config picks from the newest stack (Envoy retries against the cluster's current
   * hosts), so it never goes to an endpoint whose pool the swap closed.
   */
  successor: ClusterStack | undefined = undefined;

  /** The newest stack of this cluster (this one while it is current). */
  latest(): ClusterStack {
    let s: ClusterStack = this;
    while (s.successor !== undefined) s = s.successor;
    return s;
  }

  constructor(cluster: Cluster, registry: UpstreamRegistry) {
    this.name = cluster.name;
    this.config = cluster;
    this.pool = resolveConnectionPool(cluster.connectionPool);
    this.outlierSettings = resolveOutlierDetection(cluster.outlierDetection);
    this.upstreams = cluster.endpoints.map((ep) => registry.get(cluster, ep, this.pool, this.pool.idleTimeoutMs));
    this.#byState = new Map(this.upstreams.map((u) => [u.state, u]));
    const states = this.upstreams.map((u) => u.state);
    this.balancer = createBalancer(cluster.lbPolicy, states, { panicThresholdPercent: this.outlierSettings?.minHealthPercent ?? 0 });
    this.hashKey = compileHashKey(cluster.lbPolicy);
    this.breaker = new CircuitBreaker(cluster.connectionPool);
    if (cluster.outlierDetection !== undefined) {
      this.outlier = new OutlierDetector(cluster.outlierDetection, states, { clock: systemClock });
      this.outlier.start();
    } else {
      this.outlier = undefined;
    }
  }

  upstreamOf(state: EndpointState): Upstream | undefined {
    return this.#byState.get(state);
  }

  /**
   * Admission for one request (Envoy's circuit breakers): http2MaxRequests caps requests in
   * flight; on HTTP/1.1 clusters a request beyond maxConnections busy connections waits for one,
   * and http1MaxPendingRequests caps those waiters. Returns the overflow reason, or '' when
   * admitted; `pending` tells the caller to release a pending slot once a connection is assigned.
   */
  admit(out: { pending: boolean }): string {
    const b = this.breaker;
    if (!b.tryAcquireRequest()) return `${b.activeRequests} requests active, limit http2MaxRequests=${b.limits.http2MaxRequests}`;
    out.pending = false;
    if (this.config.protocol === 'http' && b.activeRequests - b.pendingRequests > b.limits.maxConnections) {
      if (!b.tryAcquirePending()) {
        b.releaseRequest();
        return `${b.pendingRequests} requests waiting for a connection, limit http1MaxPendingRequests=${b.limits.http1MaxPendingRequests} (maxConnections=${b.limits.maxConnections} busy)`;
      }
      out.pending = true;
    }
    return '';
  }

  stop(): void {
    this.outlier?.stop();
  }

  toJSON(): Record<string, unknown> {
    const b = this.breaker;
    return {
      name: this.name,
      protocol: this.config.protocol,
      lb: this.balancer.kind,
      circuit_breakers: {
        max_connections: this.pool.maxConnections,
        max_pending_requests: this.pool.http1MaxPendingRequests,
        max_requests: this.pool.http2MaxRequests,
        max_retries: this.pool.maxRetries,
        rq_active: b.activeRequests,
        rq_pending: b.pendingRequests,
        rq_retry_active: b.activeRetries,
        ...b.stats,
      },
      outlier_detection: this.outlierSettings ? { ...this.outlierSettings, ...this.outlier?.stats } : null,
      endpoints: this.upstreams.map((u) => u.state.toJSON()),
    };
  }
}
