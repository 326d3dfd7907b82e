/**
 * An ipBlock `{cidr, except}` as the smallest list of CIDRs covering cidr minus every except, so
 * a policy rule stays one linear list of `-s/-d` matches (no extra chain per ipBlock, no ipset).
 * Splitting halves the range towards each except: at most 32 CIDRs per except.
 */
import { formatIpv4, parseIpv4, parseIpv4Cidr, type Ipv4Cidr } from '../ipv4.js';
import { PolicyInvalidCidr } from './errors.js';

/** Parses "a.b.c.d/n" or a bare address (as /32); throws MBX_NETPOL_INVALID_CIDR. */
export function parseCidrOrIp(text: string): Ipv4Cidr {
  const cidr = text.includes('/') ? parseIpv4Cidr(text) : parseIpv4(text) === undefined ? undefined : parseIpv4Cidr(`${text}/32`);
  if (!cidr) throw PolicyInvalidCidr(text);
  return cidr;
}

export function cidrMinus(cidr: string, except: readonly string[] = []): string[] {
  let pieces: Ipv4Cidr[] = [parseCidrOrIp(cidr)];
  for (const e of except) {
    const hole = parseCidrOrIp(e);
    pieces = pieces.flatMap((p) => subtract(p, hole));
  }
  return pieces.map((p) => p.text);
}

function subtract(range: Ipv4Cidr, hole: Ipv4Cidr): Ipv4Cidr[] {
  const rangeEnd = range.network + range.size;
  const holeEnd = hole.network + hole.size;
  if (holeEnd <= range.network || hole.network >= rangeEnd) return [range];
  if (hole.network <= range.network && holeEnd >= rangeEnd) return [];
  // The hole lies strictly inside (sizes are powers of two, so a hole that overlaps a range
  // without covering it lies inside it): split in halves and subtract from each.
  const half = range.size / 2;
  const low = make(range.network, range.prefix + 1);
  const high = make(range.network + half, range.prefix + 1);
  return [...subtract(low, hole), ...subtract(high, hole)];

  function make(network: number, prefix: number): Ipv4Cidr {
    return { network, prefix, size: 2 ** (32 - prefix), text: `${formatIpv4(network)}/${prefix}` };
  }
}
