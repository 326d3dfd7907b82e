/**
 * Cgroup layout of meshbox containers, for cgroup v1 (one hierarchy per controller, this machine)
 * and v2 (the unified tree, detected by /sys/fs/cgroup/cgroup.controllers).
 *
 *   <hierarchy>/meshbox/<podUid>/<containerId>
 *
 * runc creates and removes the container level (we hand it the absolute `cgroupsPath`
 * `/meshbox/<podUid>/<containerId>`, absolute so it does not depend on the cgroup of whoever runs
 * runc). The pod level is ours: `removePodCgroup` deletes it once the pod's containers are gone, and
 * `listPodCgroups` feeds garbage collection.
 *
 *   podCgroupPath(uid): string                 '/meshbox/<uid>'
 *   containerCgroupPath(uid, id): string       '/meshbox/<uid>/<id>'
 *   detectCgroupVersion(): 1 | 2
 *   cgroupMounts(): CgroupMount[]              every mounted hierarchy (v1 and the v2 tree)
 *   oomCounterFile(path): string | undefined   the file whose `oom_kill N` line counts OOM kills
 *   readOomKills(path): number | undefined
 *   cgroupPids(path): number[]                 processes in the cgroup (any hierarchy)
 *   removePodCgroup(uid): string[]             removes the pod's cgroups bottom-up; returns leftovers
 *   listPodCgroups(): string[]                 pod uids that have a cgroup in any hierarchy
 */
import { existsSync, readFileSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const CGROUP_PARENT = 'meshbox';
const CGROUP_ROOT = '/sys/fs/cgroup';

export interface CgroupMount {
  mountPoint: string;
  version: 1 | 2;
  /** v1: the controllers of this hierarchy (plus `name=...`); v2: empty */
  controllers: string[];
}

export function podCgroupPath(podUid: string): string {
  return `/${CGROUP_PARENT}/${podUid}`;
}

export function containerCgroupPath(podUid: string, containerId: string): string {
  return `/${CGROUP_PARENT}/${podUid}/${containerId}`;
}

export function detectCgroupVersion(root = CGROUP_ROOT): 1 | 2 {
  return existsSync(join(root, 'cgroup.controllers')) ? 2 : 1;
}

/** Parses mountinfo text; exported for tests. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const fstype = right[0];
    const mountPoint = left[4];
    if (!mountPoint) continue;
    if (fstype === 'cgroup2') out.push({ mountPoint, version: 2, controllers: [] });
    else if (fstype === 'cgroup') {
      const opts = (right[2] ?? '').split(',');
      const known = opts.filter((o) => !['rw', 'ro', 'relatime', 'nosuid', 'nodev', 'noexec'].includes(o));
      out.push({ mountPoint, version: 1, controllers: known });
    }
  }
  return out;
}

export function cgroupMounts(): CgroupMount[] {
  // only the host's own hierarchies: copies inside meshbox's host-rootfs bind are not separate trees
  return parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8')).filter((m) =>
    m.mountPoint.startsWith(`${CGROUP_ROOT}/`) || m.mountPoint === CGROUP_ROOT,
  );
}

/** The file with an `oom_kill N` line for a container cgroup: v1 memory.oom_control, v2 memory.events. */
export function oomCounterFile(cgroupsPath: string): string | undefined {
  if (detectCgroupVersion() === 2) return join(CGROUP_ROOT, cgroupsPath, 'memory.events');
  const mem = cgroupMounts().find((m) => m.version === 1 && m.controllers.includes('memory'));
  return mem ? join(mem.mountPoint, cgroupsPath, 'memory.oom_control') : undefined;
}

export function readOomKills(cgroupsPath: string): number | undefined {
  const file = oomCounterFile(cgroupsPath);
  if (!file) return undefined;
  try {
    const m = /^oom_kill (\d+)$/m.exec(readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function cgroupPids(cgroupsPath: string): number[] {
  const pids = new Set<number>();
  for (const m of cgroupMounts()) {
    try {
      for (const p of readFileSync(join(m.mountPoint, cgroupsPath, 'cgroup.procs'), 'utf8').split('\n')) {
        if (p.trim()) pids.add(Number(p));
      }
    } catch {
      /* this hierarchy has no such cgroup */
    }
  }
  return [...pids];
}

function removeTree(dir: string, leftovers: string[]): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return; // already gone
  }
  for (const e of entries) {
    const child = join(dir, e);
    try {
      if (statSync(child).isDirectory()) removeTree(child, leftovers);
    } catch {
      /* raced with someone else removing it */
    }
  }
  try {
    rmdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') leftovers.push(dir);
  }
}

/**
 * Removes `/meshbox/<podUid>` (and any container cgroup a crashed runc left) from every hierarchy.
 * A cgroup that still has processes cannot be removed: it is returned so the caller can kill them
 * (see cgroupPids) and try again.
 */
export function removePodCgroup(podUid: string): string[] {
  const leftovers: string[] = [];
  for (const m of cgroupMounts()) removeTree(join(m.mountPoint, CGROUP_PARENT, podUid), leftovers);
  return leftovers;
}

/** Pod uids that have a cgroup under meshbox/ in any hierarchy. */
export function listPodCgroups(): string[] {
  const uids = new Set<string>();
  for (const m of cgroupMounts()) {
    try {
      for (const e of readdirSync(join(m.mountPoint, CGROUP_PARENT), { withFileTypes: true })) {
        if (e.isDirectory()) uids.add(e.name);
      }
    } catch {
      /* no meshbox cgroups in this hierarchy */
    }
  }
  return [...uids].sort();
}
