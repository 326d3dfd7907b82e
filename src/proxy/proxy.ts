/**
 * The proxy: owns listeners, cluster stacks, telemetry and the admin/stats/health servers.
 *
 *   const proxy = new Proxy({ bootstrap });
 *   await proxy.start(snapshot);               // throws on an invalid snapshot or a bind failure
 *   const r = await proxy.update(next);         // { accepted, version, error? }: ACK or NACK
 *   await proxy.drain(5000); await proxy.stop();
 *
 * `update` validates fully, builds new immutable route tables and cluster stacks, binds new
 * listeners, and only then swaps pointers, so in-flight requests finish on the config they started
 * with and open connections stay open. On any error nothing changes and the error is returned.
 */
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/silent-logger.js';
import { MeshboxError } from '../core/errors.js';
import { parseDuration } from '../meshconfig/duration.js';
import { ConfigInvalid } from '../meshconfig/errors.js';
import type { Bootstrap, Cluster, Listener, Snapshot } from '../meshconfig/types.js';
import { validateSnapshot } from '../meshconfig/validate-snapshot.js';
import { AdminServer } from './admin/admin-server.js';
import { ProxyNotStarted } from './errors.js';
import { Inflight, ListenerSlot, type ListenerContext, type Target } from './http/listener-context.js';
import { ListenerRuntime } from './listeners/listener-runtime.js';
import type { TcpTarget } from './listeners/tcp-forward.js';
import { loadOriginalDstReader } from './listeners/original-dst.js';
import { OriginalDstRouting } from './listeners/original-dst-routing.js';
import { BLACKHOLE_CLUSTER, PassthroughClusters, passthroughCluster, type PassthroughSeries } from './listeners/passthrough-clusters.js';
import { RouteTable } from './router/route-table.js';
import { AccessLog } from './telemetry/access-log.js';
import { IstioMetrics, type LabelSet, type RequestSeries } from './telemetry/istio-metrics.js';
import { ClusterStack, UpstreamRegistry } from './upstream/cluster-stack.js';

export interface ProxyOptions {
  bootstrap: Bootstrap;
  logger?: Logger;
  /** called by /quitquitquit after the proxy stopped (main.ts exits the process) */
  onQuit?: () => void;
}

export interface UpdateResult {
  accepted: boolean;
  /** the version now serving (the new one on ACK, the old one on NACK) */
  version: string;
  error?: MeshboxError;
}

interface Built {
  snapshot: Snapshot;
  stacks: Map<string, ClusterStack>;
  contexts: Map<string, { ctx: ListenerContext | undefined; tcp: TcpTarget | undefined; originalDst: OriginalDstRouting | undefined; listener: Listener }>;
}

export class Proxy {
  readonly bootstrap: Bootstrap;
  readonly metrics = new IstioMetrics();
  readonly inflight = new Inflight();
  readonly #log: Logger;
  readonly #registry = new UpstreamRegistry();
  /** clusters for destinations nobody configured (originalDst passthrough), kept across swaps */
  readonly #passthrough = new PassthroughClusters();
  readonly #accessLog: AccessLog;
  readonly #listeners = new Map<string, ListenerRuntime>();
  readonly #admin: AdminServer;
  readonly #onQuit: (() => void) | undefined;
  #current: Built | undefined;
  #started = false;
  #stopped = false;
  #updates = { accepted: 0, rejected: 0 };
  #lastError: string | undefined;
  #updateChain: Promise<unknown> = Promise.resolve();

  constructor(opts: ProxyOptions) {
    this.bootstrap = opts.bootstrap;
    this.#log = opts.logger ?? silentLogger;
    this.#accessLog = new AccessLog(opts.bootstrap.accessLog);
    this.#onQuit = opts.onQuit;
    this.#admin = new AdminServer(this);
  }

  get name(): string {
    return this.bootstrap.node.id;
  }

  get version(): string | undefined {
    return this.#current?.snapshot.version;
  }

  get snapshot(): Snapshot | undefined {
    return this.#current?.snapshot;
  }

  get ready(): boolean {
    return this.#started && !this.#stopped && !this.inflight.draining;
  }

