/**
 * Which resolvers the cluster DNS forwards to: the host's, from resolv.conf.
 *
 * What it does, in order:
 *  1. reads the `nameserver` lines of `path` (default /etc/resolv.conf), keeping valid IPv4/IPv6
 *     addresses (an IPv6 zone like `fe80::1%eth0` is dropped: it cannot be used from a socket address);
 *  2. when some of them are loopback stubs (127.0.0.0/8 or ::1, e.g. systemd-resolved's 127.0.0.53)
 *     and some are not, drops the stubs: the others are real resolvers, and a stub could be ourselves
 *     or a forwarder that would loop back to us;
 *  3. when only stubs are left, looks at systemd-resolved's list of real upstreams
 *     (`/run/systemd/resolve/resolv.conf`) and uses its non-loopback entries if there are any;
 *  4. otherwise keeps the stubs: the daemon runs in the host's network namespace, so a stub on the
 *     host's loopback is reachable from it and is the host's only way to resolve names.
 * Returns an empty list when nothing usable is found (names outside the cluster then get SERVFAIL).
 */
import { readFile } from 'node:fs/promises';
import net from 'node:net';

export const SYSTEMD_RESOLVED_UPSTREAMS = '/run/systemd/resolve/resolv.conf';

export function parseNameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const addr = m[1]!;
    if (addr.includes('%')) continue;
    if ((net.isIPv4(addr) || net.isIPv6(addr)) && !out.includes(addr)) out.push(addr);
  }
  return out;
}

export function isLoopback(addr: string): boolean {
  return (net.isIPv4(addr) && addr.startsWith('127.')) || addr === '::1' || addr === '0:0:0:0:0:0:0:1';
}

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

export async function readHostResolvers(
  path = '/etc/resolv.conf',
  fallbackPath = SYSTEMD_RESOLVED_UPSTREAMS,
): Promise<string[]> {
  const all = parseNameservers(await readOrEmpty(path));
  const real = all.filter((a) => !isLoopback(a));
  if (real.length > 0) return real;
  if (all.length > 0) {
    const fromResolved = parseNameservers(await readOrEmpty(fallbackPath)).filter((a) => !isLoopback(a));
    if (fromResolved.length > 0) return fromResolved;
  }
  return all;
}
