/**
 * Named network namespaces, the way `ip netns` keeps them: a bind mount of the namespace at
 * /run/netns/<name>, so it outlives the processes in it (and meshbox itself) and CNI plugins and
 * runc get a stable path. Creation and deletion go through `ip netns` so the files stay compatible
 * with the user's own `ip netns exec`; running commands inside uses nsenter, which only switches
 * the network namespace (ip netns exec also remounts /sys, which is slower and not needed).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { defineError } from '../core/errors.js';
import { run, type RunOptions, type RunResult } from '../core/exec.js';

export const NETNS_DIR = '/run/netns';

// These would live in src/runtime/errors.ts; they sit here until the runtime's catalog exists.
export const NetnsInvalidName = defineError(
  'MBX_NETNS_INVALID_NAME',
  (name: string) => `network namespace name "${name}" must be 1-64 letters, digits, "_", "." or "-", starting with a letter or digit`,
  { httpStatus: 400 },
);
export const NetnsExists = defineError(
  'MBX_NETNS_EXISTS',
  (name: string) => `network namespace ${name} already exists: delete it first (ip netns delete ${name}) or reuse it`,
  { httpStatus: 409 },
);
export const NetnsNotFound = defineError(
  'MBX_NETNS_NOT_FOUND',
  (name: string) => `network namespace ${name} does not exist: create the pod sandbox first`,
  { httpStatus: 404 },
);
export const NetnsDeleteFailed = defineError(
  'MBX_NETNS_DELETE_FAILED',
  (name: string, why: string) =>
    `could not delete network namespace ${name}: ${why}; stop processes using it (ip netns pids ${name}) and delete it again`,
  { retryable: true },
);

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const IP_HINT = 'install the Debian package iproute2';
const NSENTER_HINT = 'install the Debian package util-linux';

function checkName(name: string): void {
  if (!NAME.test(name)) throw NetnsInvalidName(name);
}

export function netnsPath(name: string): string {
  checkName(name);
  return join(NETNS_DIR, name);
}

export async function netnsExists(name: string): Promise<boolean> {
  try {
    await stat(netnsPath(name));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Creates /run/netns/<name>; with `existOk` an existing namespace is accepted as is. Returns its path. */
export async function createNetns(name: string, opts: { existOk?: boolean } = {}): Promise<string> {
  const path = netnsPath(name);
  if (await netnsExists(name)) {
    if (opts.existOk) return path;
    throw NetnsExists(name);
  }
  const res = await run('ip', ['netns', 'add', name], { allowFailure: true, notFoundHint: IP_HINT });
  if (res.code !== 0) {
    // a racing creator may have won; that is fine when the caller accepts an existing one
    if (opts.existOk && (await netnsExists(name))) return path;
    if (/exists/i.test(res.stderr)) throw NetnsExists(name);
    throw new Error(`ip netns add ${name} failed: ${res.stderr.trim()}`);
  }
  return path;
}

/** Deletes the namespace; deleting one that does not exist succeeds (idempotent). */
export async function deleteNetns(name: string): Promise<void> {
  if (!(await netnsExists(name))) return;
  const res = await run('ip', ['netns', 'delete', name], { allowFailure: true, notFoundHint: IP_HINT });
  if (res.code !== 0 && (await netnsExists(name))) throw NetnsDeleteFailed(name, res.stderr.trim() || `exit ${res.code}`);
}

/** Names of all namespaces under /run/netns (meshbox's and anyone else's). */
export async function listNetns(): Promise<string[]> {
  try {
    const entries = await readdir(NETNS_DIR, { withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => e.name).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The program and arguments that run `file args` inside the namespace, for callers that spawn themselves. */
export function netnsCommand(name: string, file: string, args: readonly string[]): { file: string; args: string[] } {
  return { file: 'nsenter', args: [`--net=${netnsPath(name)}`, '--', file, ...args] };
}

/** Runs `file args` inside the namespace and waits for it (throws on a non-zero exit unless allowFailure). */
export async function execInNetns(name: string, file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (!(await netnsExists(name))) throw NetnsNotFound(name);
  const cmd = netnsCommand(name, file, args);
  return run(cmd.file, cmd.args, { notFoundHint: NSENTER_HINT, ...opts });
}
