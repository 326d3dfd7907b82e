/**
 * The daemon's settings (`meshbox up` flags), with DESIGN.md's defaults, and their derived values.
 */
import { join } from 'node:path';
import { defineError } from '../core/errors.js';

export const InvalidDaemonConfig = defineError(
  'MBX_DAEMON_INVALID_CONFIG',
  (flag: string, value: string, why: string) => `${flag} ${value}: ${why}`,
);

export interface DaemonConfig {
  stateDir: string;
  bridge: string;
  podCidr: string;
  serviceCidr: string;
  clusterDomain: string;
  /** DNS port on the bridge gateway (53 in production; tests may pick another) */
  dnsPort: number;
  /** let pod traffic leave the machine (masquerade); off by default (DESIGN.md) */
  egress: boolean;
  /** add the sidecar proxy to every pod that does not opt out (DESIGN.md: on by default) */
  sidecarInjection: boolean;
  cniBinDirs: string[];
  /** mesh metrics over TCP: HOST:PORT (port 0 = any free port) or `off`; default istiod's 127.0.0.1:15014 */
  metricsAddress: string;
}

export const DEFAULT_STATE_DIR = '/var/lib/meshbox';

export function resolveStateDir(flag?: string): string {
  return flag ?? process.env.MESHBOX_STATE_DIR ?? DEFAULT_STATE_DIR;
}

export function defaultConfig(stateDir = resolveStateDir()): DaemonConfig {
  return {
    stateDir,
    bridge: 'mbx0',
    podCidr: '10.244.0.0/16',
    serviceCidr: '10.96.0.0/16',
    clusterDomain: 'cluster.local',
    dnsPort: 53,
    egress: false,
    sidecarInjection: true,
    cniBinDirs: ['/usr/lib/cni', '/opt/cni/bin'],
    metricsAddress: '127.0.0.1:15014',
  };
}

export interface Cidr {
  network: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${ip}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Error(`not an IPv4 address: ${ip}`);
    n = n * 256 + Number(p);
  }
  return n;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(cidr: string, flag = 'cidr'): Cidr {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr);
  if (!m) throw InvalidDaemonConfig(flag, cidr, 'expected an IPv4 CIDR such as 10.244.0.0/16');
  const prefix = Number(m[2]);
  if (prefix < 8 || prefix > 28) throw InvalidDaemonConfig(flag, cidr, 'prefix length must be between 8 and 28');
  let ip: number;
  try {
    ip = ipToInt(m[1]!);
  } catch (err) {
    throw InvalidDaemonConfig(flag, cidr, 'expected an IPv4 CIDR such as 10.244.0.0/16', { cause: err });
  }
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return { network: (ip & mask) >>> 0, prefix };
}

/** `--metrics-address`: HOST:PORT or [IPV6]:PORT, or `off` (undefined). */
export function parseMetricsAddress(value: string): { host: string; port: number } | undefined {
  if (value === 'off') return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw InvalidDaemonConfig('--metrics-address', value, 'expected HOST:PORT such as 127.0.0.1:15014 (port 0 picks a free port), or off');
  return { host: m[1] ?? m[2]!, port };
}

export function cidrContains(c: Cidr, ip: string): boolean {
  const mask = (~0 << (32 - c.prefix)) >>> 0;
  return ((ipToInt(ip) & mask) >>> 0) === c.network;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  const mask = (~0 << (32 - prefix)) >>> 0;
  return ((a.network & mask) >>> 0) === ((b.network & mask) >>> 0);
}

/** The values every part derives from the config, computed once. */
export interface DerivedConfig {
  /** first host address of the pod CIDR: the bridge's own address, DNS server and pods' gateway */
  gateway: string;
  gatewayCidr: string;
  socketPath: string;
  dbPath: string;
  cniCacheDir: string;
  ipamDataDir: string;
  podsDir: string;
  runcRoot: string;
  logPath: string;
  networkName: string;
  /** the folder holding the control plane's socket; sidecars mount the folder, so it outlives a daemon restart */
  xdsDir: string;
}

/** The control plane's socket: `<state-dir>/mesh/xds.sock`. */
export function xdsSocketPath(stateDir: string): string {
  return join(stateDir, 'mesh', 'xds.sock');
}

export function derive(cfg: DaemonConfig): DerivedConfig {
  const pod = parseCidr(cfg.podCidr, '--pod-cidr');
  const svc = parseCidr(cfg.serviceCidr, '--service-cidr');
  if (cidrsOverlap(pod, svc)) {
    throw InvalidDaemonConfig('--service-cidr', cfg.serviceCidr, `overlaps the pod CIDR ${cfg.podCidr}; choose disjoint ranges`);
  }
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/.test(cfg.bridge)) {
    throw InvalidDaemonConfig('--bridge', cfg.bridge, 'a Linux interface name has at most 15 letters, digits, ".", "-" or "_"');
  }
  parseMetricsAddress(cfg.metricsAddress); // validates
  const gateway = intToIp(pod.network + 1);
  return {
    gateway,
    gatewayCidr: `${gateway}/${pod.prefix}`,
    socketPath: join(cfg.stateDir, 'meshbox.sock'),
    dbPath: join(cfg.stateDir, 'meshbox.db'),
    cniCacheDir: join(cfg.stateDir, 'cni', 'cache'),
    ipamDataDir: join(cfg.stateDir, 'cni', 'ipam'),
    podsDir: join(cfg.stateDir, 'pods'),
    runcRoot: join(cfg.stateDir, 'runc'),
    logPath: join(cfg.stateDir, 'daemon.log'),
    networkName: `meshbox-${cfg.bridge}`,
    xdsDir: join(cfg.stateDir, 'mesh'),
  };
}