  get clusters(): ClusterStack[] {
    return [...(this.#current?.stacks.values() ?? [])];
  }

  get updateStats(): { accepted: number; rejected: number; lastError: string | undefined } {
    return { ...this.#updates, lastError: this.#lastError };
  }

  /** Bound ports by listener name, plus admin/stats/health (tests use port 0). */
  addresses(): Record<string, number> {
    const out: Record<string, number> = { ...this.#admin.ports() };
    for (const [, l] of this.#listeners) out[l.name] = l.boundPort();
    return out;
  }

  async start(snapshot: Snapshot | unknown): Promise<void> {
    await this.#admin.start();
    const r = await this.update(snapshot);
    if (!r.accepted) {
      await this.#admin.stop();
      throw r.error;
    }
    this.#started = true;
    this.#log.info({ version: r.version, listeners: this.addresses() }, 'proxy started');
  }

  /** Serialised: a second update waits for the first, so swaps never interleave. */
  update(snapshot: Snapshot | unknown): Promise<UpdateResult> {
    const next = this.#updateChain.then(() => this.#apply(snapshot));
    this.#updateChain = next.catch(() => {});
    return next;
  }

  async #apply(input: Snapshot | unknown): Promise<UpdateResult> {
    const keep = (error: MeshboxError): UpdateResult => {
      this.#updates.rejected++;
      this.#lastError = error.message;
      this.#log.warn({ err: error.message, version: this.version }, 'config rejected; keeping the last good config');
      return { accepted: false, version: this.version ?? '', error };
    };
    if (this.#stopped) return keep(ProxyNotStarted());
    const v = validateSnapshot(input);
    if (!v.snapshot) return keep(ConfigInvalid(`snapshot ${describeVersion(input)}`, v.issues, { details: { issues: v.issues } }));
    const snapshot = v.snapshot;

    let built: Built;
    this.#registry.beginBuild();
    try {
      built = this.#build(snapshot);
    } catch (err) {
      return keep(err instanceof MeshboxError ? err : new MeshboxError('MBX_MESHCONFIG_INVALID', `cannot build config: ${(err as Error).message}`, { cause: err }));
    }

    // Bind new listeners before touching anything, so a bind failure changes nothing.
    const fresh: ListenerRuntime[] = [];
    const keyOf = (l: Listener): string => `${l.name}|${l.address}|${l.port}`;
    const wanted = new Map(snapshot.listeners.map((l) => [keyOf(l), l]));
    for (const [key, l] of wanted) {
      if (this.#listeners.has(key)) continue;
      const c = built.contexts.get(l.name);
      const rt = new ListenerRuntime({
        name: l.name,
        address: l.address,
        port: l.port,
        protocol: l.protocol,
        slot: new ListenerSlot(c?.ctx ?? emptyContext(this, l)),
        tcp: c?.tcp,
        originalDst: c?.originalDst,
        proxyName: this.name,
        limits: this.bootstrap.limits,
      });
      try {
        await rt.listen();
        fresh.push(rt);
      } catch (err) {
        for (const f of fresh) f.destroyAll();
        for (const s of built.stacks.values()) s.stop();
        return keep(err as MeshboxError);
      }
    }

    // === the swap: pointer assignments only ===
    for (const rt of fresh) this.#listeners.set(`${rt.name}|${rt.address}|${rt.port}`, rt);
    for (const [key, rt] of this.#listeners) {
      const l = wanted.get(key);
      if (!l) continue;
      const c = built.contexts.get(l.name);
      rt.slot.current = c?.ctx ?? emptyContext(this, l);
      rt.tcp = c?.tcp;
      rt.originalDst = c?.originalDst;
      rt.protocol = l.protocol;
    }
    const old = this.#current;
    this.#current = built;
    for (const [key, rt] of this.#listeners) {
      if (wanted.has(key)) continue;
      this.#listeners.delete(key);
      // Removed listener: stop accepting, let open connections finish their requests.
      void rt.stopAccepting().then(() => setTimeout(() => rt.destroyAll(), parseDuration(this.bootstrap.drainTimeout) ?? 5000).unref());
    }
    if (old) {
      for (const s of old.stacks.values()) {
        s.successor = built.stacks.get(s.name);
        s.stop();
      }
    }
    this.#registry.sweep();
    this.#updates.accepted++;
    this.#log.info({ version: snapshot.version }, 'config applied');
    return { accepted: true, version: snapshot.version };
  }

  #build(snapshot: Snapshot): Built {
    const stacks = new Map<string, ClusterStack>();
    for (const c of snapshot.clusters) stacks.set(c.name, new ClusterStack(c, this.#registry));
    const routeConfigs = new Map(snapshot.routes.map((r) => [r.name, r]));
    const contexts: Built['contexts'] = new Map();
    for (const l of snapshot.listeners) {
      let ctx: ListenerContext | undefined;
      let tcp: TcpTarget | undefined;
      const originalDst = l.originalDst === undefined ? undefined : this.#originalDstRouting(l, stacks);
      if (l.routeConfig !== undefined) {
        const targets = new Map<string, Target>();
        const resolve = (name: string): Target => {
          let t = targets.get(name);
          if (!t) {
            const stack = stacks.get(name) as ClusterStack;
            const httpSeries = this.metrics.requestSeries(this.#labels(l, stack.config, 'http'));
            const grpcSeries = this.metrics.requestSeries(this.#labels(l, stack.config, 'grpc'));
            const peers = new Map<string, RequestSeries>();
            t = {
              stack,
              httpSeries,
              grpcSeries,
              peerSeries: (peer: string, grpc: boolean): RequestSeries => {
                const key = grpc ? `g${peer}` : `h${peer}`;
                let s = peers.get(key);
                if (s === undefined) {
                  // Bounded: a client inventing peers must not grow the label space without limit.
                  if (peers.size >= MAX_PEERS || peer.length > 512) return grpc ? grpcSeries : httpSeries;
                  s = this.metrics.requestSeries(withPeer(this.#labels(l, stack.config, grpc ? 'grpc' : 'http'), peer));
                  peers.set(key, s);
                }
                return s;
              },
            };
            targets.set(name, t);
          }
          return t;
        };
        ctx = {
          proxyName: this.name,
          listenerName: l.name,
          version: snapshot.version,
          direction: l.direction,
          table: new RouteTable(routeConfigs.get(l.routeConfig)!, resolve),
          accessLog: this.#accessLog,
          inflight: this.inflight,
          unroutedHttp: this.metrics.requestSeries(this.#labels(l, undefined, 'http')),
          unroutedGrpc: this.metrics.requestSeries(this.#labels(l, undefined, 'grpc')),
          peerHeader: l.direction === 'outbound' ? this.#peerHeader() : undefined,
          originalDst,
        };
      }
      if (l.tcpCluster !== undefined) {
        const stack = stacks.get(l.tcpCluster) as ClusterStack;
        tcp = { proxyName: this.name, listenerName: l.name, stack, series: this.metrics.tcpSeries(this.#labels(l, stack.config, 'tcp')), accessLog: this.#accessLog };
      }
      contexts.set(l.name, { ctx, tcp, originalDst, listener: l });
    }
    return { snapshot, stacks, contexts };
  }

  /** Throws MBX_PROXY_ORIGINAL_DST_UNAVAILABLE (a NACK) when the addon is missing. */
  #originalDstRouting(l: Listener, stacks: Map<string, ClusterStack>): OriginalDstRouting {
    loadOriginalDstReader(l.name);
    const inbound = l.direction === 'inbound';
    const series: PassthroughSeries = {
      http: this.metrics.requestSeries(this.#labels(l, passthroughCluster(inbound, 'http'), 'http')),
      grpc: this.metrics.requestSeries(this.#labels(l, passthroughCluster(inbound, 'http2'), 'grpc')),
      tcp: this.metrics.tcpSeries(this.#labels(l, passthroughCluster(inbound, 'tcp'), 'tcp')),
      blackhole: this.metrics.tcpSeries(this.#labels(l, { name: BLACKHOLE_CLUSTER, protocol: 'tcp', endpoints: [] }, 'tcp')),
    };
    const targets = new Map<string, TcpTarget>();
    return new OriginalDstRouting({
      proxyName: this.name,
      listenerName: l.name,
      direction: l.direction,
      config: l.originalDst ?? {},
      tcpTarget: (cluster) => {
        let t = targets.get(cluster);
        if (t === undefined) {
          const stack = stacks.get(cluster) as ClusterStack;
          t = { proxyName: this.name, listenerName: l.name, stack, series: this.metrics.tcpSeries(this.#labels(l, stack.config, 'tcp')), accessLog: this.#accessLog };
          targets.set(cluster, t);
        }
        return t;
      },
      passthroughClusters: this.#passthrough,
      series,
      accessLog: this.#accessLog,
    });
  }

  #peerHeader(): string {
    const m = this.bootstrap.node.metadata;
    return [m.workload, m.namespace, m.app, m.version, m.principal].map((v) => (v ?? '').replace(/,/g, '')).join(',');
  }

  /** Istio's standard label set; values come from the node metadata and the cluster's destination. */
  #labels(l: Listener, c: Cluster | undefined, protocol: 'http' | 'grpc' | 'tcp'): LabelSet {
    const m = this.bootstrap.node.metadata;
    const d = c?.destination ?? {};
    const inbound = l.direction === 'inbound';
    const unknown = 'unknown';
    const labels: LabelSet = {
      reporter: inbound ? 'destination' : 'source',
      source_workload: inbound ? unknown : (m.workload ?? unknown),
      source_workload_namespace: inbound ? unknown : (m.namespace ?? unknown),
      source_principal: inbound ? unknown : (m.principal ?? unknown),
      source_app: inbound ? unknown : (m.app ?? unknown),
      source_version: inbound ? unknown : (m.version ?? unknown),
      source_cluster: m.cluster ?? unknown,
      destination_workload: inbound ? (m.workload ?? unknown) : (d.workload ?? unknown),
      destination_workload_namespace: inbound ? (m.namespace ?? unknown) : (d.workloadNamespace ?? unknown),
      destination_principal: inbound ? (m.principal ?? unknown) : (d.principal ?? unknown),
      destination_app: inbound ? (m.app ?? unknown) : (d.app ?? unknown),
      destination_version: inbound ? (m.version ?? unknown) : (d.version ?? unknown),
      destination_service: d.service ?? c?.name ?? unknown,
      destination_service_name: d.serviceName ?? c?.name ?? unknown,
      destination_service_namespace: d.serviceNamespace ?? unknown,
      destination_cluster: m.cluster ?? unknown,
      request_protocol: protocol,
      connection_security_policy: inbound ? 'none' : unknown,
    };
    return labels;
  }

  /** Stops accepting, lets in-flight requests finish up to `timeoutMs`. */
  async drain(timeoutMs = parseDuration(this.bootstrap.drainTimeout) ?? 5000): Promise<boolean> {
    this.inflight.draining = true;
    await Promise.all([...this.#listeners.values()].map((l) => l.stopAccepting()));
    const idleTick = setInterval(() => {
      for (const l of this.#listeners.values()) l.closeIdle();
    }, 100);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const finished = await Promise.race([this.inflight.idle().then(() => true), timedOut]);
    clearTimeout(timer);
    clearInterval(idleTick);
    return finished;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const l of this.#listeners.values()) l.destroyAll();
    this.#listeners.clear();
    for (const s of this.#current?.stacks.values() ?? []) s.stop();
    await this.#registry.destroyAll();
    await this.#passthrough.closeAll();
    await this.#admin.stop();
    await this.#accessLog.close();
  }

  /** /quitquitquit: drain briefly, stop, then tell the owner (main exits the process). */
  async quit(): Promise<void> {
    await this.drain();
    await this.stop();
    this.#onQuit?.();
  }
}

const MAX_PEERS = 256;

/** Fills source_* labels from a caller's x-meshbox-peer value. */
function withPeer(labels: LabelSet, peer: string): LabelSet {
  const [workload, namespace, app, version, principal] = peer.split(',');
  const pick = (v: string | undefined): string => (v === undefined || v === '' ? 'unknown' : v);
  return {
    ...labels,
    source_workload: pick(workload),
    source_workload_namespace: pick(namespace),
    source_app: pick(app),
    source_version: pick(version),
    source_principal: pick(principal),
  };
}

function describeVersion(input: unknown): string {
  const v = (input as { version?: unknown } | null)?.version;
  return typeof v === 'string' || typeof v === 'number' ? `version ${v}` : '(no version)';
}

function emptyContext(proxy: Proxy, l: Listener): ListenerContext {
  // A tcp-only listener never uses its HTTP context; this keeps the slot non-null.
  const series = proxy.metrics.requestSeries({ reporter: 'none', listener: l.name });
  return {
    proxyName: proxy.name,
    listenerName: l.name,
    version: proxy.version ?? '',
    direction: l.direction,
    table: new RouteTable({ name: '', virtualHosts: [] }, () => undefined as never),
    accessLog: new AccessLog('off'),
    inflight: proxy.inflight,
    unroutedHttp: series,
    unroutedGrpc: series,
    peerHeader: undefined,
    originalDst: undefined,
  };
}
