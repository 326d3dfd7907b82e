/**
 * Reads and releases host-local IPAM reservations. host-local keeps one file per leased IP in
 * `<dataDir>/<networkName>/<ip>`, holding "containerId\r\nifName" (plugins >= 0.9), next to
 * `last_reserved_ip.<n>` and `lock`. GC uses this to free IPs whose owner is gone; tests use it to
 * assert that DEL released the lease.
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseIp } from './cidr.js';
import type { CniConflist, CniPluginConf } from './types.js';

/** host-local's default when the config names no dataDir */
export const HOST_LOCAL_DEFAULT_DATA_DIR = '/var/lib/cni/networks';

export interface Reservation {
  ip: string;
  containerId: string;
  /** empty for reservations written by host-local before it recorded the interface */
  ifName: string;
  file: string;
}

/** The folders where the conflist's host-local IPAM instances keep their leases. */
export function hostLocalDirs(conflist: CniConflist): string[] {
  const dirs = new Set<string>();
  for (const plugin of conflist.plugins) {
    const ipam = (plugin as CniPluginConf & { ipam?: { type?: unknown; dataDir?: unknown } }).ipam;
    if (ipam?.type !== 'host-local') continue;
    const dataDir = typeof ipam.dataDir === 'string' && ipam.dataDir ? ipam.dataDir : HOST_LOCAL_DEFAULT_DATA_DIR;
    dirs.add(join(dataDir, conflist.name));
  }
  return [...dirs];
}

export async function listReservations(dir: string): Promise<Reservation[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: Reservation[] = [];
  for (const name of names) {
    // only files named after an IP are leases; lock and last_reserved_ip.* are host-local's own
    if (!parseIp(name)) continue;
    const file = join(dir, name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const [containerId = '', ifName = ''] = text.split(/\r?\n/).map((s) => s.trim());
    out.push({ ip: name, containerId, ifName, file });
  }
  return out;
}

export async function releaseReservation(r: Reservation): Promise<void> {
  await rm(r.file, { force: true });
}

/** All reservations of every host-local instance in `conflist`. */
export async function listConflistReservations(conflist: CniConflist): Promise<Reservation[]> {
  const all: Reservation[] = [];
  for (const dir of hostLocalDirs(conflist)) all.push(...(await listReservations(dir)));
  return all;
}
