/**
 * The daemon: process wiring only. Start order: preflight → store → host network → DNS → runtime →
 * garbage collection of what no pod owns → controllers → API socket. Stopping leaves pods running
 * (a restarted daemon adopts them); `teardown` (meshbox down) removes everything meshbox made.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigMap, Pod, Secret } from '../api/types.js';
import { resolveResource } from '../api/resources.js';
import { createWorkloadControllers } from '../controllers/workloads-shared/index.js';
import { createNetworkPolicyController } from '../controllers/netpol/index.js';
import type { Service } from '../controllers/services/service-types.js';
import { ClusterIpAllocator, endpointSliceController, endpointsController, ServiceProxy, serviceEnvVars } from '../controllers/services/index.js';
import { validateObject } from '../api/validate.js';
import { checkBridgeClash } from '../cni/check-bridge-clash.js';
import type { CniNetwork } from '../cni/cni-network.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { Controller } from '../reconcile/controller.js';
import { EventRecorder } from '../reconcile/events.js';
import { InformerFactory, objectKey } from '../reconcile/informer.js';
import { GarbageCollector } from '../reconcile/owner-gc.js';
import type { MachinePodRuntime } from '../controllers/pods/machine-pod-runtime.js';
import { PodReconciler } from '../controllers/pods/pod-reconciler.js';
import { ProbeManager } from '../controllers/pods/probes/prober.js';
import { execTarget } from '../controllers/pods/probes/exec-target.js';
import { ClusterRecords } from '../dns/cluster-records.js';
import { DnsServer } from '../dns/dns-server.js';
import { readHostResolvers } from '../dns/read-host-resolvers.js';
import { syncClusterRecords } from '../dns/sync-cluster-records.js';
import { ControlPlane } from '../controlplane/server.js';
import { newDaemonSecret } from '../controlplane/push/credentials.js';
import { ApiServer } from './api-server.js';
import { analyzeRoute } from './api-analyze.js';
import { createMeshMetrics, type MeshMetrics } from '../controlplane/telemetry/index.js';
import { registerDnsMetrics } from '../dns/dns-metrics.js';
import { GatewaySupervisor } from './gateways.js';
import { defaultConfig, derive, parseMetricsAddress, xdsSocketPath, type DaemonConfig, type DerivedConfig } from './config.js';
import { createAdmission } from './admission.js';
import { AlreadyRunning, NotRoot } from './errors.js';
import { setupHostNetwork } from './host-network.js';
import { buildMachine, removeEverything, type Machine } from './machine.js';
import { MachinePodIO } from './pod-io.js';
import { injectSidecar, injectionWanted, isInjected, SIDECAR_NAME, type InjectionSettings } from '../controllers/injection/sidecar-injector.js';
import { SIDECAR_BUNDLE, SIDECAR_ENTRY, SIDECAR_ENV } from '../meshconfig/sidecar-process.js';
import { processAlive } from '../core/process-alive.js';

export const NODE_NAME = hostname();
/** meshbox's own folder (holds dist/ and node_modules/), mounted into sidecars */
const INSTALL_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const POD_UID_INDEX = 'uid';

export interface DaemonOptions {
  config: DaemonConfig;
  log: Logger;
  /** pod workers running in parallel (default 8: pod operations wait on plugins and runc) */
  podWorkers?: number;
}

export class Daemon {
  readonly config: DaemonConfig;
  readonly paths: DerivedConfig;
  readonly #log: Logger;
  #store: SqliteStore | undefined;
  #api: ApiServer | undefined;
  #dns: DnsServer | undefined;
  #informers: InformerFactory | undefined;
  #controllers: { stop(): Promise<void> }[] = [];
  #stopExitWatch: (() => void) | undefined;
  #stopDnsSync: (() => void) | undefined;
  #serviceProxy: ServiceProxy | undefined;
  #probes: ProbeManager | undefined;
  #machine: Machine | undefined;
  #controlPlane: ControlPlane | undefined;
  #gateways: GatewaySupervisor | undefined;
  #meshMetrics: MeshMetrics | undefined;
  #stopped: Promise<void> | undefined;
  #done!: () => void;
  /** resolves once the daemon has stopped (signal or `meshbox down`) */
  readonly finished: Promise<void>;

