/**
 * The destination a client meant to reach before iptables REDIRECTed its connection to the
 * proxy (Envoy's original_dst listener filter). Read once per connection with
 * getsockopt(SO_ORIGINAL_DST) through the native addon `meshbox-original-dst`, and cached on the
 * socket, so HTTP requests on a keep-alive connection cost nothing more.
 *
 * A connection that was not redirected (a client dialled the listener itself) reports its local
 * address and port with `redirected: false`.
 */
import { createRequire } from 'node:module';
import type net from 'node:net';
import { OriginalDstUnavailable } from './errors.js';

export interface OriginalDestination {
  readonly address: string;
  readonly port: number;
  /** false when the connection reached the listener directly (no NAT): address/port are local */
  readonly redirected: boolean;
  /** "ip:port", or "[ip6]:port": the form `originalDst.tcp` keys and virtual host domains use */
  readonly key: string;
}

export type OriginalDstReader = (fd: number) => [address: string, port: number] | null;

const kDestination = Symbol('meshbox.originalDst');
let reader: OriginalDstReader | undefined;
let loadError: string | undefined;

/**
 * Loads the addon (once). Throws MBX_PROXY_ORIGINAL_DST_UNAVAILABLE naming `listener` when it is
 * missing, so a config that needs it is rejected instead of serving without it.
 */
export function loadOriginalDstReader(listener: string): OriginalDstReader {
  if (reader !== undefined) return reader;
  if (loadError === undefined) {
    try {
      const mod = createRequire(import.meta.url)('meshbox-original-dst') as { originalDst?: OriginalDstReader };
      if (typeof mod.originalDst !== 'function') throw new Error('the module exports no originalDst function');
      reader = mod.originalDst;
      return reader;
    } catch (err) {
      loadError = (err as Error).message.split('\n')[0] ?? String(err);
    }
  }
  throw OriginalDstUnavailable(listener, loadError);
}

/** Tests without root (no NAT to create) substitute the reader; `undefined` restores the addon. */
export function setOriginalDstReader(fn: OriginalDstReader | undefined): void {
  reader = fn;
  loadError = undefined;
}

function keyOf(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function unmap(address: string): string {
  // Dual-stack sockets show IPv4 peers as ::ffff:a.b.c.d; routing keys use the plain IPv4 form.
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** The socket's original destination, read on first use and cached on the socket. */
export function originalDestination(socket: net.Socket): OriginalDestination {
  const s = socket as unknown as Record<symbol, OriginalDestination | undefined>;
  const cached = s[kDestination];
  if (cached !== undefined) return cached;
  let found: [string, number] | null = null;
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (reader !== undefined && typeof fd === 'number' && fd >= 0) {
    try {
      found = reader(fd);
    } catch {
      // The socket went away under us (EBADF, ENOTCONN): treat it as not redirected; it is closing anyway.
      found = null;
    }
  }
  const localAddress = unmap(socket.localAddress ?? '');
  const localPort = socket.localPort ?? 0;
  let d: OriginalDestination;
  if (found === null || (unmap(found[0]) === localAddress && found[1] === localPort)) {
    // With conntrack loaded, an un-NATed connection reports its own local address: not redirected either.
    d = { address: localAddress, port: localPort, redirected: false, key: keyOf(localAddress, localPort) };
  } else {
    const address = unmap(found[0]);
    d = { address, port: found[1], redirected: true, key: keyOf(address, found[1]) };
  }
  s[kDestination] = d;
  return d;
}
