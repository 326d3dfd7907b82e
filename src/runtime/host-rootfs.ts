/**
 * The read-only root of `image: host` containers: a folder holding a recursive bind of the host's "/".
 *
 *   ensureHostRootfs(path): Promise<void>   idempotent; call at daemon start (before any container)
 *   releaseHostRootfs(path): Promise<void>  lazy unmount; running containers keep their own copy
 *   isMountPoint(path): boolean
 *   copiesOfOtherBinds(abs, mounts): string[] other daemons' rootfs copied into ours (to detach)
 *
 * Why a bind and not root.path "/": runc cannot pivot_root into "/" (EBUSY), and mounting the
 * container's /tmp, /run or /sys over the host's own would hide bind sources that live there.
 * The bind is made rslave: unmounts of shared host mounts (ip netns delete under /run/netns)
 * propagate into it, so containers do not pin other pods' network namespaces. Copies of other
 * binds of "/" (another meshbox daemon's host rootfs) are detached from ours, or every daemon
 * would copy every earlier one and the mount table would grow exponentially.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { run } from '../core/exec.js';
import { describeError } from '../core/errors.js';
import { HostRootfsFailed } from './errors.js';
import { readMounts, type MountEntry } from '../core/mountinfo.js';

export function isMountPoint(path: string): boolean {
  const abs = resolve(path);
  return readMounts().some((m) => m.mountPoint === abs);
}

export async function ensureHostRootfs(path: string): Promise<void> {
  const abs = resolve(path);
  if (isMountPoint(abs)) return;
  try {
    mkdirSync(abs, { recursive: true });
    await run('mount', ['--rbind', '/', abs], { timeoutMs: 10_000, notFoundHint: 'install the Debian package mount' });
    await run('mount', ['--make-rslave', abs], { timeoutMs: 10_000 });
    // Found after the bind, in our copy, not before it: a daemon that binds "/" between our look
    // and our bind would otherwise stay copied in our tree, and its rmdir of its rootfs folder at
    // `meshbox down` fails with EBUSY for as long as we run.
    for (const copy of copiesOfOtherBinds(abs, readMounts())) {
      await run('umount', ['-l', copy], { timeoutMs: 10_000, allowFailure: true });
    }
  } catch (err) {
    throw HostRootfsFailed(abs, describeError(err), { cause: err });
  }
}

/**
 * Mount points inside our bind at `abs` that are copies of other binds of "/" (same device and root
 * as "/": other daemons' rootfs), outermost only: detaching one detaches what is below it.
 */
export function copiesOfOtherBinds(abs: string, mounts: readonly MountEntry[]): string[] {
  const rootMount = mounts.find((m) => m.mountPoint === '/');
  if (!rootMount) return [];
  const inside = mounts
    .filter((m) => m.mountPoint.startsWith(`${abs}/`) && m.devMajorMinor === rootMount.devMajorMinor && m.root === '/')
    .map((m) => m.mountPoint)
    .sort();
  return inside.filter((p, i) => !inside.slice(0, i).some((outer) => p.startsWith(`${outer}/`)));
}

export async function releaseHostRootfs(path: string): Promise<void> {
  const abs = resolve(path);
  if (!isMountPoint(abs)) return;
  await run('umount', ['-l', abs], { timeoutMs: 10_000 });
}
