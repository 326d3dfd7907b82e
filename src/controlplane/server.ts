/**
 * The mesh control plane: watches the store through informers, recomputes proxies' configs after a
 * quiet period (istiod's debounce: 100 ms after the last change, at most 1 s after the first), and
 * streams each connected proxy its delta over the push server.
 *
 *   const cp = new ControlPlane({ informers, secret, listen: { path: `${stateDir}/xds.sock` }, log });
 *   await cp.start();
 *   cp.tokenForPod(pod)            → the MESHBOX_PROXY_TOKEN to put in the pod's sidecar
 *   cp.registerGateway('shop', 'ingress', { istio: 'ingressgateway' }) → its token
 *   cp.status()                    → rows for `meshbox proxy-status`
 *   cp.configDump('shop/productpage-x') → what that proxy should run, with sync state
 */
import type { AddressInfo } from 'node:net';
import type { KubeObject } from '../api/types.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Snapshot } from '../meshconfig/types.js';
import type { HelloMessage, ResourceType } from '../meshconfig/xds/protocol.js';
import type { InformerFactory } from '../reconcile/informer.js';
import { BadNodeId, ProxyUnauthorized, UnknownProxy } from './errors.js';
import { gatewaySubject, podSubject, proxyToken, verifyProxyToken } from './push/credentials.js';
import { PushServer, type ProxyIdentity, type ProxyStreamStatus } from './push/push-server.js';
import { makeParts, type ResourcePart } from './push/resource-parts.js';
import { MeshIndex } from './translate/mesh-index.js';
import type { MeshState, Pod } from './translate/mesh-types.js';
import { SnapshotBuilder, type OutboundPart } from './translate/snapshot-builder.js';
import type { TranslationWarning } from './translate/build-routes.js';

export const WATCHED_RESOURCES = {
  services: 'services',
  endpoints: 'endpoints',
  pods: 'pods',
  virtualServices: 'virtualservices.networking.istio.io',
  destinationRules: 'destinationrules.networking.istio.io',
  gateways: 'gateways.networking.istio.io',
  serviceEntries: 'serviceentries.networking.istio.io',
  sidecars: 'sidecars.networking.istio.io',
} as const satisfies Record<keyof MeshState, string>;

export interface ControlPlaneOptions {
  informers: InformerFactory;
  /** the daemon's secret for per-proxy tokens (persist it so proxies survive a daemon restart) */
  secret: Buffer;
  listen: { path: string } | { host: string; port: number };
  log?: Logger;
  clusterDomain?: string;
  rootNamespace?: string;
  /** quiet period after the last change (default 100 ms) */
  debounceMs?: number;
  /** longest a change waits while changes keep coming (default 1000 ms) */
  maxDebounceMs?: number;
  /** a proxy finished applying (or rejecting) a version; for benches and tests */
  onBatchDone?: (proxyId: string, version: string, error: string | undefined, proxy: { kind: 'sidecar' | 'gateway'; workload: string }) => void;
  now?: () => number;
}

import type { ConfigDump, ProxyStatusRow } from '../meshconfig/xds/status.js';
export type { ConfigDump, ProxyStatusRow };

interface Parts {
  clusters: ResourcePart;
  endpoints: ResourcePart;
  listeners: ResourcePart;
  routes: ResourcePart;
}

export class ControlPlane {
  readonly #opts: ControlPlaneOptions;
  readonly #log: Logger;
  readonly #push: PushServer;
  readonly #gateways = new Map<string, Record<string, string>>();
  #generation = 0;
  #builder: SnapshotBuilder | undefined;
  #timer: NodeJS.Timeout | undefined;
  #firstChangeAt: number | undefined;
  #unsubscribe: (() => void)[] = [];
  // Parts of the previous generation, so unchanged resources and parts keep their identity.
  #outboundParts = new Map<string, Parts>();
  #ownParts = new Map<string, Parts>();
  #ownInputs = new Map<string, { clusters: unknown; virtualHosts: unknown }>();
  #outboundByObject = new WeakMap<OutboundPart, Parts>();
  /** each connected proxy's desired endpoints parts, to tell when a pod IP has left every proxy */
  #endpointParts = new Map<string, readonly ResourcePart[]>();
  /** when the last recompute started (ms), for convergence measurements */
  lastChangeAt = 0;
  /** CPU time (user+system, ms) and wall time of the last recompute, for metrics and benches */
  lastRecompute = { cpuMs: 0, wallMs: 0, proxies: 0 };

