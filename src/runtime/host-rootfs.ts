/**
 * The read-only root of `image: host` containers: a folder holding a recursive bind of the host's "/".
 *
 *   ensureHostRootfs(path): Promise<void>   idempotent; call at daemon start (before any container)
 *   releaseHostRootfs(path): Promise<void>  lazy unmount; running containers keep their own copy
 *   isMountPoint(path): boolean
 *
 * Why a bind and not root.path "/": runc cannot pivot_root into "/" (EBUSY), and mounting the
 * container's /tmp, /run or /sys over the host's own would hide bind sources that live there.
 * The bind is made rslave: unmounts of shared host mounts (ip netns delete under /run/netns)
 * propagate into it, so containers do not pin other pods' network namespaces. Copies of other
 * binds of "/" (another meshbox daemon's host rootfs) are detached from ours, or every daemon
 * would copy every earlier one and the mount table would grow exponentially.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { run } from '../core/exec.js';
import { describeError } from '../core/errors.js';
import { HostRootfsFailed } from './errors.js';

interface MountEntry {
  id: string;
  parent: string;
  devMajorMinor: string;
  root: string;
  mountPoint: string;
}

/** mountinfo escapes spaces and such as octal (\040) */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function readMounts(): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    out.push({ id: f[0]!, parent: f[1]!, devMajorMinor: f[2]!, root: unescape(f[3]!), mountPoint: unescape(f[4]!) });
  }
  return out;
}

export function isMountPoint(path: string): boolean {
  const abs = resolve(path);
  return readMounts().some((m) => m.mountPoint === abs);
}

export async function ensureHostRootfs(path: string): Promise<void> {
  const abs = resolve(path);
  if (isMountPoint(abs)) return;
  try {
    mkdirSync(abs, { recursive: true });
    const before = readMounts();
    const rootMount = before.find((m) => m.mountPoint === '/');
    // other binds of "/" (same device, same root) that are not "/" itself: other daemons' rootfs
    const otherBinds = before
      .filter((m) => rootMount && m.mountPoint !== '/' && m.devMajorMinor === rootMount.devMajorMinor && m.root === '/')
      .map((m) => m.mountPoint);
    await run('mount', ['--rbind', '/', abs], { timeoutMs: 10_000, notFoundHint: 'install the Debian package mount' });
    await run('mount', ['--make-rslave', abs], { timeoutMs: 10_000 });
    for (const other of otherBinds) {
      await run('umount', ['-l', `${abs}${other}`], { timeoutMs: 10_000, allowFailure: true });
    }
  } catch (err) {
    throw HostRootfsFailed(abs, describeError(err), { cause: err });
  }
}

export async function releaseHostRootfs(path: string): Promise<void> {
  const abs = resolve(path);
  if (!isMountPoint(abs)) return;
  await run('umount', ['-l', abs], { timeoutMs: 10_000 });
}
