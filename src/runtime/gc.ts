/**
 * Garbage collection of runtime leftovers that no live pod owns; the daemon runs it at start with
 * the uids of the pods it knows, after adopting running containers.
 *
 *   collectGarbage(rt, { livePodUids, podsDir?, dryRun? }): Promise<GcResult>
 *
 * Removes: containers (running ones are killed) of dead pods, runc state entries with no container
 * folder, pod cgroups (`/meshbox/<uid>`), and `<podsDir>/<uid>` folders. Continues past errors
 * (reported in `errors`), like CNI GC.
 *
 * Several daemons share the `/meshbox` cgroup parent, so only cgroups of pods that *this* state
 * folder has a record of (a container or a pod folder) are touched; another daemon's pods are not
 * ours to judge.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../core/errors.js';
import { listPodCgroups } from './cgroups.js';
import type { ContainerRuntime } from './container-runtime.js';

export interface GcOptions {
  livePodUids: ReadonlySet<string>;
  /** the folder whose children are pod folders named by pod uid */
  podsDir?: string;
  /** only report what would be removed */
  dryRun?: boolean;
}

export interface GcResult {
  containers: string[];
  runcStates: string[];
  cgroups: string[];
  podDirs: string[];
  errors: string[];
}

export async function collectGarbage(rt: ContainerRuntime, opts: GcOptions): Promise<GcResult> {
  const result: GcResult = { containers: [], runcStates: [], cgroups: [], podDirs: [], errors: [] };
  const known = new Set<string>();
  const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    if (opts.dryRun) return;
    try {
      await fn();
    } catch (err) {
      result.errors.push(`${what}: ${describeError(err)}`);
    }
  };

  const containers = await rt.list();
  const containerIds = new Set(containers.map((c) => c.id));
  for (const c of containers) {
    known.add(c.podUid);
    if (opts.livePodUids.has(c.podUid)) continue;
    result.containers.push(c.id);
    await attempt(`container ${c.id}`, async () => {
      if (c.status.state === 'running') await rt.stop(c.id, 0);
      await rt.remove(c.id);
    });
  }

  // runc knows it but we have no folder: a start that died half-way, or a folder removed by hand
  for (const s of await rt.runc.list().catch(() => [])) {
    if (containerIds.has(s.id)) continue;
    const uid = s.annotations?.['io.kubernetes.pod.uid'];
    if (uid && opts.livePodUids.has(uid)) continue;
    if (uid) known.add(uid);
    result.runcStates.push(s.id);
    await attempt(`runc state ${s.id}`, () => rt.runc.delete(s.id, { force: true }));
  }

  if (opts.podsDir) {
    let entries: string[] = [];
    try {
      entries = await readdir(opts.podsDir);
    } catch {
      /* no pods folder yet */
    }
    for (const uid of entries) {
      known.add(uid);
      if (opts.livePodUids.has(uid)) continue;
      result.podDirs.push(join(opts.podsDir, uid));
      await attempt(`pod folder ${uid}`, () => rm(join(opts.podsDir!, uid), { recursive: true, force: true }));
    }
  }

  for (const uid of listPodCgroups()) {
    if (opts.livePodUids.has(uid) || !known.has(uid)) continue;
    result.cgroups.push(uid);
    await attempt(`cgroup of pod ${uid}`, async () => {
      const leftovers = await rt.removePod(uid);
      if (leftovers.length > 0) throw new Error(`still busy: ${leftovers.join(', ')}`);
    });
  }
  return result;
}
