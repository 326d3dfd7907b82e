/**
 * What an HTTP listener serves with, compiled once per snapshot and swapped by pointer: requests
 * read `ListenerSlot.current` once when they start, so each request runs entirely on one config
 * (the atomic swap), while new requests pick up the new one.
 */
import type { ClusterStack } from '../upstream/cluster-stack.js';
import type { RequestSeries } from '../telemetry/istio-metrics.js';
import type { CompiledRoute, RouteTable } from '../router/route-table.js';
import type { Exchange } from './exchange.js';
import type { AccessLog } from '../telemetry/access-log.js';

/** A cluster as one listener routes to it: the stack plus its metric handles (resolved at build). */
export interface Target {
  readonly stack: ClusterStack;
  readonly httpSeries: RequestSeries;
  readonly grpcSeries: RequestSeries;
  /** inbound only: series per calling workload, from the caller's x-meshbox-peer header */
  peerSeries(peer: string, grpc: boolean): RequestSeries;
}

/**
 * Peer metadata exchange (Istio's x-envoy-peer-metadata, simplified): an outbound proxy tells the
 * next hop who is calling as "workload,namespace,app,version,principal"; the inbound proxy fills
 * its source_* labels from it and removes the header before the app sees it.
 */
export const PEER_HEADER = 'x-meshbox-peer';

/** Counters shared by all listeners of one proxy; drain waits for `active` to reach 0. */
export class Inflight {
  active = 0;
  draining = false;
  #waiters: (() => void)[] = [];

  enter(): void {
    this.active++;
  }

  leave(): void {
    this.active--;
    if (this.active === 0 && this.#waiters.length > 0) {
      const w = this.#waiters;
      this.#waiters = [];
      for (const f of w) f();
    }
  }

  idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((r) => this.#waiters.push(r));
  }
}

export interface ListenerContext {
  readonly proxyName: string;
  readonly listenerName: string;
  readonly version: string;
  readonly direction: 'inbound' | 'outbound';
  readonly table: RouteTable<Target>;
  readonly accessLog: AccessLog;
  readonly inflight: Inflight;
  /** series for requests that never reached a cluster (NR, direct responses, redirects) */
  readonly unroutedHttp: RequestSeries;
  readonly unroutedGrpc: RequestSeries;
  /** outbound: the value this proxy sends in x-meshbox-peer; inbound: undefined */
  readonly peerHeader: string | undefined;
  /** listeners with `originalDst`: serves requests whose Host names no virtual host */
  readonly originalDst?: UnroutedRequests | undefined;
}

/** What a request no virtual host took gets instead: a route (by original destination, passthrough) or the error to answer. */
export interface UnroutedRequests {
  route(ex: Exchange): CompiledRoute<Target> | Error;
}

export class ListenerSlot {
  current: ListenerContext;
  constructor(ctx: ListenerContext) {
    this.current = ctx;
  }
}
