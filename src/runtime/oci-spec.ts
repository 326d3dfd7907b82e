/**
 * Builds the OCI runtime spec (config.json) of one container. Pure: no file system, no clock.
 *
 *   buildOciSpec(c: ContainerConfig, o: { rootfsPath: string }): OciSpec
 *
 * `image: host` (DESIGN.md): the root is this machine's own `/`, read-only. runc cannot pivot_root
 * into "/" itself (EBUSY), and mounting /tmp or /sys onto "/" would hide the host paths the bind
 * sources live under, so the root is a separate folder holding a recursive bind of "/"
 * (host-rootfs.ts). On top of it every container gets its own /proc, /dev, /sys (read-only), a
 * private tmpfs /tmp and /run, and /etc/hosts, /etc/resolv.conf, /etc/hostname from per-pod files.
 * Own pid, mount, uts and ipc namespaces; the network namespace is the pod's, joined by path.
 */
import { ImageNotFound, NoCommand } from './errors.js';

export const HOST_IMAGE = 'host';

export interface ContainerMount {
  source: string;
  destination: string;
  readOnly: boolean;
  type: 'bind' | 'tmpfs';
}

export interface ContainerConfig {
  /** unique per container run, e.g. `<podUid>-<name>-<restartCount>`; [A-Za-z0-9_.-] */
  id: string;
  podUid: string;
  podName: string;
  namespace: string;
  containerName: string;
  restartCount?: number;
  image: string;
  /** command + args, already resolved */
  argv: string[];
  /** `NAME=value` */
  env: string[];
  cwd?: string;
  hostname: string;
  /** the pod's network namespace; empty = share the host's network (hostNetwork) */
  netnsPath: string;
  mounts: ContainerMount[];
  hostsPath: string;
  resolvConfPath: string;
  hostnamePath?: string;
  memoryLimitBytes?: number;
  cpuMilli?: number;
  /** absolute cgroup path, see cgroups.ts containerCgroupPath */
  cgroupsPath: string;
  /** where stdout and stderr go (appended), see container-logs.ts logPathFor */
  logPath: string;
  /** securityContext.runAsUser / runAsGroup (default root) */
  user?: { uid: number; gid: number };
  /** extra capabilities (securityContext.capabilities.add), e.g. CAP_NET_ADMIN */
  capabilitiesAdd?: string[];
  /** free-form labels kept with the container so a restarted daemon can adopt it */
  labels?: Record<string, string>;
}

export type OciSpec = Record<string, unknown> & {
  process: Record<string, unknown> & { args: string[]; env: string[]; cwd: string; capabilities: Record<string, string[]> };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: { destination: string; type: string; source: string; options: string[] }[];
  linux: Record<string, unknown> & {
    namespaces: { type: string; path?: string }[];
    cgroupsPath: string;
    resources: Record<string, unknown>;
  };
  annotations: Record<string, string>;
};

/** Docker's (and so Kubernetes') default capability set. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const CPU_PERIOD_US = 100_000;

const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

function normaliseCap(c: string): string {
  const up = c.toUpperCase();
  return up.startsWith('CAP_') ? up : `CAP_${up}`;
}

function depth(p: string): number {
  return p.split('/').filter(Boolean).length;
}

export function buildOciSpec(c: ContainerConfig, o: { rootfsPath: string }): OciSpec {
  if (c.image !== HOST_IMAGE) throw ImageNotFound(c.image);
  if (c.argv.length === 0) throw NoCommand(c.containerName);
  const caps = [...new Set([...DEFAULT_CAPABILITIES, ...(c.capabilitiesAdd ?? []).map(normaliseCap)])];
  const env = c.env.some((e) => e.startsWith('PATH=')) ? [...c.env] : [DEFAULT_PATH, ...c.env];
  if (!env.some((e) => e.startsWith('HOSTNAME='))) env.push(`HOSTNAME=${c.hostname}`);

  const mounts: OciSpec['mounts'] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    // a new sysfs needs a network namespace of our own; with the host's network, bind the host's /sys
    c.netnsPath
      ? { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] }
      : { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'rprivate', 'nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
    { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755'] },
    // writable like the kubelet's: the files are per pod, so a write affects only this pod
    { destination: '/etc/hosts', type: 'bind', source: c.hostsPath, options: ['rbind', 'rprivate'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: c.resolvConfPath, options: ['rbind', 'rprivate'] },
  ];
  if (c.hostnamePath) {
    mounts.push({ destination: '/etc/hostname', type: 'bind', source: c.hostnamePath, options: ['rbind', 'rprivate'] });
  }
  // parents before children (as containerd sorts them), stable for equal depth
  const user = [...c.mounts].sort((a, b) => depth(a.destination) - depth(b.destination));
  for (const m of user) {
    if (m.type === 'tmpfs') {
      mounts.push({
        destination: m.destination,
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', 'mode=1777', ...(m.readOnly ? ['ro'] : [])],
      });
    } else {
      mounts.push({
        destination: m.destination,
        type: 'bind',
        source: m.source,
        options: ['rbind', 'rprivate', ...(m.readOnly ? ['ro'] : [])],
      });
    }
  }

  const namespaces: { type: string; path?: string }[] = [
    { type: 'pid' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
  ];
  if (c.netnsPath) namespaces.push({ type: 'network', path: c.netnsPath });

  const resources: Record<string, unknown> = { devices: [{ allow: false, access: 'rwm' }] };
  if (c.memoryLimitBytes !== undefined && c.memoryLimitBytes > 0) {
    // swap = limit: no swap on top of the limit, so an over-allocating container is OOM-killed
    resources.memory = { limit: c.memoryLimitBytes, swap: c.memoryLimitBytes };
  }
  if (c.cpuMilli !== undefined && c.cpuMilli > 0) {
    // the kubelet's minimum quota is 1 ms
    resources.cpu = { quota: Math.max(1000, Math.round((c.cpuMilli * CPU_PERIOD_US) / 1000)), period: CPU_PERIOD_US };
  }

  const annotations: Record<string, string> = {
    'io.kubernetes.pod.uid': c.podUid,
    'io.kubernetes.pod.name': c.podName,
    'io.kubernetes.pod.namespace': c.namespace,
    'io.kubernetes.container.name': c.containerName,
    'meshbox.io/image': c.image,
  };
  if (c.restartCount !== undefined) annotations['io.kubernetes.container.restartCount'] = String(c.restartCount);

  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: c.user ?? { uid: 0, gid: 0 },
      args: [...c.argv],
      env,
      cwd: c.cwd || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      // no rlimits: the container inherits the daemon's (raising the hard limit needs more than root in some sandboxes)
      noNewPrivileges: false,
    },
    root: { path: o.rootfsPath, readonly: true },
    hostname: c.hostname,
    mounts,
    linux: {
      namespaces,
      cgroupsPath: c.cgroupsPath,
      resources,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
    annotations,
  };
}