  constructor(options: DaemonOptions) {
    this.config = options.config;
    this.paths = derive(options.config);
    this.#log = options.log;
    this.finished = new Promise((resolve) => (this.#done = resolve));
  }

  get store(): SqliteStore {
    if (!this.#store) throw new Error('daemon not started');
    return this.#store;
  }

  async start(options: { podWorkers?: number } = {}): Promise<void> {
    const { config, paths } = this;
    const log = this.#log;
    if (process.getuid?.() !== 0) throw NotRoot();
    mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
    this.#claimPidFile();

    const store = new SqliteStore({ stateDir: config.stateDir });
    this.#store = store;

    await checkBridgeClash(config.bridge, config.podCidr);
    await setupHostNetwork({ bridge: config.bridge, gatewayCidr: paths.gatewayCidr, podCidr: config.podCidr, egress: config.egress });

    const { network, containers, pods } = buildMachine(config, paths, log, {
      configMap: (ns, name) => store.get('configmaps', ns, name) as ConfigMap | undefined,
      secret: (ns, name) => store.get('secrets', ns, name) as Secret | undefined,
    });
    this.#machine = { network, containers, pods };
    const status = await network.status();
    if (!status.ready) throw status.plugins.find((p) => p.error)!.error!;

    const records = new ClusterRecords({ domain: config.clusterDomain, reverseCidrs: [config.podCidr, config.serviceCidr], nameserverAddress: paths.gateway });
    this.#dns = new DnsServer({ records, host: paths.gateway, port: config.dnsPort, upstreams: await readHostResolvers(), logger: log.child({ component: 'dns' }) });
    await this.#dns.start();
    this.#stopDnsSync = syncClusterRecords(store, records);

    await containers.init();

    await this.#collectGarbage(store, pods, network);

    const informers = new InformerFactory(store, { log });
    this.#informers = informers;
    const podInformer = informers.informerFor('pods');
    podInformer.addIndex(POD_UID_INDEX, (p) => (p.metadata.uid ? [p.metadata.uid] : []));

    const allocator = new ClusterIpAllocator({ store, serviceCidr: config.serviceCidr });
    const serviceProxy = new ServiceProxy({ informers, bridge: config.bridge, podCidr: config.podCidr, serviceCidr: config.serviceCidr, log });
    this.#serviceProxy = serviceProxy;

    const kubeletEvents = new EventRecorder({ store, component: 'kubelet', log });
    let enqueuePod: (key: string) => void = () => undefined;
    const probes = new ProbeManager({
      onChange: (key) => enqueuePod(key),
      targetFor: (_pod, _name, run) => execTarget(run.podIP, (argv, io) => containers.exec(run.containerId, argv, io)),
      events: kubeletEvents,
      log: log.child({ component: 'prober' }),
    });
    this.#probes = probes;
    const kubelet = new PodReconciler({
      store,
      runtime: pods,
      probes,
      events: kubeletEvents,
      log: log.child({ component: 'kubelet' }),
      hostIP: paths.gateway,
      nodeName: NODE_NAME,
      privateEnv: (pod, c) =>
        c.name === SIDECAR_NAME && isInjected(pod) && this.#controlPlane ? new Map([[SIDECAR_ENV.token, this.#controlPlane.tokenForPod(pod)]]) : undefined,
      serviceEnv: (pod) =>
        serviceEnvVars(store.list('services', { namespace: pod.metadata.namespace ?? 'default' }).items as Service[], pod.metadata.namespace ?? 'default', pod.spec.enableServiceLinks ?? true),
      // a terminating pod leaves the service data path, and every other sidecar has ACKed a config
      // without it, before its containers get SIGTERM (both waits bounded, in parallel)
      beforeStop: async (pod) => {
        const ip = pod.status?.podIP;
        if (!ip) return;
        await Promise.all([serviceProxy.waitUntilNotServing(ip, 2_000), this.#controlPlane?.waitUntilEndpointGone(ip, 2_000)]);
      },
    });
    const podController = new Controller({
      name: 'pods',
      reconciler: kubelet,
      workers: options.podWorkers ?? 8,
      log,
      backoff: { baseDelayMs: 500, maxDelayMs: 60_000 },
    }).for(podInformer);
    enqueuePod = (key) => podController.enqueue(key);
    this.#stopExitWatch = pods.watchExits((uid) => {
      for (const pod of podInformer.byIndex(POD_UID_INDEX, uid)) podController.enqueue(objectKey(pod));
    });
    const gc = new GarbageCollector({ store, informers, log });
    mkdirSync(paths.xdsDir, { recursive: true, mode: 0o755 });
    const entry = existsSync(join(INSTALL_ROOT, SIDECAR_BUNDLE)) ? SIDECAR_BUNDLE : SIDECAR_ENTRY;
    const injection: InjectionSettings = { installRoot: INSTALL_ROOT, nodePath: process.execPath, entry, xdsDir: paths.xdsDir, clusterDomain: config.clusterDomain };
    const admit = createAdmission({
      nodeName: NODE_NAME,
      admitService: (svc, old) => allocator.admitService(svc, old),
      ...(config.sidecarInjection
        ? {
            injectPod: (pod: Pod) => {
              const ns = store.get('namespaces', undefined, pod.metadata.namespace ?? 'default');
              return injectionWanted(pod, ns?.metadata.labels).inject ? injectSidecar(pod, injection) : pod;
            },
            reinjectPod: (pod: Pod) => injectSidecar(pod, injection),
          }
        : {}),
    });
    const podsResource = resolveResource('pods')!;
    const workloads = createWorkloadControllers({ store, informers, log, admitPod: (pod) => admit(podsResource, pod) as Pod });
    const endpoints = endpointsController({ store, informers, log });
    const endpointSlices = endpointSliceController({ store, informers, log });
    const networkPolicies = createNetworkPolicyController({
      store,
      informers,
      events: new EventRecorder({ store, component: 'networkpolicy-controller', log }),
      log,
      bridge: config.bridge,
    });
    informers.start();
    await serviceProxy.start();
    for (const c of [podController, gc, endpoints, endpointSlices, networkPolicies, ...workloads]) {
      await c.start();
      this.#controllers.push(c);
    }

    // The mesh control plane streams proxies their config on <state-dir>/mesh/xds.sock; the secret
    // persists so proxies' tokens stay valid across daemon restarts.
    const controlPlane = new ControlPlane({
      informers,
      secret: this.#xdsSecret(),
      listen: { path: xdsSocketPath(config.stateDir) },
      log,
      clusterDomain: config.clusterDomain,
      // A sidecar that ACKed its config serves /healthz/ready: probe it now, not at the next
      // one-second tick, so the pod's app containers start sooner.
      onBatchDone: (_id, _version, error, proxy) => {
        if (error !== undefined || proxy.kind !== 'sidecar') return;
        // from the informer's cache: this runs for every ACK of every sidecar
        const pod = podInformer.getByKey(proxy.workload) as Pod | undefined;
        const sidecar = pod?.status?.initContainerStatuses?.find((c) => c.name === SIDECAR_NAME);
        if (pod?.metadata.uid && sidecar && sidecar.started !== true) probes.probeNow(pod.metadata.uid, SIDECAR_NAME, 'startup');
      },
    });
    this.#controlPlane = controlPlane;
    await controlPlane.start();
    this.#gateways = new GatewaySupervisor({ informers, controlPlane, stateDir: config.stateDir, log: log.child({ component: 'gateways' }) });
    await this.#gateways.start();
    // Every sidecar's and gateway's metrics, with the daemon's own, on GET /metrics (API socket and TCP).
    const gateways = this.#gateways;
    this.#meshMetrics = await createMeshMetrics({ pods: () => podInformer.list() as Pod[], gateways: () => gateways.statsTargets(), listen: parseMetricsAddress(config.metricsAddress), listenOptional: config.metricsAddress === defaultConfig().metricsAddress, log: log.child({ component: 'metrics' }) });
    registerDnsMetrics(this.#meshMetrics.registry, this.#dns);

    this.#api = new ApiServer({
      store,
      admit,
      validate: (obj) => validateObject(obj).map((i) => ({ path: i.field, message: i.message })),
      podIO: new MachinePodIO(store, pods, containers),
      logger: log.child({ component: 'api' }),
      systemNamespaces: ['default', 'kube-system', 'kube-public'],
      routes: {
        '/metrics': this.#meshMetrics.handler,
        '/apis/meshbox.dev/v1/shutdown': (req, res) => {
          if (req.method !== 'POST') {
            res.writeHead(405).end();
            return;
          }
          const teardown = new URL(req.url ?? '/', 'http://x').searchParams.get('teardown') === 'true';
          res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ stopping: true, teardown }));
          setImmediate(() => void this.stop({ teardown }));
        },
        '/apis/meshbox.dev/v1/analyze': analyzeRoute(store, { clusterDomain: config.clusterDomain }),
        '/apis/meshbox.dev/v1/proxy-status': (req, res) => {
          if (req.method !== 'GET') return void res.writeHead(405).end();
          sendJson(res, { apiVersion: 'meshbox.dev/v1', kind: 'ProxyStatusList', items: controlPlane.status() });
        },
        '/apis/meshbox.dev/v1/proxy-config': (req, res) => {
          if (req.method !== 'GET') return void res.writeHead(405).end();
          const proxy = new URL(req.url ?? '/', 'http://x').searchParams.get('proxy') ?? '';
          // configDump throws UnknownProxy (404); the API server turns it into a Status
          sendJson(res, controlPlane.configDump(proxy));
        },
      },
    });
    await this.#api.listen(paths.socketPath);
    log.info({ socket: paths.socketPath, bridge: config.bridge, podCidr: config.podCidr, dns: `${paths.gateway}:${config.dnsPort}` }, 'meshbox daemon ready');
  }

  /** Removes what a crash or an earlier daemon left behind that no pod in the store owns. */
  async #collectGarbage(store: SqliteStore, pods: MachinePodRuntime, network: CniNetwork): Promise<void> {
    // pods being deleted are still owned: the kubelet loop stops them gracefully
    const live = new Set(store.list('pods').items.map((p) => p.metadata.uid!));
    for (const uid of await pods.listPodUids()) {
      if (live.has(uid)) continue;
      this.#log.info({ uid }, 'garbage-collecting pod resources no pod owns');
      await pods.removeOrphan(uid).catch((err: unknown) => this.#log.warn({ uid, err: describeError(err) }, 'garbage collection failed'));
    }
    const report = await network.gc([...live].map((containerId) => ({ containerId, ifName: 'eth0' })));
    if (report.removed.length || report.releasedIps.length) this.#log.info({ removed: report.removed.length, releasedIps: report.releasedIps.length }, 'CNI garbage collection');
  }

  /** 32 random bytes in <state-dir>/xds.secret (0600), made once. */
  #xdsSecret(): Buffer {
    const file = join(this.config.stateDir, 'xds.secret');
    if (existsSync(file)) {
      const secret = readFileSync(file);
      if (secret.length === 32) return secret;
    }
    const secret = newDaemonSecret();
    writeFileSync(file, secret, { mode: 0o600 });
    return secret;
  }

  #claimPidFile(): void {
    const pidFile = join(this.config.stateDir, 'meshbox.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (pid && pid !== process.pid && processAlive(pid)) throw AlreadyRunning(pid, this.config.stateDir);
    }
    writeFileSync(pidFile, String(process.pid));
  }

  /** Stops the daemon. Pods keep running unless `teardown` (meshbox down), which removes everything. */
  stop(options: { teardown: boolean } = { teardown: false }): Promise<void> {
    this.#stopped ??= this.#stop(options.teardown).finally(() => this.#done());
    return this.#stopped;
  }

  async #stop(teardown: boolean): Promise<void> {
    const log = this.#log;
    await this.#api?.close().catch(() => undefined);
    await this.#meshMetrics?.close().catch(() => undefined);
    this.#stopExitWatch?.();
    this.#stopDnsSync?.();
    this.#probes?.stop();
    for (const c of this.#controllers) await c.stop().catch(() => undefined);
    // Gateway proxies keep serving their last config; a restarted daemon adopts them.
    await this.#gateways?.stop().catch(() => undefined);
    await this.#controlPlane?.stop().catch(() => undefined);
    await this.#serviceProxy?.stop().catch(() => undefined);
    this.#informers?.stop();
    await this.#dns?.stop().catch(() => undefined);
    const knownPods = teardown && this.#store ? (this.#store.list('pods').items as Pod[]) : [];
    this.#store?.close();
    if (teardown && this.#machine) {
      log.info('tearing down: removing every pod, the host network and the state files');
      await removeEverything(this.config, this.#machine, log, knownPods);
    }
    rmSync(join(this.config.stateDir, 'meshbox.pid'), { force: true });
    log.info({ teardown }, 'meshbox daemon stopped');
  }
}
function sendJson(res: ServerResponse<IncomingMessage>, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