  constructor(opts: ControlPlaneOptions) {
    this.#opts = opts;
    this.#log = (opts.log ?? silentLogger).child({ component: 'controlplane' });
    this.#push = new PushServer({
      authorize: (hello) => this.#authorize(hello),
      onConnect: (id) => this.#pushOne(id),
      onBatchDone: (id, version, error) => opts.onBatchDone?.(id.proxyId, version, error, { kind: id.kind, workload: id.workload }),
      log: this.#log,
      ...(opts.now ? { now: opts.now } : {}),
    });
  }

  get generation(): number {
    return this.#generation;
  }

  async start(): Promise<string | AddressInfo> {
    const inf = this.#opts.informers;
    for (const resource of Object.values(WATCHED_RESOURCES)) {
      const informer = inf.informerFor(resource);
      const schedule = (): void => this.#schedule();
      this.#unsubscribe.push(informer.addEventHandler({ onAdd: schedule, onUpdate: schedule, onDelete: schedule }));
      informer.start();
    }
    await Promise.all(Object.values(WATCHED_RESOURCES).map((r) => inf.informerFor(r).waitForSync()));
    this.recompute();
    return this.#push.listen(this.#opts.listen);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
    await this.#push.close();
  }

  tokenForPod(pod: Pod | KubeObject): string {
    return proxyToken(this.#opts.secret, podSubject(pod.metadata.uid ?? ''));
  }

  /** A gateway proxy on the host: its labels select Gateways. Returns its token. */
  registerGateway(namespace: string, name: string, labels: Record<string, string>): string {
    this.#gateways.set(`${namespace}/${name}`, labels);
    this.#schedule();
    return proxyToken(this.#opts.secret, gatewaySubject(namespace, name));
  }

  /** The Gateway is gone: its proxy's token is no longer accepted (a connected one keeps its last config until it stops). */
  unregisterGateway(namespace: string, name: string): void {
    if (this.#gateways.delete(`${namespace}/${name}`)) this.#schedule();
  }

  gatewayNodeId(namespace: string, name: string): string {
    return `router~127.0.0.1~${name}.${namespace}~${namespace}.svc.${this.#opts.clusterDomain ?? 'cluster.local'}`;
  }

  status(): ProxyStatusRow[] {
    return this.#push
      .status()
      .map((r) => ({ ...r, synced: r.desiredVersion !== '' && Object.values(r.types).every((t) => t.state === 'SYNCED') }))
      .sort((a, b) => (a.workload < b.workload ? -1 : a.workload > b.workload ? 1 : 0));
  }

  /**
   * Resolves true once every connected proxy except the pod's own runs a config without an endpoint
   * at `podIP` (its desired endpoints lack it and it ACKed them), false when `timeoutMs` passes first.
   * The kubelet calls this before it stops a terminating pod's apps: until the proxies ACK the
   * removal they may still pick the pod, and a request sent to a stopped app fails (Istio leaves this
   * to a preStop sleep; meshbox knows when the proxies have it). Disconnected proxies are not waited for.
   */
  async waitUntilEndpointGone(podIP: string, timeoutMs: number): Promise<boolean> {
    const needle = `"address":${JSON.stringify(podIP)}`;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (!this.#anyProxyHasEndpoint(podIP, needle)) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await new Promise((r) => setTimeout(r, Math.min(25, left)));
    }
  }

  #anyProxyHasEndpoint(podIP: string, needle: string): boolean {
    for (const row of this.#push.status()) {
      if (row.kind === 'sidecar' && row.proxyId.split('~')[1] === podIP) continue; // the pod's own sidecar
      // not SYNCED: what the proxy runs differs from what it should run; assume it still has the pod
      if (row.types.endpoints?.state !== 'SYNCED') return true;
      for (const part of this.#endpointParts.get(row.proxyId) ?? []) {
        for (const r of part.resources.values()) if (r.bodyJson.includes(needle)) return true;
      }
    }
    return false;
  }

  /** `proxy` is a proxy id or the "namespace/name" of its pod or gateway. */
  configDump(proxy: string): ConfigDump {
    const row = this.#push.status().find((r) => r.proxyId === proxy || r.workload === proxy);
    if (!row) throw UnknownProxy(proxy);
    const built = this.#build({ proxyId: row.proxyId, kind: row.kind, workload: row.workload });
    if (!built) throw UnknownProxy(proxy);
    return {
      proxyId: row.proxyId,
      workload: row.workload,
      desiredVersion: row.desiredVersion,
      acked: Object.fromEntries(Object.entries(row.types).map(([t, s]) => [t, s.acked])) as Record<ResourceType, string>,
      snapshot: { ...built.snapshot, version: row.desiredVersion },
      warnings: built.warnings,
    };
  }

  /** Recomputes every connected proxy now (the debounce calls this). */
  recompute(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#firstChangeAt = undefined;
    this.lastChangeAt = (this.#opts.now ?? Date.now)();
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    this.#generation++;
    const inf = this.#opts.informers;
    const state = Object.fromEntries(Object.entries(WATCHED_RESOURCES).map(([k, r]) => [k, inf.informerFor(r).list()])) as unknown as MeshState;
    this.#builder = new SnapshotBuilder(
      new MeshIndex(state, {
        ...(this.#opts.clusterDomain ? { clusterDomain: this.#opts.clusterDomain } : {}),
        ...(this.#opts.rootNamespace ? { rootNamespace: this.#opts.rootNamespace } : {}),
      }),
    );
    this.#outboundByObject = new WeakMap();
    const live = new Set<string>();
    const liveOutbound = new Set<string>();
    for (const id of this.#push.connected()) {
      live.add(id.proxyId);
      const key = this.#pushOne(id);
      if (key) liveOutbound.add(key);
    }
    for (const k of this.#ownParts.keys()) if (!live.has(k)) this.#ownParts.delete(k);
    for (const k of this.#ownInputs.keys()) if (!live.has(k)) this.#ownInputs.delete(k);
    for (const k of this.#endpointParts.keys()) if (!live.has(k)) this.#endpointParts.delete(k);
    for (const k of this.#outboundParts.keys()) if (!liveOutbound.has(k)) this.#outboundParts.delete(k);
    const cpu = process.cpuUsage(cpu0);
    this.lastRecompute = { cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - wall0, proxies: live.size };
  }

  #schedule(): void {
    const now = (this.#opts.now ?? Date.now)();
    this.#firstChangeAt ??= now;
    if (this.#timer) clearTimeout(this.#timer);
    const wait = Math.min(this.#opts.debounceMs ?? 100, Math.max(0, this.#firstChangeAt + (this.#opts.maxDebounceMs ?? 1000) - now));
    this.#timer = setTimeout(() => this.recompute(), wait);
    this.#timer.unref?.();
  }

  #build(id: ProxyIdentity): (ReturnType<SnapshotBuilder['sidecar']> & { pieces?: ReturnType<SnapshotBuilder['sidecarPieces']> }) | undefined {
    const b = this.#builder;
    if (!b) return undefined;
    const [ns, name] = id.workload.split('/') as [string, string];
    if (id.kind === 'gateway') {
      const labels = this.#gateways.get(id.workload);
      return labels ? b.gateway({ namespace: ns, name, labels }) : undefined;
    }
    const pod = b.index.pod(ns, name);
    if (!pod) return undefined;
    return b.sidecar(pod);
  }

  /** Computes and hands one proxy its parts; returns the outbound part key it uses. */
  #pushOne(id: ProxyIdentity): string | undefined {
    const b = this.#builder;
    if (!b) return undefined;
    const version = String(this.#generation);
    const [ns, name] = id.workload.split('/') as [string, string];
    if (id.kind === 'gateway') {
      const labels = this.#gateways.get(id.workload);
      if (!labels) return undefined;
      const own = makeParts('own', b.gateway({ namespace: ns, name, labels }).snapshot, this.#ownParts.get(id.proxyId));
      this.#ownParts.set(id.proxyId, own);
      this.#endpointParts.set(id.proxyId, [own.endpoints]);
      this.#push.update(id.proxyId, version, { clusters: [own.clusters], endpoints: [own.endpoints], listeners: [own.listeners], routes: [own.routes] });
      return undefined;
    }
    const pod = b.index.pod(ns, name);
    if (!pod) return undefined; // pod gone: the proxy keeps its last config until it stops
    const pieces = b.sidecarPieces(pod);
    const outKey = `out:${pieces.outbound.key}`;
    let out = this.#outboundByObject.get(pieces.outbound);
    if (!out) {
      out = makeParts(outKey, pieces.outboundConfig, this.#outboundParts.get(outKey));
      this.#outboundParts.set(outKey, out);
      this.#outboundByObject.set(pieces.outbound, out);
    }
    // The inbound objects are memoised by identity: the same ones mean the same parts, no re-encoding.
    const prevOwn = this.#ownInputs.get(id.proxyId);
    let own = this.#ownParts.get(id.proxyId);
    if (!own || !prevOwn || prevOwn.clusters !== pieces.inbound.clusters || prevOwn.virtualHosts !== pieces.inbound.virtualHosts) {
      own = makeParts('own', pieces.own, own);
      this.#ownParts.set(id.proxyId, own);
      this.#ownInputs.set(id.proxyId, pieces.inbound);
    }
    this.#endpointParts.set(id.proxyId, [out.endpoints, own.endpoints]);
    this.#push.update(id.proxyId, version, {
      clusters: [out.clusters, own.clusters],
      endpoints: [out.endpoints, own.endpoints],
      listeners: [out.listeners, own.listeners],
      routes: [out.routes, own.routes],
    });
    return outKey;
  }

  #authorize(hello: HelloMessage): ProxyIdentity {
    const nodeId = String(hello.node?.id ?? '');
    const parts = nodeId.split('~');
    if (parts.length !== 4 || (parts[0] !== 'sidecar' && parts[0] !== 'router')) throw BadNodeId(nodeId);
    const ns = parts[3]!.split('.svc')[0] ?? '';
    const nameDotNs = parts[2]!;
    if (!nameDotNs.endsWith(`.${ns}`)) throw BadNodeId(nodeId);
    const name = nameDotNs.slice(0, -ns.length - 1);
    const workload = `${ns}/${name}`;
    if (parts[0] === 'router') {
      if (!this.#gateways.has(workload)) throw ProxyUnauthorized(nodeId, `no gateway ${workload} is registered with the daemon`);
      if (!verifyProxyToken(this.#opts.secret, gatewaySubject(ns, name), String(hello.token ?? ''))) throw ProxyUnauthorized(nodeId, 'the token does not match this gateway');
      return { proxyId: nodeId, kind: 'gateway', workload };
    }
    const pod = this.#opts.informers.informerFor(WATCHED_RESOURCES.pods).get(ns, name);
    if (!pod) throw ProxyUnauthorized(nodeId, `pod ${workload} does not exist`);
    if (!verifyProxyToken(this.#opts.secret, podSubject(pod.metadata.uid ?? ''), String(hello.token ?? ''))) {
      throw ProxyUnauthorized(nodeId, `the token does not belong to pod ${workload}`);
    }
    return { proxyId: nodeId, kind: 'sidecar', workload };
  }
}
