/**
 * A listener's `originalDst` config compiled for one snapshot: TCP entries by original
 * destination, the HTTP fallback when no virtual host matches the Host, passthrough and the
 * black hole. Built once per snapshot by the proxy and swapped with the listener's context.
 *
 * Costs: nothing for requests a Host routes; otherwise one getsockopt per connection (cached on
 * the socket, see original-dst.ts) and map lookups.
 */
import type net from 'node:net';
import type { MeshboxError } from '../../core/errors.js';
import type { OriginalDst } from '../../meshconfig/types.js';
import { NoRoute } from '../errors.js';
import type { Exchange } from '../http/exchange.js';
import type { Target } from '../http/listener-context.js';
import type { CompiledRoute, MatchInput } from '../router/route-table.js';
import type { AccessLog } from '../telemetry/access-log.js';
import { NoOriginalDstRoute } from './errors.js';
import { originalDestination, type OriginalDestination } from './original-dst.js';
import { BLACKHOLE_CLUSTER, type PassthroughClusters, type PassthroughSeries } from './passthrough-clusters.js';
import type { TcpTarget } from './tcp-forward.js';

export interface OriginalDstRoutingOptions {
  proxyName: string;
  listenerName: string;
  direction: 'inbound' | 'outbound';
  config: OriginalDst;
  /** the TCP target of each cluster a `tcp` entry names */
  tcpTarget: (cluster: string) => TcpTarget;
  passthroughClusters: PassthroughClusters;
  series: PassthroughSeries;
  accessLog: AccessLog;
}

export class OriginalDstRouting {
  readonly listenerName: string;
  readonly passthrough: boolean;
  readonly inbound: boolean;
  /** true when some `tcp` entry exists: only then is the destination read at accept time */
  readonly hasTcpEntries: boolean;
  readonly #proxyName: string;
  readonly #exact = new Map<string, TcpTarget>();
  readonly #byPort = new Map<number, TcpTarget>();
  readonly #clusters: PassthroughClusters;
  readonly #series: PassthroughSeries;
  readonly #accessLog: AccessLog;

  constructor(opts: OriginalDstRoutingOptions) {
    this.listenerName = opts.listenerName;
    this.passthrough = opts.config.passthrough === true;
    this.inbound = opts.direction === 'inbound';
    this.#proxyName = opts.proxyName;
    this.#clusters = opts.passthroughClusters;
    this.#series = opts.series;
    this.#accessLog = opts.accessLog;
    for (const [key, cluster] of Object.entries(opts.config.tcp ?? {})) {
      const colon = key.lastIndexOf(':');
      const host = key.slice(0, colon);
      const t = opts.tcpTarget(cluster);
      if (host === '*') this.#byPort.set(Number(key.slice(colon + 1)), t);
      else this.#exact.set(key.toLowerCase(), t);
    }
    this.hasTcpEntries = this.#exact.size > 0 || this.#byPort.size > 0;
  }

  /** The `tcp` entry for this destination: exact "ip:port" first, then "*:port". */
  tcpFor(dst: OriginalDestination): TcpTarget | undefined {
    return this.#exact.get(dst.key) ?? this.#byPort.get(dst.port);
  }

  /** A `tcp` entry for the socket's original destination, if the config has any. */
  tcpForSocket(socket: net.Socket): TcpTarget | undefined {
    return this.hasTcpEntries ? this.tcpFor(originalDestination(socket)) : undefined;
  }

  /**
   * Plain TCP that neither a `tcp` entry nor the listener's tcpCluster serves: the passthrough
   * target, or undefined (black hole). A connection that was not redirected never passes
   * through: its destination is this listener, and forwarding there would loop.
   */
  passthroughTcp(socket: net.Socket): TcpTarget | undefined {
    if (!this.passthrough) return undefined;
    const dst = originalDestination(socket);
    if (!dst.redirected) return undefined;
    const stack = this.#clusters.tcpStack(this.inbound, dst.address, dst.port, this.#series);
    return { proxyName: this.#proxyName, listenerName: this.listenerName, stack, series: this.#series.tcp, accessLog: this.#accessLog };
  }

  /** Closes a connection nothing serves (Envoy's BlackHoleCluster), with an access-log line and a count. */
  blackhole(socket: net.Socket): void {
    const dst = originalDestination(socket);
    const s = this.#series.blackhole;
    s.opened++;
    s.closed++;
    if (this.#accessLog.enabled) {
      this.#accessLog.write({
        start_time: new Date().toISOString(),
        protocol: 'TCP',
        response_flags: 'NR',
        response_code_details: `no tcp entry or passthrough for original destination ${dst.key} on listener ${this.listenerName}${dst.redirected ? '' : ' (connection was not redirected)'}`,
        bytes_received: socket.bytesRead,
        bytes_sent: 0,
        duration_ms: 0,
        upstream_cluster: BLACKHOLE_CLUSTER,
        downstream_remote_address: socket.remoteAddress,
        downstream_local_address: dst.key,
        listener: this.listenerName,
      });
    }
    socket.destroy();
  }

  /**
   * The exchange's hook for a request whose Host names no virtual host... or no route: a Host
   * that matched a virtual host keeps its 404 NR. Otherwise the virtual host serving the
   * original destination's "ip:port", then passthrough, then 502 NR.
   */
  route(ex: Exchange): CompiledRoute<Target> | MeshboxError {
    const table = ex.ctx.table;
    if (table.hasVirtualHost(ex.authority)) return NoRoute(ex.failure(), ex.authority, ex.path);
    const dst = originalDestination(ex.req.socket as net.Socket);
    const byDst = table.matchAuthority(dst.key, ex as unknown as MatchInput, ex);
    if (byDst !== undefined) return byDst;
    if (table.hasVirtualHost(dst.key)) return NoRoute(ex.failure(), `${ex.authority} (original destination ${dst.key})`, ex.path);
    if (this.passthrough && dst.redirected) return this.#clusters.httpRoute(this.inbound, dst.address, dst.port, ex.isH2Downstream, this.#series);
    const why = !this.passthrough ? 'passthrough is off' : 'the connection was not redirected, so its destination is this listener';
    return NoOriginalDstRoute(ex.failure(), this.listenerName, ex.authority, dst.key, why);
  }
}
