/**
 * meshbox's kube-proxy: keeps the kernel's service rules (netfilter/service-chains.ts) equal to the
 * Services and Endpoints in the store.
 *
 * One sync loop, level-triggered: any Service or Endpoints event marks the state dirty and schedules
 * a sync after a short coalescing delay (a burst of changes costs one restore); a sync renders every
 * Service from the informer caches and replaces all of meshbox's chains in one iptables-restore per
 * table. A sync never runs twice at once; changes during a sync trigger one more. A periodic resync
 * (and a retry with back-off after a failure) repairs anything changed behind meshbox's back.
 *
 * Endpoints (v1) feed it, so only ready endpoints receive new connections; terminating pods have left
 * the Endpoints already. Established connections to a removed endpoint keep their conntrack entry
 * (TCP finishes naturally, as with kube-proxy).
 */
import type { KubeObject } from '../../api/types.js';
import { describeError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { Store } from '../../store/types.js';
import { InformerFactory, type Informer } from '../../reconcile/index.js';
import { ServiceChains } from '../../netfilter/service-chains.js';
import type { L4Protocol, ServicePortRule } from '../../netfilter/service-rules.js';
import type { Endpoints, Service } from './service-types.js';

export interface ServiceProxyOptions {
  /** informers to share with the controllers; or a store to make its own from */
  informers?: InformerFactory;
  store?: Store;
  bridge: string;
  /** defaults to chainPrefixFor(bridge) */
  prefix?: string;
  podCidr: string;
  serviceCidr: string;
  log?: Logger;
  /** delay between the first change and the sync that applies it (default 20 ms) */
  coalesceMs?: number;
  /** full resync period (default 30 s) */
  resyncMs?: number;
  /** called after every successful sync (benchmarks, tests) */
  onSync?: (info: SyncInfo) => void;
}

export interface SyncInfo {
  ruleCount: number;
  services: number;
  restoreMs: number;
  totalMs: number;
}

export interface ServiceProxyStats {
  syncs: number;
  failures: number;
  lastSync?: SyncInfo;
}

const DEFAULT_AFFINITY_SECONDS = 10800;

export class ServiceProxy {
  readonly #chains: ServiceChains;
  readonly #log: Logger;
  readonly #informers: InformerFactory;
  readonly #ownInformers: boolean;
  readonly #services: Informer<Service>;
  readonly #endpoints: Informer<Endpoints>;
  readonly #coalesceMs: number;
  readonly #resyncMs: number;
  readonly #onSync: ((info: SyncInfo) => void) | undefined;
  #removers: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #dirty = false;
  #started = false;
  #failures = 0;
  #stats: ServiceProxyStats = { syncs: 0, failures: 0 };
  /** endpoint IPs in the rules of the last successful sync */
  #appliedIps = new Set<string>();
  readonly #ipWaiters = new Set<{ ip: string; resolve: (v: boolean) => void }>();

  constructor(opts: ServiceProxyOptions) {
    if (!opts.informers && !opts.store) throw new TypeError('ServiceProxy needs informers or a store');
    this.#chains = new ServiceChains({ bridge: opts.bridge, podCidr: opts.podCidr, serviceCidr: opts.serviceCidr, ...(opts.prefix ? { prefix: opts.prefix } : {}) });
    this.#log = (opts.log ?? silentLogger).child({ component: 'service-proxy', prefix: this.#chains.prefix });
    this.#ownInformers = !opts.informers;
    this.#informers = opts.informers ?? new InformerFactory(opts.store!);
    this.#services = this.#informers.informerFor<Service>('services');
    this.#endpoints = this.#informers.informerFor<Endpoints>('endpoints');
    this.#coalesceMs = opts.coalesceMs ?? 20;
    this.#resyncMs = opts.resyncMs ?? 30_000;
    this.#onSync = opts.onSync;
  }

  get prefix(): string {
    return this.#chains.prefix;
  }

  /** Sets up sysctls and jumps, syncs once (so the data path is current when this resolves), then follows changes. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#chains.setup();
    const handler = { onAdd: () => this.#schedule(), onUpdate: (a: KubeObject, b: KubeObject) => this.#onUpdate(a, b), onDelete: () => this.#schedule() };
    this.#removers.push(this.#services.addEventHandler(handler), this.#endpoints.addEventHandler(handler));
    this.#services.start();
    this.#endpoints.start();
    await Promise.all([this.#services.waitForSync(), this.#endpoints.waitForSync()]);
    this.#dirty = false;
    await this.syncNow();
    this.#scheduleResync();
  }

  /** Stops following changes. The rules stay (a restarted daemon takes them over, as kube-proxy's do). */
  async stop(): Promise<void> {
    this.#started = false;
    for (const remove of this.#removers) remove();
    this.#removers = [];
    clearTimeout(this.#timer);
    clearTimeout(this.#resyncTimer);
    this.#timer = this.#resyncTimer = undefined;
    await this.#running?.catch(() => undefined);
    if (this.#ownInformers) this.#informers.stop();
  }

  /** Stops, then removes every rule and chain this proxy's prefix names. */
  async teardown(): Promise<void> {
    await this.stop();
    await this.#chains.teardown();
  }

  /** Syncs now (waits for a running sync and runs once more after it). No-op once stopped. */
  async syncNow(): Promise<void> {
    this.#dirty = true;
    // Checking #started each round keeps a queued sync from re-creating chains after teardown().
    while (this.#dirty && this.#started) {
      if (this.#running) {
        await this.#running.catch(() => undefined);
        continue;
      }
      this.#dirty = false;
      // This run covers whatever a pending coalescing timer was waiting for.
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#running = this.#sync();
      try {
        await this.#running;
      } finally {
        this.#running = undefined;
      }
    }
  }

  stats(): ServiceProxyStats {
    return { ...this.#stats };
  }

  /** The rules the caches ask for now (for tests and `describe`). */
  desiredRules(): ServicePortRule[] {
    return servicePortRules(this.#services.list(), (ns, name) => this.#endpoints.get(ns, name));
  }

  /**
   * Resolves true once the rules in the kernel send no new connection to `ip` (at once if they do not
   * now), false after `timeoutMs`. The kubelet awaits this for a terminating pod before it sends
   * SIGTERM, so a rolling update drops nothing (issue 3 item 9).
   */
  waitUntilNotServing(ip: string, timeoutMs = 2000): Promise<boolean> {
    if (!this.#appliedIps.has(ip)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        ip,
        resolve: (v: boolean) => {
          clearTimeout(timer);
          this.#ipWaiters.delete(waiter);
          resolve(v);
        },
      };
      const timer = setTimeout(() => waiter.resolve(false), timeoutMs);
      this.#ipWaiters.add(waiter);
    });
  }

  #onUpdate(a: KubeObject, b: KubeObject): void {
    // A replayed event (same version) changes nothing; anything else is cheaper to sync than to diff.
    if (a.metadata.resourceVersion === b.metadata.resourceVersion) return;
    this.#schedule();
  }

  #schedule(delayMs = this.#coalesceMs): void {
    if (!this.#started) return;
    this.#dirty = true;
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#started) return;
      this.syncNow().catch(() => undefined);
    }, delayMs);
  }

  #scheduleResync(): void {
    if (!this.#started || this.#resyncMs <= 0) return;
    this.#resyncTimer = setTimeout(() => {
      this.#chains
        .setup()
        .then(() => this.syncNow())
        .catch((err: unknown) => this.#log.warn({ err: describeError(err) }, 'service proxy resync failed'))
        .finally(() => this.#scheduleResync());
    }, this.#resyncMs);
    this.#resyncTimer.unref();
  }

  async #sync(): Promise<void> {
    const started = performance.now();
    const rules = this.desiredRules();
    try {
      const result = await this.#chains.apply(rules);
      this.#failures = 0;
      this.#appliedIps = new Set(rules.flatMap((r) => r.endpoints.map((e) => e.ip)));
      for (const w of [...this.#ipWaiters]) if (!this.#appliedIps.has(w.ip)) w.resolve(true);
      const info: SyncInfo = { ruleCount: result.ruleCount, services: rules.length, restoreMs: result.restoreMs, totalMs: performance.now() - started };
      this.#stats = { ...this.#stats, syncs: this.#stats.syncs + 1, lastSync: info };
      this.#log.debug(info, 'service rules synced');
      this.#onSync?.(info);
    } catch (err) {
      this.#failures++;
      this.#stats = { ...this.#stats, failures: this.#stats.failures + 1 };
      const retryMs = Math.min(30_000, 100 * 2 ** Math.min(this.#failures, 9));
      this.#log.error({ err: describeError(err), retryMs }, 'service rules sync failed; the previous rules stay in force');
      this.#schedule(retryMs);
      throw err;
    }
  }
}

/** One rule per port of every Service with a ClusterIP, with the ready endpoints of that port. */
export function servicePortRules(services: readonly Service[], endpointsOf: (ns: string, name: string) => Endpoints | undefined): ServicePortRule[] {
  const out: ServicePortRule[] = [];
  for (const svc of services) {
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None' || svc.spec.type === 'ExternalName') continue;
    const ns = svc.metadata.namespace ?? 'default';
    const ep = endpointsOf(ns, svc.metadata.name);
    const affinity =
      svc.spec.sessionAffinity === 'ClientIP' ? (svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS) : undefined;
    for (const port of svc.spec.ports ?? []) {
      const protocol = (port.protocol ?? 'TCP') as L4Protocol;
      const portName = port.name ?? '';
      const endpoints: { ip: string; port: number }[] = [];
      const seen = new Set<string>();
      for (const subset of ep?.subsets ?? []) {
        const match = subset.ports?.find((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === protocol);
        if (!match) continue;
        for (const a of subset.addresses ?? []) {
          const key = `${a.ip}:${match.port}`;
          if (seen.has(key)) continue;
          seen.add(key);
          endpoints.push({ ip: a.ip, port: match.port });
        }
      }
      endpoints.sort((x, y) => (x.ip < y.ip ? -1 : x.ip > y.ip ? 1 : x.port - y.port));
      const rule: ServicePortRule = { name: `${ns}/${svc.metadata.name}:${portName}`, clusterIP: ip, port: port.port, protocol, endpoints };
      if (port.nodePort && (svc.spec.type === 'NodePort' || svc.spec.type === 'LoadBalancer')) rule.nodePort = port.nodePort;
      if (affinity !== undefined) rule.affinityTimeoutSeconds = affinity;
      out.push(rule);
    }
  }
  return out;
}
