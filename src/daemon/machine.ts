/**
 * The machine-side parts of a daemon, built from its config: the CNI bridge network, the container
 * runtime and the pod runtime over both. The daemon and the offline teardown (`meshbox down` with no
 * daemon running) build them the same way, so both find the same pods, attachments and containers.
 */
import { existsSync, rmdirSync, rmSync } from 'node:fs';
import { isMountPoint } from '../runtime/host-rootfs.js';
import { join } from 'node:path';
import type { ConfigMap, Pod, Secret } from '../api/types.js';
import { bridgeConflist } from '../cni/bridge-conflist.js';
import { CniNetwork } from '../cni/cni-network.js';
import type { CniConflist } from '../cni/types.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { ContainerRuntime } from '../runtime/container-runtime.js';
import { MachinePodRuntime } from '../controllers/pods/machine-pod-runtime.js';
import type { DaemonConfig, DerivedConfig } from './config.js';
import { teardownHostNetwork } from './host-network.js';
import { ServiceChains } from '../netfilter/service-chains.js';
import { teardownNetworkPolicies } from '../controllers/netpol/network-policy-controller.js';
import { stopAllGatewayProcesses } from './gateways.js';

export interface Machine {
  network: CniNetwork;
  containers: ContainerRuntime;
  pods: MachinePodRuntime;
}

export interface MachineLookups {
  configMap(namespace: string, name: string): ConfigMap | undefined;
  secret(namespace: string, name: string): Secret | undefined;
}

const NO_LOOKUPS: MachineLookups = { configMap: () => undefined, secret: () => undefined };

export function buildMachine(cfg: DaemonConfig, paths: DerivedConfig, log: Logger, lookups: MachineLookups = NO_LOOKUPS): Machine {
  const conflist = bridgeConflist({
    networkName: paths.networkName,
    bridge: cfg.bridge,
    subnet: cfg.podCidr,
    gateway: paths.gateway,
    ipamDataDir: paths.ipamDataDir,
    routes: [cfg.podCidr, cfg.serviceCidr],
  });
  const networkOf = (plugins: CniConflist['plugins']): CniNetwork =>
    new CniNetwork({ conflist: { ...conflist, plugins }, binDirs: cfg.cniBinDirs, cacheDir: paths.cniCacheDir, logger: log.child({ component: 'cni' }) });
  const network = networkOf(conflist.plugins);
  // portmap execs iptables even with nothing to publish: pods without hostPorts skip it
  const networkWithoutPorts = networkOf(conflist.plugins.filter((p) => p.type !== 'portmap'));
  const containers = new ContainerRuntime({ stateDir: cfg.stateDir });
  const pods = new MachinePodRuntime({
    network,
    networkWithoutPorts,
    containers,
    podsDir: paths.podsDir,
    clusterDomain: cfg.clusterDomain,
    dnsServer: paths.gateway,
    configMap: lookups.configMap,
    secret: lookups.secret,
    log: log.child({ component: 'runtime' }),
  });
  return { network, containers, pods };
}

/** State files and folders meshbox keeps under the state folder (all removed by `meshbox down`). */
const STATE_ENTRIES = ['meshbox.db', 'meshbox.db-wal', 'meshbox.db-shm', 'cni', 'pods', 'containers', 'runc', 'meshbox.pid', 'config.json', 'gateways', 'xds.sock', 'mesh', 'xds.secret'];

/**
 * Removes everything: every pod's containers (gracefully, with at most `maxGraceSeconds`), netns,
 * attachment and cgroups, the host network, and meshbox's state files. Idempotent, continues past
 * errors (each is logged), so a half-broken machine still gets cleaned.
 */
export async function removeEverything(cfg: DaemonConfig, machine: Machine, log: Logger, knownPods: Pod[] = [], maxGraceSeconds = 10): Promise<void> {
  const { pods, network, containers } = machine;
  const warn = (what: string) => (err: unknown) => log.warn({ err: describeError(err) }, what);
  await stopAllGatewayProcesses(cfg.stateDir, log).catch(warn('gateway proxies teardown'));
  await Promise.all(knownPods.map((p) => pods.removePod(p, Math.min(p.spec.terminationGracePeriodSeconds ?? 30, maxGraceSeconds)).catch(warn(`pod ${p.metadata.name} teardown`))));
  for (const uid of await pods.listPodUids().catch(() => new Set<string>())) await pods.removeOrphan(uid).catch(warn(`pod ${uid} teardown`));
  await network.gc([]).catch(warn('CNI garbage collection'));
  await containers.shutdown().catch(warn('host rootfs release'));
  await new ServiceChains({ bridge: cfg.bridge, podCidr: cfg.podCidr, serviceCidr: cfg.serviceCidr }).teardown().catch(warn('service rules teardown'));
  await teardownNetworkPolicies(cfg.bridge).catch(warn('network policy teardown'));
  await teardownHostNetwork({ bridge: cfg.bridge }).catch(warn('host network teardown'));
  for (const entry of STATE_ENTRIES) rmSync(join(cfg.stateDir, entry), { recursive: true, force: true });
  // The rootfs folder is a bind of the host's /: never remove it recursively. Only an empty folder
  // that is no longer a mount point goes (rmdir), so a failed unmount can never delete host files.
  const rootfs = join(cfg.stateDir, 'rootfs');
  if (existsSync(rootfs)) {
    if (await isMountPoint(rootfs)) log.warn({ rootfs }, 'host rootfs is still mounted; leaving it (umount -R it by hand)');
    else rmdirSync(rootfs);
  }
}
